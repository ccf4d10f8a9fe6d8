"""A development OpenID Connect provider (Authlib server side), for signing in without an IdP.

In memory, one process, keys regenerated at startup: never mount it in production.
"""

from console.identity.devidp.app import create_dev_idp
from console.identity.devidp.models import DevClient, DevUser, KnownUsers

__all__ = ["DevClient", "DevUser", "KnownUsers", "create_dev_idp"]
