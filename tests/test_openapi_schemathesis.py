"""The API keeps its OpenAPI promises: schemathesis fuzzes every documented operation as a seeded
tenant's admin (the platform routes as an operator) and checks that nothing answers 5xx and that
every response's status code, content type, headers and body are the documented ones."""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections import Counter
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import flet.fastapi as flet_fastapi
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from sqlalchemy import select

from console.app import create_app
from console.db import Database
from console.identity.models import IdentityProvider, UserSession
from console.jobs.files import atomic_write, export_path, upload_path
from console.jobs.links import download_signer, upload_signer
from console.kit.crypto import hash_token, new_secret
from tests.backends import (
    DatabaseUnderTest,
    create_postgres,
    create_sqlite,
    drop_postgres,
    migrate_to_head,
    postgres_reachable,
)
from tests.conftest import BACKEND, ORIGIN, REQUIRE_POSTGRES, make_settings
from tests.factories import Factory
from tests.jobs.fakes import RecordingDispatcher, make_job
from tests.network import InProcessNetwork

T = TypeVar("T")
DEV_ISSUER = f"{ORIGIN}/dev-idp"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Values that look valid but break storage: PostgreSQL text cannot hold NUL, and a date-time at
# the edge of the calendar overflows once converted to UTC.
NUL_EDGES = ["\x00", "nul\x00inside"]
DATETIME_EDGES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"]
# Status codes answered per operation, so a run that never got past authentication shows up.
SEEN: dict[str, Counter[int]] = {}


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop in its own thread (neither pytest's nor the app's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@dataclass(frozen=True)
class Seeded:
    admin_token: str
    operator_cookie: str
    binding: str  # the admin's browser's sign-in binding cookie
    # Path parameter → the existing rows the fuzzer should mostly use. DELETE gets `doomed` rows
    # of its own, so deleting cannot starve the other operations of rows to work on.
    pools: dict[str, list[str]]
    doomed: dict[str, list[str]]
    tenant_id: uuid.UUID
    admin_id: uuid.UUID
    export_job: uuid.UUID  # a succeeded export (its file is written once the app's dirs exist)


async def _seed(url: str) -> Seeded:
    """A tenant with members, projects, invitations and spare tokens, written through a pool of
    its own that is disposed before the app starts (connections cannot move between loops)."""
    database = Database(url)
    try:
        make = Factory(database)
        tenant, other = await make.tenant(), await make.tenant()
        admin = await make.actor(tenant, "admin")
        members = [await make.member(tenant, role) for role in ("viewer", "member", "viewer")]
        doomed_members = [await make.member(tenant, role) for role in ("viewer", "member")]
        projects = [await make.project(tenant) for _ in range(3)]
        projects.append(await make.project(tenant, status="archived"))
        doomed_projects = [await make.project(tenant) for _ in range(2)]
        other_project = await make.project(other)
        invitations = [await make.invitation(tenant, invited_by=admin.user) for _ in range(3)]
        # Tokens the fuzzer may revoke: never the admin's own, which the whole run depends on.
        spare_tokens = [(await make.api_token(tenant, admin.user, "viewer"))[0] for _ in range(2)]
        operator = await make.user(operator=True)
        # Other browser sessions of the admin's, theirs to list and revoke.
        sessions = [await make.cookie(admin.user) for _ in range(3)]
        # Jobs to cancel (queued), retry (failed, cancelled), download (the export).
        jobs = [
            await make_job(database, tenant.id, status=status, created_by=admin.id)
            for status in ("queued", "queued", "queued", "running", "failed", "cancelled")
        ]
        export = await make_job(
            database,
            tenant.id,
            kind="export",
            status="succeeded",
            result={"filename": "projects.csv", "rows": 1},
        )
        other_job = await make_job(database, other.id, status="failed")
        async with database.system_session() as s:
            # The tenant signs in through the app's development provider (a public client).
            s.add(IdentityProvider(tenant_id=tenant.id, issuer=DEV_ISSUER, client_id="console-dev"))
            session_ids = [
                str(row.id)
                for row in await s.scalars(
                    select(UserSession).where(
                        UserSession.token_hash.in_([hash_token(c) for c in sessions])
                    )
                )
            ]

        def ids(*rows: Any) -> list[str]:
            return [str(row.id) for row in rows]

        return Seeded(
            admin_token=admin.api_token,
            operator_cookie=await make.cookie(operator),
            binding=new_secret(),
            pools={
                # Mostly the tenant under test; now and then one the admin does not belong to.
                "tenant": [tenant.slug] * 5 + [other.slug],
                "project_id": ids(*projects, other_project),
                "user_id": ids(*members),
                "invitation_id": ids(*invitations),
                "token_id": ids(*spare_tokens),
                # Only the other tenant: suspending the one under test would lock the run out.
                "tenant_id": ids(other),
                "session_id": session_ids,
                "job_id": ids(*jobs, export, other_job),
            },
            doomed={"project_id": ids(*doomed_projects), "user_id": ids(*doomed_members)},
            tenant_id=tenant.id,
            admin_id=admin.id,
            export_job=export.id,
        )
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def api_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    """A database of this module's own: the fuzzer creates, edits and deletes freely."""
    if BACKEND != "postgres":
        db = create_sqlite(tmp_path_factory.mktemp("openapi-db"))
        run_async(migrate_to_head(db))
        yield db
        return
    reason = run_async(postgres_reachable())
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    db = run_async(create_postgres("oa"))
    try:
        run_async(migrate_to_head(db))
        yield db
    finally:
        run_async(drop_postgres(db))


@pytest.fixture(scope="module")
def seeded(api_database: DatabaseUnderTest) -> Seeded:
    return run_async(_seed(api_database.app_url))


async def _noop() -> None:
    return None


@pytest.fixture(scope="module")
def api_app(
    api_database: DatabaseUnderTest, seeded: Seeded, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """A new app, not the session one: schemathesis runs its lifespan and every request on its
    own event-loop thread, where this app's engine then opens all of its connections."""
    network = InProcessNetwork()
    app = create_app(
        make_settings(api_database, tmp_path_factory.mktemp("openapi-app")),
        oidc_transport=network,
        job_dispatcher=RecordingDispatcher(),
    )
    network.serve(ORIGIN, app)  # sign-in reaches the app's development provider in-process
    with pytest.MonkeyPatch.context() as patch:
        # Flet's session manager is process-wide (the session app runs it on pytest's loop) and
        # the dashboard is not in the OpenAPI schema: keep this app's lifespan off it.
        patch.setattr(flet_fastapi.app_manager, "start", _noop)
        patch.setattr(flet_fastapi.app_manager, "shutdown", _noop)
        yield app


def edges_for(text: str) -> list[str]:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return NUL_EDGES
    return DATETIME_EDGES


def with_edge_value(context: Any, value: Any) -> st.SearchStrategy[Any]:
    """The generated query or body; or it with one string swapped for an edge value of its kind,
    or with every date-time at the edge of the calendar."""
    if not isinstance(value, dict):
        return st.just(value)
    names = sorted(k for k, v in value.items() if isinstance(v, str))
    if not names:
        return st.just(value)

    def swap(choice: tuple[int, str, int]) -> dict[str, Any]:
        roll, name, pick = choice
        if roll == 0:
            return {**value, name: edges_for(value[name])[pick]}
        if roll == 1:
            dates = {
                k: DATETIME_EDGES[pick] for k in names if edges_for(value[k]) is DATETIME_EDGES
            }
            return {**value, **dates}
        return value

    return st.tuples(st.integers(0, 3), st.sampled_from(names), st.integers(0, 1)).map(swap)


def job_files(app: FastAPI, seeded: Seeded) -> dict[str, list[Any]]:
    """The export's file, uploads ready to import, and the signed values the fuzzer cannot
    forge (an upload link, a download link): dictionaries for the operations that need them."""
    settings = app.state.settings
    secret = settings.secret_key.get_secret_value()
    with atomic_write(export_path(settings, seeded.tenant_id, seeded.export_job)) as handle:
        handle.write("key,name\r\nP1,One\r\n")
    uploaded = [uuid.uuid4() for _ in range(2)]
    for upload_id in uploaded:
        path = upload_path(settings, seeded.tenant_id, upload_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"key,name\r\nP1,One\r\n")
    expires = int(datetime.now(UTC).timestamp()) + 3600
    put_id = uuid.uuid4()
    token = upload_signer(secret).dumps(
        {
            "t": str(seeded.tenant_id),
            "u": str(seeded.admin_id),
            "i": str(put_id),
            "m": settings.upload_max_bytes,
            "e": expires,
            "f": "fuzz.csv",
        }
    )
    signature = download_signer(secret).sign(
        seeded.tenant_id, seeded.export_job, "export", seeded.admin_id, expires
    )
    return {
        "upload_ids": [str(u) for u in uploaded],
        "put_upload_id": [str(put_id)],
        "upload_token": [token],
        "download_job": [str(seeded.export_job)],
        "download_file": ["export"],
        "download_expires": [expires],
        "download_signature": [signature],
    }


@pytest.fixture(scope="module")
def api_schema(api_app: FastAPI, seeded: Seeded) -> schemathesis.BaseSchema:
    # The admin also browses from the console's page: sign-in needs its binding cookie and Origin.
    binding = f"{api_app.state.settings.binding_cookie_name}={seeded.binding}"
    as_admin = {
        "Authorization": f"Bearer {seeded.admin_token}",
        "Cookie": binding,
        "Origin": ORIGIN,
    }
    # API tokens cannot operate the platform: the operator signs in with a session cookie.
    cookie = f"{api_app.state.settings.session_cookie_name}={seeded.operator_cookie}"
    as_operator = {"Cookie": cookie, "Origin": ORIGIN}

    def bind(dictionary: str) -> dict[str, Any]:
        return {"dictionary": dictionary, "probability": 0.8}

    signed = job_files(api_app, seeded)

    config = SchemathesisConfig.from_dict(
        {
            "seed": 20_240_601,
            "generation": {"mode": "all", "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "dictionaries": {
                **{name: {"values": values} for name, values in seeded.pools.items()},
                **{f"doomed_{name}": {"values": vs} for name, vs in seeded.doomed.items()},
                "if_match": {"values": ['"1"', '"2"', '"3"', "*"]},
                **{name: {"values": values} for name, values in signed.items()},
            },
            "parameters": {
                **{f"path.{name}": bind(name) for name in seeded.pools},
                "header.if-match": bind("if_match"),
                "body.upload_id": bind("upload_ids"),
            },
            "operations": [
                {"exclude-path-regex": "/platform/", "headers": as_admin},
                {"include-path-regex": "/platform/", "headers": as_operator},
                {
                    "include-path-regex": "/download$",
                    "parameters": {
                        "path.job_id": bind("download_job"),
                        "query.file": bind("download_file"),
                        "query.expires": bind("download_expires"),
                        "query.signature": bind("download_signature"),
                    },
                },
                {
                    "include-path-regex": "^/api/v1/uploads/",
                    "parameters": {
                        "path.upload_id": bind("put_upload_id"),
                        "query.token": bind("upload_token"),
                    },
                },
                {
                    "include-method": "DELETE",
                    "parameters": {
                        f"path.{name}": bind(f"doomed_{name}") for name in seeded.doomed
                    },
                },
            ],
        }
    )
    loaded = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api_app, config=config)
    loaded.hook("flatmap_query")(with_edge_value)
    loaded.hook("flatmap_body")(with_edge_value)
    return loaded


def aim_coverage_case(case: schemathesis.Case, seeded: Seeded) -> None:
    """Coverage-phase cases are fixed examples that dictionaries do not reach: point their path
    at seeded rows too, except the parameter the case is about."""
    if case.meta is None or case.meta.phase.name.value != "coverage" or not case.path_parameters:
        return
    data = case.meta.phase.data
    about = data.parameter if data.parameter_location == "path" else None
    doomed = seeded.doomed if case.method.upper() == "DELETE" else {}
    for name, generated in case.path_parameters.items():
        values = doomed.get(name) or seeded.pools.get(name)
        if values and name != about:
            case.path_parameters[name] = values[zlib.crc32(repr(generated).encode()) % len(values)]


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _lazy_schema_node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's lazy schemas rename the item through `_nodeid`, gone in pytest 9.2."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_conforms_to_the_schema(case: schemathesis.Case, seeded: Seeded) -> None:
    aim_coverage_case(case, seeded)
    response = case.call_and_validate(checks=CHECKS)
    SEEN.setdefault(case.operation.label, Counter())[response.status_code] += 1


def test_the_fuzzing_got_past_authentication() -> None:
    """Every operation answered a success at least once: the run was not 401s and 404s."""
    if not SEEN:
        pytest.skip("runs after test_every_operation_conforms_to_the_schema, in its process")
    never_succeeded = {
        label: dict(statuses)
        for label, statuses in SEEN.items()
        if not any(200 <= status < 300 for status in statuses)
    }
    assert never_succeeded == {}
