"""Authentication dependencies: CurrentUser and PlatformOperator."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from console.deps import DbSession
from console.identity.principal import Principal
from console.identity.providers import platform_provider
from console.identity.service import authenticate_session, authenticate_token
from console.identity.tokens import parse_api_token
from console.kit.errors import CrossOriginRefused, Forbidden, Unauthorized
from console.kit.ratelimit import token_key

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared for OpenAPI; the values are read below.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `cnsl_...`")
cookie_scheme = APIKeyCookie(name="console_session", auto_error=False)


def _request_origin(request: Request) -> str | None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    referer = request.headers.get("referer")
    if referer:
        parts = referer.split("/")
        if len(parts) >= 3:
            return "/".join(parts[:3])
    return None


def check_same_origin(request: Request) -> None:
    """Cookie-authenticated unsafe requests must come from a trusted origin (CSRF)."""
    if request.method in SAFE_METHODS:
        return
    origin = _request_origin(request)
    if origin is None or origin not in request.app.state.settings.trusted_origins:
        raise CrossOriginRefused(
            "Requests that change data with a session cookie must come from the console's own "
            "origin; API clients should use a bearer token."
        )


async def current_principal(
    request: Request,
    db: DbSession,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    """The authenticated caller, from a bearer token or the session cookie."""
    settings = request.app.state.settings
    limits = request.app.state.limits
    if bearer is not None:
        prefix = parse_api_token(bearer.credentials)
        principal = await limits.authenticate(
            request,
            token_key(prefix) if prefix else None,
            lambda: authenticate_token(
                request.app.state.db, request.app.state.token_cache, bearer.credentials
            ),
        )
    else:
        cookie = request.cookies.get(settings.session_cookie_name)
        if not cookie:
            raise Unauthorized("Sign in, or send an API token as `Authorization: Bearer ...`.")
        check_same_origin(request)
        idle = timedelta(seconds=settings.session_idle_timeout_seconds)
        principal = await limits.authenticate(
            request, None, lambda: authenticate_session(db, cookie, idle)
        )
    structlog.contextvars.bind_contextvars(user_id=str(principal.user_id), auth=principal.via)
    return principal


async def require_operator(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    """An operator, signed in through the platform's own provider."""
    if not principal.may_operate_platform:
        raise Forbidden("This needs a platform operator signed in (API tokens cannot operate).")
    platform = platform_provider(request.app.state.settings)
    if principal.issuer is not None and (platform is None or principal.issuer != platform.issuer):
        raise Forbidden("Operators must sign in through the platform's identity provider.")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
PlatformOperator = Annotated[Principal, Depends(require_operator)]
