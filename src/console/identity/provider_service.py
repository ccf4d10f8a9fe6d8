"""Tenant identity-provider settings: read (secret hidden), write (secret encrypted), check."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.service import record
from console.identity import providers
from console.identity.models import IdentityProvider
from console.identity.oidc import OIDCError
from console.identity.signin import SignInDeps
from console.identity.signin_schemas import (
    IdentityProviderConfig,
    IdentityProviderUpdate,
    ProviderCheck,
)
from console.kit.crypto import SecretBox
from console.kit.errors import NotFound
from console.tenancy.context import TenantContext


def view(row: IdentityProvider) -> IdentityProviderConfig:
    return IdentityProviderConfig(
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret_set=row.client_secret_encrypted is not None,
        scopes=row.scopes.split(),
        allowed_email_domains=list(row.allowed_email_domains),
        join_policy=row.join_policy,  # type: ignore[arg-type]
        updated_at=row.updated_at,
    )


async def get(db: AsyncSession, ctx: TenantContext) -> IdentityProviderConfig:
    row = await providers.tenant_provider_row(db, ctx.tenant_id)
    if row is None:
        raise NotFound("This tenant has no identity provider configured.")
    return view(row)


async def apply_update(
    db: AsyncSession, tenant_id: uuid.UUID, box: SecretBox, data: IdentityProviderUpdate
) -> tuple[IdentityProvider, dict[str, Any]]:
    """Create or replace a tenant's provider; returns the row and what the audit should say
    (never the secret)."""
    row = await providers.tenant_provider_row(db, tenant_id)
    if row is None:
        row = IdentityProvider(tenant_id=tenant_id)
        db.add(row)
    changed = {
        "issuer": data.issuer != row.issuer,
        "client_id": data.client_id != row.client_id,
        "client_secret": data.client_secret is not None,
    }
    row.issuer, row.client_id = data.issuer, data.client_id
    if data.client_secret is not None:
        row.client_secret_encrypted = box.encrypt(data.client_secret)
    row.scopes = " ".join(dict.fromkeys(["openid", *data.scopes]))
    row.allowed_email_domains = list(dict.fromkeys(data.allowed_email_domains))
    row.join_policy = data.join_policy
    await db.flush()
    return row, {
        "issuer": data.issuer,
        "client_id": data.client_id,
        "join_policy": data.join_policy,
        "allowed_email_domains": row.allowed_email_domains,
        "changed": [k for k, v in changed.items() if v],
    }


async def put(
    db: AsyncSession, ctx: TenantContext, box: SecretBox, data: IdentityProviderUpdate
) -> IdentityProviderConfig:
    row, audit = await apply_update(db, ctx.tenant_id, box, data)
    record(db, ctx, "identity_provider.updated", "identity_provider", row.id, audit)
    return view(row)


async def check(db: AsyncSession, ctx: TenantContext, deps: SignInDeps) -> ProviderCheck:
    row = await providers.tenant_provider_row(db, ctx.tenant_id)
    if row is None:
        raise NotFound("This tenant has no identity provider configured.")
    try:
        found = await deps.oidc.check_configuration(providers.to_config(row, deps.box))
    except OIDCError as exc:
        return ProviderCheck(ok=False, issuer=row.issuer, detail=exc.message)
    endpoints = {
        k: str(v) for k, v in found.items() if v and (k.endswith("endpoint") or k == "jwks_uri")
    }
    return ProviderCheck(
        ok=True, issuer=row.issuer, detail="Discovery and keys found.", endpoints=endpoints
    )
