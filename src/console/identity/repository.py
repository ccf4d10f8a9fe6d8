"""Queries for users, sessions and API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from console.identity.models import ApiToken, Identity, PendingSignIn, User, UserSession
from console.tenancy.context import TenantContext


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    return await db.scalar(select(User).where(User.email == email.lower()))


async def user_by_id(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


async def live_session(
    db: AsyncSession, token_hash: str, now: datetime
) -> tuple[UserSession, User] | None:
    row = (
        await db.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == token_hash,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def token_with_owner(db: AsyncSession, prefix: str) -> tuple[ApiToken, User] | None:
    """Only for authentication, in system scope: a token is found before its tenant is known."""
    row = (
        await db.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.owner_id)
            .where(ApiToken.prefix == prefix)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def touch_token(db: AsyncSession, token_id: uuid.UUID, now: datetime) -> None:
    await db.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


async def list_tokens(db: AsyncSession, ctx: TenantContext) -> Sequence[ApiToken]:
    return (
        await db.scalars(
            select(ApiToken)
            .where(ApiToken.tenant_id == ctx.tenant_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    ).all()


async def token_in_tenant(
    db: AsyncSession, ctx: TenantContext, token_id: uuid.UUID
) -> ApiToken | None:
    return await db.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.tenant_id == ctx.tenant_id)
    )


async def sessions_of_user(db: AsyncSession, user_id: uuid.UUID) -> Sequence[UserSession]:
    return (
        await db.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.created_at.desc())
        )
    ).all()


async def revoke_sessions_of_user(db: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    result = await db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0


async def identity_with_user(
    db: AsyncSession, issuer: str, subject: str
) -> tuple[Identity, User] | None:
    row = (
        await db.execute(
            select(Identity, User)
            .join(User, User.id == Identity.user_id)
            .where(Identity.issuer == issuer, Identity.subject == subject)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def delete_expired_sign_ins(db: AsyncSession, now: datetime) -> None:
    await db.execute(delete(PendingSignIn).where(PendingSignIn.expires_at < now))
