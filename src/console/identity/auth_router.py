"""Sign-in, sign-out, my sessions, and a tenant's identity-provider settings."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Path, Request, Response, status

from console.deps import DbSession
from console.identity import provider_service, signin
from console.identity import repository as repo
from console.identity.deps import CurrentUser, check_same_origin
from console.identity.signin_schemas import (
    IdentityProviderConfig,
    IdentityProviderUpdate,
    ProviderCheck,
    SessionInfo,
    SignInStart,
    SignInStarted,
    SignInTarget,
)
from console.kit.errors import NotFound
from console.tenancy.deps import TenantAdmin
from console.tenancy.schemas import SLUG_PATTERN

router = APIRouter(tags=["sign-in"])


@router.get("/auth/tenants/{tenant}", response_model=SignInTarget)
async def sign_in_target(
    db: DbSession, tenant: str = Path(pattern=SLUG_PATTERN, max_length=63)
) -> SignInTarget:
    """Public: the tenant's display name for its sign-in screen."""
    found = await signin.signin_target(db, tenant)
    if found is None:
        raise NotFound(f"No tenant '{tenant}'.")
    row, available = found
    return SignInTarget(
        slug=row.slug,
        name=row.name,
        sign_in_available=available and row.status != "suspended",
        suspended=row.status == "suspended",
    )


@router.post("/auth/sign-in", response_model=SignInStarted)
async def start_sign_in(body: SignInStart, request: Request, db: DbSession) -> SignInStarted:
    """Start a sign-in bound to this browser (its binding cookie); open `authorization_url`."""
    check_same_origin(request)
    settings = request.app.state.settings
    binding = request.cookies.get(settings.binding_cookie_name)
    if not binding:
        raise signin.SignInError("Open the dashboard first: this browser has no sign-in binding.")
    await request.app.state.limits.signin_attempt(request, body.tenant)
    started = await signin.start(
        db, request.app.state.signin_deps, tenant_slug=body.tenant, binding=binding
    )
    return SignInStarted(
        authorization_url=started.url,
        state=started.state,
        expires_in=settings.signin_timeout_seconds,
    )


@router.post("/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(principal: CurrentUser, request: Request, db: DbSession) -> Response:
    """End this browser session (the row is revoked; the cookie is cleared)."""
    if principal.session_id is not None:
        await signin.revoke_session(db, principal.user_id, principal.session_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    settings = request.app.state.settings
    response.delete_cookie(
        settings.session_cookie_name,
        path="/",
        secure=settings.is_https,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/auth/sessions", response_model=list[SessionInfo])
async def my_sessions(principal: CurrentUser, db: DbSession) -> list[SessionInfo]:
    """My browser sessions, newest first (revoked and expired ones left out)."""
    from console.db import utcnow

    now = utcnow()
    return [
        SessionInfo.model_validate(s).model_copy(update={"current": s.id == principal.session_id})
        for s in await repo.sessions_of_user(db, principal.user_id)
        if s.revoked_at is None and s.expires_at > now
    ]


@router.delete("/auth/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_my_session(
    session_id: uuid.UUID, principal: CurrentUser, db: DbSession
) -> Response:
    if not await signin.revoke_session(db, principal.user_id, session_id):
        raise NotFound("No such session of yours.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tenants/{tenant}/identity-provider", response_model=IdentityProviderConfig)
async def get_identity_provider(
    ctx: TenantAdmin, request: Request, db: DbSession
) -> IdentityProviderConfig:
    return await provider_service.get(db, ctx)


@router.put("/tenants/{tenant}/identity-provider", response_model=IdentityProviderConfig)
async def put_identity_provider(
    body: IdentityProviderUpdate, ctx: TenantAdmin, request: Request, db: DbSession
) -> IdentityProviderConfig:
    """Configure the tenant's OpenID Connect provider; the client secret is write-only."""
    return await provider_service.put(db, ctx, request.app.state.signin_deps.box, body)


@router.post("/tenants/{tenant}/identity-provider/check", response_model=ProviderCheck)
async def check_identity_provider(
    ctx: TenantAdmin, request: Request, db: DbSession
) -> ProviderCheck:
    """Fetch the provider's discovery document and keys, and say what was found."""
    return await provider_service.check(db, ctx, request.app.state.signin_deps)
