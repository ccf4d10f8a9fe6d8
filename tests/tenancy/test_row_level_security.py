"""Row-level security, proven: a query that forgets its tenant filter still sees one tenant only.

Two tenants, A and B, each own rows in every tenant-owned table. The app's own role (not a
superuser, no BYPASSRLS) then runs deliberately unscoped queries (`select(Project)` with no where
clause, `SELECT * FROM jobs`, ...) and must get A's rows and never B's; with no scope, nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.models import AuditEvent
from console.db import Base, Database, set_scope, utcnow
from console.identity.models import ApiToken, IdentityProvider, PendingSignIn, User
from console.jobs.models import Job
from console.models import TENANT_OWNED_TABLES
from console.projects.models import Project
from console.tenancy.models import Invitation, Membership, Tenant
from console.tenancy.repository import enter_tenant
from tests.backends import APP_ROLE, DatabaseUnderTest
from tests.conftest import BACKEND
from tests.factories import unique

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.postgres,
    pytest.mark.skipif(BACKEND != "postgres", reason="row-level security is a PostgreSQL feature"),
]

DRIVERS = ("asyncpg", "psycopg")
MODELS: dict[str, type[Base]] = {m.local_table.name: m.class_ for m in Base.registry.mappers}
# Each table's primary key column (pending_sign_ins is keyed by its state's hash, not an id).
KEYS = {table: inspect(model).primary_key[0].name for table, model in MODELS.items()}
REFUSED = "row-level security"


def app_url(db: DatabaseUnderTest, driver: str = "asyncpg") -> str:
    """The app role's URL with the given driver (`postgresql+asyncpg` or `postgresql+psycopg`)."""
    url = make_url(db.app_url).set(drivername=f"postgresql+{driver}")
    return url.render_as_string(hide_password=False)


def tenant_rows(tenant_id: uuid.UUID, users: Sequence[uuid.UUID]) -> dict[str, list[Any]]:
    """New rows for every tenant-owned table; `users` become admin, member and viewer."""
    admin = users[0]
    now = utcnow()

    def secret() -> str:
        return uuid.uuid4().hex * 2

    return {
        "memberships": [
            Membership(tenant_id=tenant_id, user_id=user, role=role)
            for user, role in zip(users, ("admin", "member", "viewer"), strict=False)
        ],
        "invitations": [
            Invitation(
                tenant_id=tenant_id,
                email=f"{unique('inv')}@example.com",
                role="viewer",
                token_hash=secret(),
                expires_at=now + timedelta(days=7),
                invited_by_id=admin,
            )
        ],
        "api_tokens": [
            ApiToken(
                tenant_id=tenant_id,
                owner_id=admin,
                name=unique("tok"),
                prefix=f"cnsl_{uuid.uuid4().hex[:10]}",
                token_hash=secret(),
                role="admin",
            )
        ],
        "projects": [
            Project(tenant_id=tenant_id, key=unique("K").upper()[:30], name=name, description="")
            for name in ("First", "Second")
        ],
        "jobs": [Job(tenant_id=tenant_id, kind="export", params={"n": 1}, created_by_id=admin)],
        "audit_events": [
            AuditEvent(tenant_id=tenant_id, actor_id=admin, action="project.created", data={})
        ],
        "identity_providers": [
            IdentityProvider(
                tenant_id=tenant_id,
                issuer="https://idp.example.com",
                client_id=unique("client"),
                client_secret_encrypted=secret(),
                allowed_email_domains=[],
            )
        ],
        "pending_sign_ins": [pending_sign_in(tenant_id) for _ in range(2)],
    }


def pending_sign_in(tenant_id: uuid.UUID | None) -> PendingSignIn:
    """A started sign-in; a platform operator's has no tenant."""
    now = utcnow()
    return PendingSignIn(
        state_hash=uuid.uuid4().hex * 2,
        binding_hash=uuid.uuid4().hex * 2,
        tenant_id=tenant_id,
        issuer="https://idp.example.com",
        nonce=unique("nonce"),
        code_verifier=unique("verifier"),
        redirect_uri="https://console.example.com/dashboard/oauth_callback",
        expires_at=now + timedelta(minutes=10),
    )


def key_of(row: Any) -> Any:
    """A row's primary key value (an id, or a pending sign-in's state hash)."""
    return getattr(row, KEYS[row.__table__.name])


def as_key(value: Any) -> Any:
    """asyncpg and psycopg return their own UUID types from raw SQL; compare as uuid.UUID."""
    return value if isinstance(value, str) else as_uuid(value)


@dataclass
class World:
    a: Tenant
    b: Tenant
    users: dict[str, uuid.UUID]
    # tenant id → table → primary keys of that tenant's rows
    ids: dict[uuid.UUID, dict[str, set[Any]]] = field(default_factory=dict)
    # A platform operator's pending sign-in: no tenant, so no tenant's scope shows it.
    platform_sign_in: str = ""


@pytest.fixture(scope="module")
async def db(test_database: DatabaseUnderTest) -> AsyncIterator[Database]:
    """The app's view of the database: its own, RLS-bound role (asyncpg)."""
    database = Database(app_url(test_database))
    yield database
    await database.dispose()


@pytest.fixture(scope="module")
async def world(db: Database) -> World:
    """Tenants A and B with rows in every tenant-owned table; `both` is a member of each."""
    async with db.system_session() as s:
        people = {name: User(email=f"{unique(name)}@example.com") for name in
                  ("a_admin", "a_member", "b_admin", "b_member", "both", "nobody")}  # fmt: skip
        a, b = Tenant(slug=unique("rls-a"), name="A"), Tenant(slug=unique("rls-b"), name="B")
        s.add_all([*people.values(), a, b])
        await s.flush()
        users = {name: user.id for name, user in people.items()}
        rows = {
            a.id: tenant_rows(a.id, [users["a_admin"], users["a_member"], users["both"]]),
            b.id: tenant_rows(b.id, [users["b_admin"], users["b_member"], users["both"]]),
        }
        for per_table in rows.values():
            assert set(per_table) == set(TENANT_OWNED_TABLES), "a tenant-owned table has no rows"
            s.add_all([row for table_rows in per_table.values() for row in table_rows])
        platform = pending_sign_in(None)
        s.add(platform)
        await s.flush()
    world = World(a=a, b=b, users=users, platform_sign_in=platform.state_hash)
    for tenant_id, per_table in rows.items():
        world.ids[tenant_id] = {t: {key_of(row) for row in r} for t, r in per_table.items()}
    return world


def as_uuid(value: Any) -> uuid.UUID:
    """asyncpg and psycopg return their own UUID types from raw SQL; compare as uuid.UUID."""
    return uuid.UUID(str(value))


async def visible(s: AsyncSession, table: str) -> dict[str, set[tuple[Any, uuid.UUID | None]]]:
    """(primary key, tenant_id) of every row the transaction can see, through the ORM and raw
    SQL."""
    orm = (await s.scalars(select(MODELS[table]))).all()
    raw = (await s.execute(text(f"SELECT * FROM {table}"))).mappings().all()
    key = KEYS[table]
    return {
        "orm": {(key_of(row), row.tenant_id) for row in orm},
        "raw": {
            (as_key(row[key]), as_uuid(row["tenant_id"]) if row["tenant_id"] else None)
            for row in raw
        },
    }


async def count(s: AsyncSession, table: str) -> int:
    return await s.scalar(text(f"SELECT count(*) FROM {table}"))


async def scope_to(s: AsyncSession, how: str, tenant: Tenant, user_id: uuid.UUID) -> None:
    """Scope the transaction the way services do, or the way the tenant chokepoint does."""
    if how == "set_scope":
        await set_scope(s, tenant_id=tenant.id, user_id=user_id)
    else:
        row = await enter_tenant(s, tenant.slug, user_id)
        assert row is not None
        assert row.id == tenant.id


async def write_in_savepoint(s: AsyncSession, row: Any) -> None:
    """Flush one new row inside a savepoint, so a refusal leaves the transaction usable."""
    async with s.begin_nested():
        s.add(row)
        await s.flush()


async def abandon_a_scoped_transaction(database: Database) -> None:
    async with database.unit_of_work() as s:
        await set_scope(s, system=True)
        assert await count(s, "projects") > 0
        raise RuntimeError("abandon")


# --- the proof ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["set_scope", "enter_tenant"])
@pytest.mark.parametrize("driver", DRIVERS)
async def test_unscoped_queries_see_only_the_scoped_tenant(
    test_database: DatabaseUnderTest, world: World, driver: str, how: str
) -> None:
    a, b = world.a.id, world.b.id
    database = Database(app_url(test_database, driver), pool_size=1)
    try:
        async with database.unit_of_work() as s:
            await scope_to(s, how, world.a, world.users["a_admin"])
            for table in TENANT_OWNED_TABLES:
                for via, rows in (await visible(s, table)).items():
                    tenants = {tenant for _, tenant in rows}
                    assert tenants == {a}, f"{table} via {via}: saw tenants {tenants}"
                    assert {id_ for id_, _ in rows} == world.ids[a][table], f"{table} via {via}"
                    assert not {id_ for id_, _ in rows} & world.ids[b][table]
                assert await count(s, table) == len(world.ids[a][table])
                asking_for_b = text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b")
                assert await s.scalar(asking_for_b, {"b": b}) == 0, table
            # A join from an unprotected table still only reaches A's rows.
            joined = await s.execute(select(Tenant.id, Project.id).join(Project))
            assert {tenant for tenant, _ in joined} == {a}
    finally:
        await database.dispose()


async def test_no_scope_sees_nothing(db: Database, world: World) -> None:
    """Fail closed: a transaction that never set a scope, or set an empty one, sees no rows."""
    async with db.unit_of_work() as s:
        for table in TENANT_OWNED_TABLES:
            assert await visible(s, table) == {"orm": set(), "raw": set()}, table
            assert await count(s, table) == 0
        await set_scope(s)
        for table in TENANT_OWNED_TABLES:
            assert await count(s, table) == 0, table
        # An unknown tenant scopes to no tenant: only the user's own memberships remain visible.
        a_admin = world.users["a_admin"]
        assert (await enter_tenant(s, "no-such-tenant", a_admin)) is None
        assert set((await s.scalars(select(Membership.user_id))).all()) == {a_admin}
        for table in set(TENANT_OWNED_TABLES) - {"memberships"}:
            assert await count(s, table) == 0, table


async def test_a_user_scope_alone_sees_only_that_users_memberships(
    db: Database, world: World
) -> None:
    """Before a tenant is chosen ("my tenants") a user sees their own memberships, nothing else."""
    both = world.users["both"]
    async with db.unit_of_work() as s:
        await set_scope(s, user_id=both)
        memberships = (await s.scalars(select(Membership))).all()
        assert {m.user_id for m in memberships} == {both}
        assert {m.tenant_id for m in memberships} == {world.a.id, world.b.id}
        for table in set(TENANT_OWNED_TABLES) - {"memberships"}:
            assert await count(s, table) == 0, table


async def test_system_scope_sees_every_tenant(db: Database, world: World) -> None:
    async with db.system_session() as s:
        for table in TENANT_OWNED_TABLES:
            rows = await visible(s, table)
            for via in ("orm", "raw"):
                ids = {id_ for id_, _ in rows[via]}
                assert world.ids[world.a.id][table] | world.ids[world.b.id][table] <= ids, table
        # ... and the platform's own pending sign-ins, which belong to no tenant.
        platform = await s.get(PendingSignIn, world.platform_sign_in)
        assert platform is not None
        assert platform.tenant_id is None


async def test_a_platform_sign_in_is_seen_in_system_scope_only(db: Database, world: World) -> None:
    """Its tenant_id is NULL: no tenant's scope (and no scope at all) may read or claim it."""
    for scope in ({}, {"tenant_id": world.a.id, "user_id": world.users["a_admin"]}):
        async with db.unit_of_work() as s:
            await set_scope(s, **scope)
            assert await s.get(PendingSignIn, world.platform_sign_in) is None, scope
            claimed = await s.execute(
                text("UPDATE pending_sign_ins SET used_at = now() WHERE state_hash = :h"),
                {"h": world.platform_sign_in},
            )
            assert claimed.rowcount == 0, scope
            await s.rollback()


# --- writes -------------------------------------------------------------------------------------


async def test_inserting_another_tenants_rows_is_refused(db: Database, world: World) -> None:
    """WITH CHECK: scoped to A, no row of B can be written, in any tenant-owned table."""
    async with db.unit_of_work() as s:
        await set_scope(s, tenant_id=world.a.id, user_id=world.users["a_admin"])
        strangers = [User(email=f"{unique('x')}@example.com") for _ in range(3)]
        s.add_all(strangers)
        # A tenant has one identity provider: make room for the one written for A below (the
        # unscoped DELETE reaches A's only, and everything is rolled back at the end).
        gone = await s.execute(text("DELETE FROM identity_providers"))
        assert gone.rowcount == 1
        await s.flush()
        for table, rows in tenant_rows(world.b.id, [u.id for u in strangers]).items():
            with pytest.raises(DBAPIError, match=REFUSED):
                await write_in_savepoint(s, rows[0])
            # ... while the same row for A is accepted.
            await write_in_savepoint(
                s, tenant_rows(world.a.id, [u.id for u in strangers])[table][0]
            )
        await s.rollback()


async def test_a_row_cannot_be_moved_to_another_tenant(db: Database, world: World) -> None:
    project_id = next(iter(world.ids[world.a.id]["projects"]))
    async with db.unit_of_work() as s:
        await set_scope(s, tenant_id=world.a.id, user_id=world.users["a_admin"])
        with pytest.raises(DBAPIError, match=REFUSED):
            await s.execute(
                text("UPDATE projects SET tenant_id = :b WHERE id = :id"),
                {"b": world.b.id, "id": project_id},
            )
        await s.rollback()


async def test_unscoped_updates_and_deletes_reach_only_the_scoped_tenant(
    db: Database, world: World
) -> None:
    a, b = world.a.id, world.b.id
    async with db.unit_of_work() as s:
        await set_scope(s, tenant_id=a, user_id=world.users["a_admin"])
        for table in TENANT_OWNED_TABLES:
            touched = await s.execute(text(f"UPDATE {table} SET tenant_id = tenant_id"))
            assert touched.rowcount == len(world.ids[a][table]), table
            gone = await s.execute(text(f"DELETE FROM {table} WHERE tenant_id = :b"), {"b": b})
            assert gone.rowcount == 0, table
        await s.rollback()


async def test_own_membership_in_another_tenant_is_visible_but_not_writable(
    db: Database, world: World
) -> None:
    """The own-user clause is for reading "my tenants"; scoped to A, it grants no write in B."""
    a, b, both = world.a.id, world.b.id, world.users["both"]
    async with db.unit_of_work() as s:
        await set_scope(s, tenant_id=a, user_id=both)
        seen = {(m.tenant_id, m.user_id) for m in (await s.scalars(select(Membership))).all()}
        assert (b, both) in seen
        assert {t for t, u in seen if u != both} == {a}

        # A forgotten tenant filter must not promote the user in every tenant they belong to...
        promoted = await s.execute(
            text("UPDATE memberships SET role = 'admin' WHERE user_id = :u"), {"u": both}
        )
        assert promoted.rowcount == 1
        # ... nor remove them from B ...
        left = await s.execute(
            text("DELETE FROM memberships WHERE user_id = :u AND tenant_id = :b"),
            {"u": both, "b": b},
        )
        assert left.rowcount == 0
        # ... nor let them join B.
        newcomer = User(email=f"{unique('n')}@example.com")
        s.add(newcomer)
        await s.flush()
        await set_scope(s, tenant_id=a, user_id=newcomer.id)
        with pytest.raises(DBAPIError, match=REFUSED):
            await write_in_savepoint(s, Membership(tenant_id=b, user_id=newcomer.id, role="admin"))
        await s.rollback()
    async with db.system_session() as s:
        role = await s.scalar(
            select(Membership.role).where(Membership.tenant_id == b, Membership.user_id == both)
        )
        assert role == "viewer"


# --- the role and the connection ----------------------------------------------------------------


async def test_the_app_role_cannot_bypass_row_level_security(db: Database) -> None:
    async with db.unit_of_work() as s:
        role = (
            await s.execute(
                text(
                    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles"
                    " WHERE rolname = current_user"
                )
            )
        ).one()
        assert role.name == APP_ROLE
        assert role.rolsuper is False
        assert role.rolbypassrls is False
        # It cannot switch the policies off for itself either.
        await s.execute(text("SET LOCAL row_security = off"))
        with pytest.raises(DBAPIError, match="row-level security"):
            async with s.begin_nested():
                await s.execute(text("SELECT count(*) FROM projects"))
        await s.execute(text("SET LOCAL row_security = on"))
        for statement in ("DISABLE ROW LEVEL SECURITY", "NO FORCE ROW LEVEL SECURITY"):
            with pytest.raises(DBAPIError, match="must be owner"):
                async with s.begin_nested():
                    await s.execute(text(f"ALTER TABLE projects {statement}"))
        await s.rollback()


@pytest.mark.parametrize("driver", DRIVERS)
async def test_the_scope_does_not_outlive_its_transaction(
    test_database: DatabaseUnderTest, world: World, driver: str
) -> None:
    """Same pooled connection: after a commit or a rollback, the next transaction sees nothing."""
    database = Database(app_url(test_database, driver), pool_size=1)
    pid = text("SELECT pg_backend_pid()")
    setting = text("SELECT current_setting('console.tenant_id', true)")
    try:
        async with database.unit_of_work() as s:
            await set_scope(s, tenant_id=world.a.id, user_id=world.users["a_admin"])
            backend = await s.scalar(pid)
            assert await count(s, "projects") == len(world.ids[world.a.id]["projects"])

        async with database.unit_of_work() as s:
            assert await s.scalar(pid) == backend, "not the same pooled connection"
            assert not await s.scalar(setting)
            for table in TENANT_OWNED_TABLES:
                assert await count(s, table) == 0, f"{table}: the scope leaked past COMMIT"

        with pytest.raises(RuntimeError, match="abandon"):
            await abandon_a_scoped_transaction(database)

        async with database.unit_of_work() as s:
            assert await s.scalar(pid) == backend, "not the same pooled connection"
            for table in TENANT_OWNED_TABLES:
                assert await count(s, table) == 0, f"{table}: the scope leaked past ROLLBACK"
    finally:
        await database.dispose()


@pytest.mark.parametrize("driver", DRIVERS)
async def test_reused_prepared_statements_follow_the_scope(
    test_database: DatabaseUnderTest, world: World, driver: str
) -> None:
    """The same statement on the same connection, alternately scoped to A and B (past the point
    where PostgreSQL switches a prepared statement to a generic plan), sees the current tenant."""
    database = Database(app_url(test_database, driver), pool_size=1)
    try:
        for round_ in range(8):
            tenant = (world.a, world.b)[round_ % 2]
            async with database.unit_of_work() as s:
                await set_scope(s, tenant_id=tenant.id)
                ids = set((await s.scalars(select(Project.id))).all())
                assert ids == world.ids[tenant.id]["projects"], f"round {round_}"
    finally:
        await database.dispose()
