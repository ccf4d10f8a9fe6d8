"""Signing in: start (fresh state/nonce/PKCE, bound to the browser) and complete (checks, code
exchange, id_token validation, user and membership resolution, a server-side session)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.service import record_event
from console.db import set_scope, utcnow
from console.identity import providers
from console.identity import repository as repo
from console.identity.models import Identity, PendingSignIn, User, UserSession
from console.identity.oidc import (
    AuthorizationRequest,
    OIDCClient,
    OIDCError,
    ProviderConfig,
    VerifiedIdentity,
)
from console.identity.service import start_session
from console.kit.crypto import SecretBox, hash_token, same
from console.kit.errors import ConsoleError
from console.settings import Settings
from console.tenancy import repository as tenancy_repo
from console.tenancy.models import Membership, Tenant
from console.tenancy.roles import Role

log = structlog.get_logger(__name__)


class SignInError(ConsoleError):
    status, slug, title = 400, "sign-in-failed", "Sign-in failed"


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_cookie: str
    tenant_slug: str | None


@dataclass(frozen=True)
class SignInDeps:
    settings: Settings
    oidc: OIDCClient
    box: SecretBox


async def _provider(db: AsyncSession, deps: SignInDeps, tenant: Tenant | None) -> ProviderConfig:
    if tenant is None:
        config = providers.platform_provider(deps.settings)
        if config is None:
            raise SignInError("No sign-in is configured for platform operators.")
        return config
    row = await providers.tenant_provider_row(db, tenant.id)
    if row is None:
        raise SignInError(f"{tenant.name} has no sign-in configured yet; ask its admin.")
    return providers.to_config(row, deps.box)


async def signin_target(db: AsyncSession, slug: str) -> tuple[Tenant, bool] | None:
    await set_scope(db, system=True)
    tenant = await tenancy_repo.tenant_by_slug(db, slug)
    if tenant is None:
        return None
    return tenant, await providers.tenant_provider_row(db, tenant.id) is not None


async def start(
    db: AsyncSession, deps: SignInDeps, *, tenant_slug: str | None, binding: str
) -> AuthorizationRequest:
    """A fresh authorization request whose state only this browser (binding) can complete."""
    await set_scope(db, system=True)
    tenant = None
    if tenant_slug is not None:
        tenant = await tenancy_repo.tenant_by_slug(db, tenant_slug)
        if tenant is None:
            raise SignInError(f"No tenant '{tenant_slug}'.")
        if tenant.status == "suspended":
            raise SignInError(f"{tenant.name} is suspended; sign-in is unavailable.")
    provider = await _provider(db, deps, tenant)
    try:
        request = await deps.oidc.authorization_request(provider, deps.settings.oauth_callback_url)
    except OIDCError as exc:
        raise SignInError(exc.message) from exc
    now = utcnow()
    await repo.delete_expired_sign_ins(db, now)
    db.add(
        PendingSignIn(
            state_hash=hash_token(request.state),
            binding_hash=hash_token(binding),
            tenant_id=tenant.id if tenant else None,
            issuer=provider.issuer,
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            redirect_uri=deps.settings.oauth_callback_url,
            created_at=now,
            expires_at=now + timedelta(seconds=deps.settings.signin_timeout_seconds),
        )
    )
    return request


async def claim(db: AsyncSession, *, state: str, binding: str | None) -> PendingSignIn:
    """The pending sign-in for `state`, if this browser started it; used at most once."""
    await set_scope(db, system=True)
    pending = await db.get(PendingSignIn, hash_token(state), with_for_update=True)
    if pending is None or pending.used_at is not None or pending.expires_at <= utcnow():
        raise SignInError("This sign-in link has expired or was already used; start again.")
    if binding is None or not same(pending.binding_hash, hash_token(binding)):
        raise SignInError(
            "This sign-in was started in another browser; start it again from this one."
        )
    pending.used_at = utcnow()
    return pending


async def complete(
    db: AsyncSession,
    deps: SignInDeps,
    pending: PendingSignIn,
    *,
    code: str,
    iss_param: str | None,
    ip: str | None,
    user_agent: str | None,
) -> SignedIn:
    await set_scope(db, system=True)
    tenant = await db.get(Tenant, pending.tenant_id) if pending.tenant_id else None
    provider = await _provider(db, deps, tenant)
    if provider.issuer != pending.issuer:
        raise SignInError("The sign-in configuration changed meanwhile; start again.")
    try:
        identity = await deps.oidc.complete(
            provider,
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            iss_param=iss_param,
        )
    except OIDCError as exc:
        raise SignInError(exc.message) from exc
    platform = providers.platform_provider(deps.settings)
    user = await _user_for(db, identity, tenant, platform.issuer if platform else None)
    if tenant is None:
        if not user.is_operator:
            raise SignInError(f"{user.email} is not a platform operator.")
    else:
        await _ensure_member(db, deps, tenant, user, ip)
    cookie, session = await start_session(
        db,
        user,
        timedelta(seconds=deps.settings.session_lifetime_seconds),
        ip,
        user_agent,
        issuer=identity.issuer,
    )
    if tenant is not None:
        await set_scope(db, tenant_id=tenant.id, user_id=user.id)
        record_event(
            db,
            tenant_id=tenant.id,
            actor=None,
            actor_label=user.email,
            action="user.signed_in",
            target_type="user",
            target_id=user.id,
            data={"session": str(session.id)},
            ip=ip,
        )
    log.info("signed_in", user_id=str(user.id), tenant=tenant.slug if tenant else None)
    return SignedIn(user=user, session_cookie=cookie, tenant_slug=tenant.slug if tenant else None)


async def _user_for(
    db: AsyncSession,
    identity: VerifiedIdentity,
    tenant: Tenant | None,
    platform_issuer: str | None,
) -> User:
    """The user linked to (issuer, subject); else a new user, or the existing one with this
    verified email, linked now.

    Linking by email is safe because a session only opens tenants that trust the provider that
    signed it in (see tenancy.deps), so one tenant's provider cannot reach another tenant's data.
    Operator rights are the exception: only the platform's provider may link to an operator."""
    linked = await repo.identity_with_user(db, identity.issuer, identity.subject)
    if linked is not None:
        link, user = linked
        link.last_login_at = utcnow()
        return user
    if not identity.email or not identity.email_verified:
        raise SignInError("Your identity provider did not confirm an email address.")
    email = identity.email.lower()
    user = await repo.user_by_email(db, email)
    if user is None:
        user = User(email=email, name=identity.name or "")
        db.add(user)
        await db.flush()
    elif user.is_operator and identity.issuer != platform_issuer:
        raise SignInError(
            f"{email} is a platform operator and signs in through the platform's provider."
        )
    db.add(
        Identity(
            user_id=user.id,
            issuer=identity.issuer,
            subject=identity.subject,
            last_login_at=utcnow(),
        )
    )
    return user


async def _ensure_member(
    db: AsyncSession, deps: SignInDeps, tenant: Tenant, user: User, ip: str | None
) -> None:
    """Members pass; an invitation to this email is accepted; open tenants admit viewers."""
    if tenant.status == "suspended":
        raise SignInError(f"{tenant.name} is suspended.")
    await set_scope(db, tenant_id=tenant.id, user_id=user.id)
    if await tenancy_repo.membership_in(db, tenant.id, user.id) is not None:
        return
    now = utcnow()
    invitation = await tenancy_repo.open_invitation_in(db, tenant.id, user.email, now)
    row = await providers.tenant_provider_row(db, tenant.id)
    if invitation is not None:
        role, action = Role(invitation.role), "invitation.accepted"
        invitation.accepted_at, invitation.accepted_by_id = now, user.id
    elif (
        row is not None
        and row.join_policy == "open"
        and _domain_allowed(user.email, row.allowed_email_domains)
    ):
        role, action = Role.VIEWER, "member.joined"
    else:
        raise SignInError(
            f"{user.email} is not a member of {tenant.name}; ask one of its admins to invite you."
        )
    db.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role.value))
    record_event(
        db,
        tenant_id=tenant.id,
        actor=None,
        actor_label=user.email,
        action=action,
        target_type="user",
        target_id=user.id,
        data={"role": role.value},
        ip=ip,
    )


def _domain_allowed(email: str, domains: list[str]) -> bool:
    return not domains or email.rsplit("@", 1)[-1].lower() in {d.lower() for d in domains}


async def revoke_session(db: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    session = await db.get(UserSession, session_id)
    if session is None or session.user_id != user_id:
        return False
    if session.revoked_at is None:
        session.revoked_at = utcnow()
    return True
