"""OpenID Connect relying party: authorization code + PKCE + nonce, verified ID tokens."""

from console.identity.oidc.client import OIDCClient
from console.identity.oidc.idtoken import ALLOWED_ALGORITHMS
from console.identity.oidc.models import (
    AuthorizationRequest,
    OIDCError,
    ProviderConfig,
    VerifiedIdentity,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AuthorizationRequest",
    "OIDCClient",
    "OIDCError",
    "ProviderConfig",
    "VerifiedIdentity",
]
