"""`create_dev_idp`: the provider as an ASGI app, to be mounted at the issuer's path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import is_secure_transport
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from console.identity.devidp.keys import ALGORITHM, SigningKey
from console.identity.devidp.models import DevClient, KnownUsers
from console.identity.devidp.routes import DevIdpRoutes
from console.identity.devidp.server import DevAuthorizationServer
from console.identity.devidp.storage import SUPPORTED_SCOPES, MemoryStore

CLAIMS = ("sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash")
USER_CLAIMS = ("email", "email_verified", "name")


def discovery_document(issuer: str) -> dict[str, Any]:
    """OpenID Provider Metadata, every endpoint absolute."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [*CLAIMS, *USER_CLAIMS],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


def _checked_issuer(issuer: str) -> str:
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"issuer must be an absolute http(s) URL, got {issuer!r}")
    if not is_secure_transport(issuer):
        raise ValueError("issuer must be https, or http on localhost or a loopback address")
    return issuer.rstrip("/")


def _checked_clients(clients: Sequence[DevClient]) -> Sequence[DevClient]:
    if not clients or len({c.client_id for c in clients}) != len(clients):
        raise ValueError("give at least one client, each with its own client_id")
    for client in clients:
        if not (client.client_id and client.client_secret and client.redirect_uris):
            raise ValueError(f"client {client.client_id!r} needs a secret and redirect URIs")
        for uri in client.redirect_uris:
            parts = urlsplit(uri)
            if not parts.scheme or not parts.netloc or parts.fragment:
                raise ValueError(f"redirect URI must be absolute without fragment: {uri!r}")
    return clients


def create_dev_idp(
    *, issuer: str, clients: Sequence[DevClient], known_users: KnownUsers | None = None
) -> ASGIApp:
    """The provider for `issuer`; mount the result at the issuer's path. Keys are new each call."""
    issuer = _checked_issuer(issuer)
    store = MemoryStore.for_clients(_checked_clients(clients))
    key = SigningKey()
    server = DevAuthorizationServer(issuer=issuer, store=store, key=key)
    routes = DevIdpRoutes(
        issuer=issuer,
        server=server,
        key=key,
        metadata=discovery_document(issuer),
        known_users=known_users,
    )
    app = Starlette(
        routes=[
            Route("/.well-known/openid-configuration", routes.discovery),
            Route("/jwks", routes.jwks),
            Route("/authorize", routes.authorize, methods=["GET", "POST"]),
            Route("/token", routes.token, methods=["POST"]),
            Route("/userinfo", routes.userinfo, methods=["GET", "POST"]),
        ]
    )
    app.state.store = store  # for tests and debugging
    return app
