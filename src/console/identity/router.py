"""Identity routes: who am I, and a tenant's API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from console.deps import DbSession
from console.identity import repository as repo
from console.identity import schemas, service
from console.identity.deps import CurrentUser
from console.tenancy.deps import TenantAdmin

router = APIRouter(tags=["identity"])


@router.get("/me", response_model=schemas.Me)
async def me(principal: CurrentUser) -> schemas.Me:
    return schemas.Me(
        id=principal.user_id,
        email=principal.email,
        name=principal.name,
        is_operator=principal.is_operator,
        authenticated_via=principal.via,
    )


@router.get("/tenants/{tenant}/api-tokens", response_model=list[schemas.ApiToken])
async def list_api_tokens(ctx: TenantAdmin, db: DbSession) -> list[schemas.ApiToken]:
    return [schemas.ApiToken.model_validate(t) for t in await repo.list_tokens(db, ctx)]


@router.post(
    "/tenants/{tenant}/api-tokens",
    response_model=schemas.ApiTokenCreated,
    status_code=status.HTTP_201_CREATED,
)
async def create_api_token(
    body: schemas.ApiTokenCreate, ctx: TenantAdmin, db: DbSession
) -> schemas.ApiTokenCreated:
    """Create a token; the secret is in this response only."""
    secret, token = await service.create_api_token(db, ctx, body.name, body.role, body.expires_at)
    return schemas.ApiTokenCreated(
        **schemas.ApiToken.model_validate(token).model_dump(), token=secret
    )


@router.delete("/tenants/{tenant}/api-tokens/{token_id}", response_model=schemas.ApiToken)
async def revoke_api_token(
    token_id: uuid.UUID, request: Request, ctx: TenantAdmin, db: DbSession
) -> schemas.ApiToken:
    token = await service.revoke_api_token(db, ctx, request.app.state.token_cache, token_id)
    return schemas.ApiToken.model_validate(token)
