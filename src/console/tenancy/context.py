"""The tenant context: what the tenant-scope dependency hands to services and repositories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from console.identity.principal import Principal
from console.tenancy.roles import Role


@dataclass(frozen=True, slots=True)
class TenantContext:
    """A caller acting inside one tenant with one effective role.

    Only `tenancy.deps.tenant_scope` creates these (the one tenant chokepoint); repositories
    take it instead of a raw tenant id.
    """

    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    role: Role
    principal: Principal
    ip: str | None = None

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id
