"""Projects, with a version column for optimistic concurrency."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from console.db import Base, IdMixin, TimestampMixin
from console.tenancy.models import _in

PROJECT_STATUSES = ("active", "archived")


class Project(IdMixin, TimestampMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        CheckConstraint(_in("status", PROJECT_STATUSES), name="status"),
        # One index per sort order, tie-broken by id, so every page is an index range scan.
        Index(None, "tenant_id", "name", "id"),
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "tenant_id", "updated_at", "id"),
        Index(None, "tenant_id", "status", "name", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=1)

    # The ORM adds "AND version = :old" to every UPDATE/DELETE and bumps it: two writers can't
    # both win, the loser gets StaleDataError (→ 409).
    __mapper_args__ = {"version_id_col": version}
