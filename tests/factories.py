"""Factories: build tenants, users, memberships, sessions, tokens and projects directly."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import timedelta

from console.db import Database
from console.identity import service as identity_service
from console.identity.models import ApiToken, User
from console.identity.tokens import new_api_token
from console.kit.crypto import hash_token, new_secret
from console.projects.models import Project
from console.tenancy.models import Invitation, Membership, Tenant

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{uuid.uuid4().hex[:6]}"


@dataclass
class Actor:
    """A user with a signed-in session (cookie value) and, optionally, an API token."""

    user: User
    cookie: str
    token: str | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def api_token(self) -> str:
        """The actor's token; only actors made with a tenant role have one."""
        if self.token is None:
            raise ValueError("this actor has no API token: make it with a tenant and a role")
        return self.token


class Factory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def tenant(self, *, status: str = "active", name: str | None = None) -> Tenant:
        slug = unique("t")
        async with self.db.system_session() as s:
            tenant = Tenant(slug=slug, name=name or f"Tenant {slug}", status=status)
            s.add(tenant)
        return tenant

    async def user(self, *, operator: bool = False, email: str | None = None) -> User:
        async with self.db.system_session() as s:
            user = User(
                email=email or f"{unique('u')}@example.com",
                name="Test User",
                is_operator=operator,
            )
            s.add(user)
        return user

    async def member(self, tenant: Tenant, role: str, *, user: User | None = None) -> User:
        user = user or await self.user()
        async with self.db.system_session() as s:
            s.add(Membership(tenant_id=tenant.id, user_id=user.id, role=role))
        return user

    async def cookie(self, user: User) -> str:
        async with self.db.system_session() as s:
            value, _ = await identity_service.start_session(s, user, timedelta(hours=1))
        return value

    async def token(
        self, tenant: Tenant, user: User, role: str, *, expires_in: timedelta | None = None
    ) -> str:
        _, secret = await self.api_token(tenant, user, role, expires_in=expires_in)
        return secret

    async def api_token(
        self, tenant: Tenant, user: User, role: str, *, expires_in: timedelta | None = None
    ) -> tuple[ApiToken, str]:
        """The token's row (for its id) and its secret."""
        minted = new_api_token()
        async with self.db.system_session() as s:
            token = ApiToken(
                tenant_id=tenant.id,
                owner_id=user.id,
                name=unique("tok"),
                prefix=minted.prefix,
                token_hash=minted.token_hash,
                role=role,
                expires_at=None if expires_in is None else _now() + expires_in,
            )
            s.add(token)
        return token, minted.secret

    async def invitation(
        self,
        tenant: Tenant,
        *,
        email: str | None = None,
        role: str = "viewer",
        invited_by: User | None = None,
    ) -> Invitation:
        """A pending invitation (its acceptance token is not kept)."""
        async with self.db.system_session() as s:
            invitation = Invitation(
                tenant_id=tenant.id,
                email=email or f"{unique('inv')}@example.com",
                role=role,
                token_hash=hash_token(new_secret(24)),
                expires_at=_now() + timedelta(days=7),
                invited_by_id=invited_by.id if invited_by else None,
            )
            s.add(invitation)
        return invitation

    async def actor(
        self, tenant: Tenant | None, role: str | None, *, operator: bool = False
    ) -> Actor:
        user = await self.user(operator=operator)
        if tenant is not None and role is not None:
            await self.member(tenant, role, user=user)
        token = await self.token(tenant, user, role) if tenant is not None and role else None
        return Actor(user=user, cookie=await self.cookie(user), token=token)

    async def project(
        self,
        tenant: Tenant,
        *,
        key: str | None = None,
        name: str | None = None,
        status: str = "active",
    ) -> Project:
        async with self.db.system_session() as s:
            project = Project(
                tenant_id=tenant.id,
                key=key or unique("P").upper().replace("-", "")[:30],
                name=name or "A project",
                description="",
                status=status,
            )
            s.add(project)
        return project


def _now():
    from console.db import utcnow

    return utcnow()
