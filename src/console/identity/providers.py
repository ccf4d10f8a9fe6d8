"""Which identity provider signs a tenant's users (or the platform's operators) in."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from console.identity.models import IdentityProvider
from console.identity.oidc import ProviderConfig
from console.identity.signin_schemas import IdentityProviderUpdate
from console.kit.crypto import SecretBox
from console.settings import Settings

DEV_CLIENT_ID = "console-dev"


def dev_client_secret(settings: Settings) -> str:
    """The development provider's client secret, derived so it never needs configuring."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"dev-idp-client", hashlib.sha256).hexdigest()


def platform_provider(settings: Settings) -> ProviderConfig | None:
    """Operators sign in here: the configured platform provider, else (dev) the dev provider."""
    if settings.platform_oidc_issuer and settings.platform_oidc_client_id:
        secret = settings.platform_oidc_client_secret
        return ProviderConfig(
            issuer=settings.platform_oidc_issuer,
            client_id=settings.platform_oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
        )
    if settings.dev_idp:
        return ProviderConfig(
            issuer=settings.dev_idp_issuer,
            client_id=DEV_CLIENT_ID,
            client_secret=dev_client_secret(settings),
        )
    return None


async def tenant_provider_row(db: AsyncSession, tenant_id: object) -> IdentityProvider | None:
    return await db.scalar(select(IdentityProvider).where(IdentityProvider.tenant_id == tenant_id))


def to_config(row: IdentityProvider, box: SecretBox) -> ProviderConfig:
    return ProviderConfig(
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret=box.decrypt(row.client_secret_encrypted)
        if row.client_secret_encrypted
        else None,
        scopes=tuple(row.scopes.split()),
    )


def default_tenant_provider(settings: Settings) -> IdentityProviderUpdate | None:
    """What a new tenant signs in with when its creator names no provider: in development, the
    development provider; in production nothing (an operator or the creator must set one)."""
    if not settings.dev_idp:
        return None
    return IdentityProviderUpdate(
        issuer=settings.dev_idp_issuer,
        client_id=DEV_CLIENT_ID,
        client_secret=dev_client_secret(settings),
    )
