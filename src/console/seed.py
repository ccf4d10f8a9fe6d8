"""The demo tenant `make run` starts with (idempotent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from console.identity import repository as identity_repo
from console.identity.models import IdentityProvider, User
from console.identity.providers import DEV_CLIENT_ID, dev_client_secret
from console.kit.crypto import SecretBox
from console.platform import service as platform_service
from console.platform.schemas import PlatformTenantCreate
from console.projects.models import Project
from console.settings import Settings
from console.tenancy import repository as tenancy_repo
from console.tenancy.models import Membership

DEMO_SLUG = "demo"
DEMO_ADMIN = "admin@demo.example"
DEMO_USERS = (
    ("member@demo.example", "Morgan Member", "member"),
    ("viewer@demo.example", "Vic Viewer", "viewer"),
)
OPERATOR = "operator@console.example"
DEMO_PROJECTS = (
    ("WEB", "Website relaunch", "New marketing site and docs."),
    ("APP", "Mobile app", "iOS and Android clients."),
    ("OPS", "Infrastructure", "Clusters, CI and observability."),
    ("DATA", "Data warehouse", "Nightly loads and dashboards."),
)


async def _user(db: AsyncSession, email: str, name: str, *, operator: bool = False) -> User:
    user = await identity_repo.user_by_email(db, email)
    if user is None:
        user = User(email=email, name=name, is_operator=operator)
        db.add(user)
        await db.flush()
    return user


async def seed_demo(db: AsyncSession, settings: Settings) -> bool:
    """Create the demo tenant, its users and projects, and an operator; False if present.

    With the development identity provider on, the demo tenant signs in through it."""
    if await tenancy_repo.tenant_by_slug(db, DEMO_SLUG):
        return False
    await _user(db, OPERATOR, "Olivia Operator", operator=True)
    admin = await _user(db, DEMO_ADMIN, "Ada Admin")
    view = await platform_service.create_tenant(
        db, None, PlatformTenantCreate(slug=DEMO_SLUG, name="Demo Company", admin_email=admin.email)
    )
    for email, name, role in DEMO_USERS:
        user = await _user(db, email, name)
        db.add(Membership(tenant_id=view.id, user_id=user.id, role=role))
    existing = set(await db.scalars(select(Project.key).where(Project.tenant_id == view.id)))
    for key, name, description in DEMO_PROJECTS:
        if key not in existing:
            db.add(
                Project(
                    tenant_id=view.id,
                    key=key,
                    name=name,
                    description=description,
                    created_by_id=admin.id,
                )
            )
    if settings.dev_idp:
        box = SecretBox(settings.secret_key.get_secret_value())
        db.add(
            IdentityProvider(
                tenant_id=view.id,
                issuer=settings.dev_idp_issuer,
                client_id=DEV_CLIENT_ID,
                client_secret_encrypted=box.encrypt(dev_client_secret(settings)),
            )
        )
    await db.flush()
    return True
