"""Identity providers (one per tenant, secret encrypted) and pending sign-ins, both under
row-level security on PostgreSQL like every tenant-owned table; sessions remember the provider
that signed them in.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:16:34.977530
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("identity_providers", "pending_sign_ins")
# As in 0002: system scope, else the transaction's tenant (read once per query as InitPlans).
_POLICY = (
    "(CASE WHEN (SELECT current_setting('console.scope', true)) = 'system' THEN true"
    " ELSE tenant_id = (SELECT nullif(current_setting('console.tenant_id', true), '')::uuid)"
    " END)"
)


# Entering a tenant also returns its provider's issuer (a browser session opens only tenants
# that trust the provider that signed it in): still one round trip.
_ENTER_TENANT = """
CREATE FUNCTION console_enter_tenant(tenant_slug text, member_id uuid)
RETURNS TABLE (id uuid, slug varchar, name varchar, status varchar, role varchar, issuer varchar)
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM set_config(
                'console.tenant_id',
                coalesce((SELECT t.id::text FROM tenants t WHERE t.slug = tenant_slug), ''),
                true
            ),
            set_config('console.user_id', member_id::text, true),
            set_config('console.scope', '', true);
    RETURN QUERY
        SELECT t.id, t.slug, t.name, t.status, m.role, p.issuer
        FROM tenants t
        LEFT JOIN memberships m ON m.tenant_id = t.id AND m.user_id = member_id
        LEFT JOIN identity_providers p ON p.tenant_id = t.id
        WHERE t.slug = tenant_slug;
END
$$
"""
# 0002's version, restored on downgrade.
_ENTER_TENANT_0002 = """
CREATE FUNCTION console_enter_tenant(tenant_slug text, member_id uuid)
RETURNS TABLE (id uuid, slug varchar, name varchar, status varchar, role varchar)
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    PERFORM set_config(
                'console.tenant_id',
                coalesce((SELECT t.id::text FROM tenants t WHERE t.slug = tenant_slug), ''),
                true
            ),
            set_config('console.user_id', member_id::text, true),
            set_config('console.scope', '', true);
    RETURN QUERY
        SELECT t.id, t.slug, t.name, t.status, m.role
        FROM tenants t
        LEFT JOIN memberships m ON m.tenant_id = t.id AND m.user_id = member_id
        WHERE t.slug = tenant_slug;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "identity_providers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.String(length=2000), nullable=True),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column(
            "allowed_email_domains",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("join_policy", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "join_policy IN ('invite_only', 'open')", name=op.f("ck_identity_providers_join_policy")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_identity_providers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_identity_providers_tenant_id")),
    )
    op.create_table(
        "pending_sign_ins",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("binding_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_pending_sign_ins_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_pending_sign_ins")),
    )
    with op.batch_alter_table("pending_sign_ins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_sign_ins_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer", sa.String(length=500), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} USING {_POLICY} WITH CHECK {_POLICY}"
            )
        op.execute("DROP FUNCTION console_enter_tenant(text, uuid)")
        op.execute(_ENTER_TENANT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION console_enter_tenant(text, uuid)")
        op.execute(_ENTER_TENANT_0002)
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("issuer")
    with op.batch_alter_table("pending_sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_sign_ins_expires_at"))

    op.drop_table("pending_sign_ins")
    op.drop_table("identity_providers")
