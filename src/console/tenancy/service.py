"""Tenancy rules: my tenants, members (never the last admin), invitations."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.service import record
from console.db import set_scope, utcnow
from console.identity import repository as identity_repo
from console.identity.principal import Principal
from console.kit.crypto import hash_token, new_secret
from console.kit.errors import Conflict, NotFound
from console.tenancy import repository as repo
from console.tenancy import schemas
from console.tenancy.context import TenantContext
from console.tenancy.models import Invitation
from console.tenancy.roles import Role


async def my_tenants(db: AsyncSession, principal: Principal) -> list[schemas.MyTenant]:
    """The caller's tenants: a token's own; for a browser, those its sign-in opens."""
    await set_scope(db, system=True)  # memberships and providers across the user's tenants
    result = []
    for tenant, role_value, issuer in await repo.tenants_of_user(db, principal.user_id):
        if not principal.opens(issuer):
            continue
        role = Role(role_value)
        if principal.via == "token":
            if tenant.id != principal.token_tenant_id or principal.token_role is None:
                continue
            role = Role.lowest(role, principal.token_role)
        result.append(
            schemas.MyTenant(
                id=tenant.id, slug=tenant.slug, name=tenant.name, status=tenant.status, role=role
            )
        )
    return result


async def list_members(db: AsyncSession, ctx: TenantContext) -> list[schemas.Member]:
    return [
        schemas.Member(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=Role(membership.role),
            joined_at=membership.created_at,
        )
        for membership, user in await repo.members(db, ctx)
    ]


async def change_role(
    db: AsyncSession, ctx: TenantContext, user_id: uuid.UUID, role: Role
) -> schemas.Member:
    membership = await repo.membership_of(db, ctx, user_id)
    user = await identity_repo.user_by_id(db, user_id)
    if membership is None or user is None:
        raise NotFound("No such member in this tenant.")
    old = Role(membership.role)
    if old is Role.ADMIN and role is not Role.ADMIN and await repo.admin_count(db, ctx) <= 1:
        raise Conflict("A tenant needs at least one admin: promote someone else first.")
    if old is not role:
        membership.role = role.value
        membership.updated_at = utcnow()
        record(
            db,
            ctx,
            "member.role_changed",
            "user",
            user_id,
            {"email": user.email, "from": old.value, "to": role.value},
        )
    return schemas.Member(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=role,
        joined_at=membership.created_at,
    )


async def remove_member(db: AsyncSession, ctx: TenantContext, user_id: uuid.UUID) -> None:
    membership = await repo.membership_of(db, ctx, user_id)
    if membership is None:
        raise NotFound("No such member in this tenant.")
    if membership.role == Role.ADMIN.value and await repo.admin_count(db, ctx) <= 1:
        raise Conflict("The last admin cannot be removed: promote someone else first.")
    await db.delete(membership)
    record(db, ctx, "member.removed", "user", user_id, {"role": membership.role})


def invitation_status(invitation: Invitation, now: datetime) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "pending"


def to_schema(invitation: Invitation, now: datetime) -> schemas.Invitation:
    return schemas.Invitation(
        id=invitation.id,
        email=invitation.email,
        role=Role(invitation.role),
        status=invitation_status(invitation, now),  # type: ignore[arg-type]
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
        accepted_at=invitation.accepted_at,
        revoked_at=invitation.revoked_at,
    )


async def list_invitations(db: AsyncSession, ctx: TenantContext) -> list[schemas.Invitation]:
    now = utcnow()
    return [to_schema(i, now) for i in await repo.invitations(db, ctx)]


async def invite(
    db: AsyncSession, ctx: TenantContext, data: schemas.InvitationCreate
) -> schemas.InvitationCreated:
    email = str(data.email).lower()
    now = utcnow()
    existing_user = await identity_repo.user_by_email(db, email)
    if existing_user and await repo.membership_of(db, ctx, existing_user.id):
        raise Conflict(f"{email} is already a member of this tenant.")
    if await repo.open_invitation_for(db, ctx, email, now):
        raise Conflict(f"{email} already has a pending invitation; revoke it to send a new one.")
    token = new_secret(24)
    invitation = Invitation(
        tenant_id=ctx.tenant_id,
        email=email,
        role=data.role.value,
        token_hash=hash_token(token),
        expires_at=now + timedelta(days=data.expires_in_days),
        invited_by_id=ctx.user_id,
        created_at=now,
    )
    db.add(invitation)
    await db.flush()
    record(
        db,
        ctx,
        "invitation.created",
        "invitation",
        invitation.id,
        {"email": email, "role": data.role.value},
    )
    return schemas.InvitationCreated(**to_schema(invitation, now).model_dump(), token=token)


async def revoke_invitation(
    db: AsyncSession, ctx: TenantContext, invitation_id: uuid.UUID
) -> schemas.Invitation:
    invitation = await repo.invitation(db, ctx, invitation_id)
    if invitation is None:
        raise NotFound("No such invitation in this tenant.")
    now = utcnow()
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted; remove the member instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = now
        record(
            db, ctx, "invitation.revoked", "invitation", invitation.id, {"email": invitation.email}
        )
    return to_schema(invitation, now)
