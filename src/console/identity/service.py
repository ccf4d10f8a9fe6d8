"""Authentication (sessions, API tokens) and token/session management."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.service import record
from console.db import Database, utcnow
from console.identity import repository as repo
from console.identity.models import ApiToken, User, UserSession
from console.identity.principal import Principal
from console.identity.tokens import new_api_token, new_session_token, parse_api_token
from console.kit.crypto import hash_token, same
from console.kit.errors import Forbidden, NotFound, Unauthorized
from console.tenancy import repository as tenancy_repo
from console.tenancy.context import TenantContext
from console.tenancy.roles import Role

# Writes of "last seen/used" are throttled: one per this many seconds per session/token.
TOUCH_EVERY = timedelta(seconds=60)


class TokenCache:
    """Recently authenticated tokens, so hot API clients do not cost a query per request.

    Entries live `ttl` seconds; revocation in this process evicts at once, in other processes
    it takes effect within `ttl`.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._entries.pop(token_hash, None)
            return None
        return entry[1]

    def put(self, token_hash: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        self._entries[token_hash] = (time.monotonic() + self.ttl, principal)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def evict_token(self, token_id: uuid.UUID) -> None:
        for key, (_, principal) in list(self._entries.items()):
            if principal.token_id == token_id:
                self._entries.pop(key, None)


async def authenticate_token(database: Database, cache: TokenCache, value: str) -> Principal:
    """The principal behind a bearer token, or Unauthorized (without saying why)."""
    prefix = parse_api_token(value)
    if prefix is None:
        raise Unauthorized("The bearer token is malformed.")
    token_hash = hash_token(value)
    cached = cache.get(token_hash)
    if cached is not None:
        return cached
    now = utcnow()
    async with database.system_session() as db:
        found = await repo.token_with_owner(db, prefix)
        if found is None:
            raise Unauthorized("The bearer token is not valid.")
        token, owner = found
        if (
            not same(token.token_hash, token_hash)
            or token.revoked_at is not None
            or (token.expires_at is not None and token.expires_at <= now)
        ):
            raise Unauthorized("The bearer token is not valid.")
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            await repo.touch_token(db, token.id, now)
        principal = Principal(
            user_id=owner.id,
            email=owner.email,
            name=owner.name,
            is_operator=owner.is_operator,
            via="token",
            token_id=token.id,
            token_tenant_id=token.tenant_id,
            token_role=Role(token.role),
            token_name=token.name,
        )
    cache.put(token_hash, principal)
    return principal


async def authenticate_session(
    db: AsyncSession, cookie_value: str, idle_timeout: timedelta
) -> Principal:
    now = utcnow()
    found = await repo.live_session(db, hash_token(cookie_value), now)
    if found is None:
        raise Unauthorized("Your session has ended; sign in again.")
    session, user = found
    if now - session.last_seen_at > idle_timeout:
        raise Unauthorized("Your session timed out; sign in again.")
    if now - session.last_seen_at > TOUCH_EVERY:
        session.last_seen_at = now
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        is_operator=user.is_operator,
        via="session",
        session_id=session.id,
        issuer=session.issuer,
    )


async def start_session(
    db: AsyncSession,
    user: User,
    lifetime: timedelta,
    ip: str | None = None,
    user_agent: str | None = None,
    issuer: str | None = None,
) -> tuple[str, UserSession]:
    """A new server-side session; returns the cookie value (never stored) and the row."""
    value, token_hash = new_session_token()
    session = UserSession(
        user_id=user.id,
        token_hash=token_hash,
        expires_at=utcnow() + lifetime,
        ip=ip,
        user_agent=(user_agent or "")[:500] or None,
        issuer=issuer,
    )
    db.add(session)
    await db.flush()
    return value, session


async def create_api_token(
    db: AsyncSession,
    ctx: TenantContext,
    name: str,
    role: Role,
    expires_at: datetime | None,
) -> tuple[str, ApiToken]:
    """A token for the caller in this tenant; its role can never exceed the caller's."""
    if not ctx.role.allows(role):
        raise Forbidden(
            f"You cannot create a token with role {role.value} (yours is {ctx.role.value})."
        )
    if expires_at is not None and expires_at <= utcnow():
        raise Forbidden("The expiry must be in the future.")
    minted = new_api_token()
    token = ApiToken(
        tenant_id=ctx.tenant_id,
        owner_id=ctx.user_id,
        name=name,
        prefix=minted.prefix,
        token_hash=minted.token_hash,
        role=role.value,
        expires_at=expires_at,
    )
    db.add(token)
    await db.flush()
    record(
        db,
        ctx,
        "api_token.created",
        "api_token",
        token.id,
        {"name": name, "role": role.value, "prefix": minted.prefix},
    )
    return minted.secret, token


async def revoke_api_token(
    db: AsyncSession, ctx: TenantContext, cache: TokenCache, token_id: uuid.UUID
) -> ApiToken:
    token = await repo.token_in_tenant(db, ctx, token_id)
    if token is None:
        raise NotFound("No such API token in this tenant.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(db, ctx, "api_token.revoked", "api_token", token.id, {"name": token.name})
    cache.evict_token(token.id)
    return token


async def revoke_member_sessions(db: AsyncSession, ctx: TenantContext, user_id: uuid.UUID) -> int:
    """An admin signs a member out everywhere."""
    if await tenancy_repo.membership_of(db, ctx, user_id) is None:
        raise NotFound("No such member in this tenant.")
    count = await repo.revoke_sessions_of_user(db, user_id, utcnow())
    record(db, ctx, "member.sessions_revoked", "user", user_id, {"sessions": count})
    return count
