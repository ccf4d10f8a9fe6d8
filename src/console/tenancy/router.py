"""Tenancy routes: my tenants, members, invitations."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from console.deps import DbSession
from console.identity import service as identity_service
from console.identity.deps import CurrentUser
from console.tenancy import schemas, service
from console.tenancy.deps import TenantAdmin, TenantViewer

router = APIRouter(tags=["tenancy"])
TENANT = "/tenants/{tenant}"


@router.get("/tenants", response_model=list[schemas.MyTenant])
async def my_tenants(principal: CurrentUser, db: DbSession) -> list[schemas.MyTenant]:
    """The tenants I belong to, with my role in each."""
    return await service.my_tenants(db, principal)


@router.get(TENANT + "/members", response_model=list[schemas.Member])
async def list_members(ctx: TenantViewer, db: DbSession) -> list[schemas.Member]:
    return await service.list_members(db, ctx)


@router.patch(TENANT + "/members/{user_id}", response_model=schemas.Member)
async def change_member_role(
    user_id: uuid.UUID, body: schemas.MemberRoleUpdate, ctx: TenantAdmin, db: DbSession
) -> schemas.Member:
    """Change a member's role; the last admin cannot be demoted."""
    return await service.change_role(db, ctx, user_id, body.role)


@router.delete(TENANT + "/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: uuid.UUID, ctx: TenantAdmin, db: DbSession) -> Response:
    """Remove a member; the last admin cannot be removed."""
    await service.remove_member(db, ctx, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(TENANT + "/members/{user_id}/revoke-sessions")
async def revoke_member_sessions(
    user_id: uuid.UUID, ctx: TenantAdmin, db: DbSession
) -> dict[str, int]:
    """Sign a member out of every browser."""
    return {"revoked": await identity_service.revoke_member_sessions(db, ctx, user_id)}


@router.get(TENANT + "/invitations", response_model=list[schemas.Invitation])
async def list_invitations(ctx: TenantAdmin, db: DbSession) -> list[schemas.Invitation]:
    return await service.list_invitations(db, ctx)


@router.post(
    TENANT + "/invitations",
    response_model=schemas.InvitationCreated,
    status_code=status.HTTP_201_CREATED,
)
async def create_invitation(
    body: schemas.InvitationCreate, ctx: TenantAdmin, db: DbSession
) -> schemas.InvitationCreated:
    """Invite someone by email; they join by signing in with that email."""
    return await service.invite(db, ctx, body)


@router.delete(TENANT + "/invitations/{invitation_id}", response_model=schemas.Invitation)
async def revoke_invitation(
    invitation_id: uuid.UUID, ctx: TenantAdmin, db: DbSession
) -> schemas.Invitation:
    return await service.revoke_invitation(db, ctx, invitation_id)
