"""Users, their external identities, browser sessions and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from console.db import Base, IdMixin, JSONType, TimestampMixin, utcnow
from console.tenancy.models import ROLES, _in


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    is_operator: Mapped[bool] = mapped_column(default=False)


class Identity(IdMixin, Base):
    """A user's account at an identity provider: (issuer, subject) is globally unique."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"), Index(None, "user_id"))

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class UserSession(IdMixin, Base):
    """A signed-in browser; only the hash of its cookie value is stored."""

    __tablename__ = "sessions"
    __table_args__ = (Index(None, "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    # The identity provider that authenticated this browser: tenants with their own provider
    # accept only sessions it signed in (NULL: made outside a sign-in, e.g. by tests).
    issuer: Mapped[str | None] = mapped_column(String(500))


class ApiToken(IdMixin, Base):
    """A tenant-bound bearer token; `prefix` finds it, `token_hash` proves it."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        Index(None, "tenant_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdentityProvider(IdMixin, TimestampMixin, Base):
    """A tenant's OpenID Connect provider; the client secret is encrypted at rest."""

    __tablename__ = "identity_providers"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("join_policy IN ('invite_only', 'open')", name="join_policy"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_encrypted: Mapped[str | None] = mapped_column(String(2000))
    scopes: Mapped[str] = mapped_column(String(500), default="openid email profile")
    allowed_email_domains: Mapped[list[str]] = mapped_column(JSONType, default=list)
    join_policy: Mapped[str] = mapped_column(String(16), default="invite_only")


class PendingSignIn(Base):
    """A started sign-in: state → browser binding, nonce and PKCE verifier, until used or expired.

    Stored in the database so every web process can check a callback.
    """

    __tablename__ = "pending_sign_ins"
    __table_args__ = (Index(None, "expires_at"),)

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    binding_hash: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    issuer: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
