"""Every model, imported in one place so metadata is complete (Alembic, tests)."""

from console.audit.models import AuditEvent
from console.db import Base
from console.identity.models import (
    ApiToken,
    Identity,
    IdentityProvider,
    PendingSignIn,
    User,
    UserSession,
)
from console.jobs.models import Job
from console.projects.models import Project
from console.tenancy.models import Invitation, Membership, Tenant

# Tables whose rows belong to one tenant; each gets a row-level-security policy on PostgreSQL.
TENANT_OWNED_TABLES = (
    "memberships",
    "invitations",
    "api_tokens",
    "projects",
    "jobs",
    "audit_events",
    "identity_providers",
    "pending_sign_ins",
)

__all__ = [
    "TENANT_OWNED_TABLES",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Identity",
    "IdentityProvider",
    "Invitation",
    "Job",
    "Membership",
    "PendingSignIn",
    "Project",
    "Tenant",
    "User",
    "UserSession",
]
