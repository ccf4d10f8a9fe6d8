"""The export handler: streams a tenant's projects (all or filtered) to CSV, formula-safe,
atomically (a cancelled export leaves no file), never another tenant's rows."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from console.jobs import files
from console.settings import Settings
from tests.factories import Factory
from tests.jobs.support import (
    FakeJobContext,
    job_settings_fixture,  # noqa: F401 - fixture
    make_job,
    project_rows,
    read_csv,
    sync_engine_fixture,  # noqa: F401 - fixture
)
from workers.context import JobCancelled, JobFailed
from workers.tasks import csvformat, exports

pytestmark = pytest.mark.anyio

HEADER = ["key", "name", "description", "status", "created_at", "updated_at"]


@pytest.fixture
async def tenant(factory: Factory):
    return await factory.tenant()


async def export_context(factory, engine, settings, tenant, params=None) -> FakeJobContext:
    user = await factory.user()
    job_id = await make_job(factory.db, tenant.id, "export", params or {}, user.id)
    return FakeJobContext(
        engine=engine,
        settings=settings,
        tenant_id=tenant.id,
        job_id=job_id,
        kind="export",
        params=params or {},
    )


async def test_exports_every_project_of_the_tenant_in_key_order(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    await factory.project(tenant, key="BETA", name="Beta, the second", status="archived")
    await factory.project(tenant, key="ALPHA", name='Alpha "quoted"')
    await factory.project(tenant, key="GAMMA", name="Gamma\nwith a newline")
    other = await factory.tenant()
    await factory.project(other, key="ALPHA", name="Another tenant's")
    ctx = await export_context(factory, sync_engine, job_settings, tenant)

    result = ctx.run()

    path = files.export_path(job_settings, tenant.id, ctx.job_id)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM
    assert data.startswith(b"key,name,description,status,created_at,updated_at\r\n")
    rows = read_csv(path)
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == ["ALPHA", "BETA", "GAMMA"]
    assert rows[1][1] == 'Alpha "quoted"'
    assert rows[2][1:4] == ["Beta, the second", "", "archived"]
    assert rows[3][1] == "Gamma\nwith a newline"
    stored = project_rows(sync_engine, tenant.id)
    created = stored["ALPHA"]["created_at"].astimezone(UTC)
    assert rows[1][4] == created.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["file"] == "export"
    assert result["rows"] == 3
    assert result["bytes"] == len(data)
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["filename"].startswith(f"{tenant.slug}-projects-")
    assert result["filename"].endswith("Z.csv")
    expires = datetime.fromisoformat(result["expires_at"])
    expected = datetime.now(UTC) + timedelta(hours=job_settings.export_retention_hours)
    assert abs((expires - expected).total_seconds()) < 60
    assert ctx.progress_log[0].message == "0 of 3 rows"
    assert ctx.progress_log[-1].message == "3 of 3 rows"
    assert ctx.progress_log[-1].done == ctx.progress_log[-1].total == 3


async def test_export_of_an_empty_tenant_is_the_header(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    ctx = await export_context(factory, sync_engine, job_settings, tenant)
    result = ctx.run()
    assert result["rows"] == 0
    assert read_csv(files.export_path(job_settings, tenant.id, ctx.job_id)) == [HEADER]


async def test_export_applies_the_list_filter(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    await factory.project(tenant, key="WEB", name="Website")
    await factory.project(tenant, key="APP", name="Mobile web app", status="archived")
    await factory.project(tenant, key="OPS", name="Operations")
    await factory.project(tenant, key="PCT", name="Growth 50% plan")
    await factory.project(tenant, key="UND", name="Under_score")

    async def keys(params):
        ctx = await export_context(factory, sync_engine, job_settings, tenant, params)
        result = ctx.run()
        rows = read_csv(files.export_path(job_settings, tenant.id, ctx.job_id))
        assert result["rows"] == len(rows) - 1
        return [r[0] for r in rows[1:]]

    # q matches the name or the key, case-insensitively.
    assert await keys({"q": "WEB"}) == ["APP", "WEB"]
    assert await keys({"q": "ops"}) == ["OPS"]
    assert await keys({"status": "archived"}) == ["APP"]
    assert await keys({"q": "web", "status": "active"}) == ["WEB"]
    # LIKE wildcards in q are literal.
    assert await keys({"q": "50%"}) == ["PCT"]
    assert await keys({"q": "unde_"}) == []  # as a wildcard, _ would match "Under_score"
    assert await keys({"q": "r_s", "status": None}) == ["UND"]
    assert await keys({"q": "", "status": ""}) == ["APP", "OPS", "PCT", "UND", "WEB"]


async def test_bad_filter_fails_with_a_message(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    ctx = await export_context(factory, sync_engine, job_settings, tenant, {"status": "deleted"})
    with pytest.raises(JobFailed, match="active or archived"):
        ctx.run()


@pytest.mark.parametrize(
    ("name", "description", "name_cell", "description_cell"),
    [
        ('=HYPERLINK("http://x")', "+1+2", '\'=HYPERLINK("http://x")', "'+1+2"),
        ("-2+3", "@SUM(A1:A2)", "'-2+3", "'@SUM(A1:A2)"),
        ("'quoted", "\tTabbed", "''quoted", "'\tTabbed"),
        ("Plain", "\rCR first", "Plain", "'\rCR first"),
        ("a=b", "x-y", "a=b", "x-y"),
    ],
)
async def test_cells_that_a_spreadsheet_would_run_are_escaped(
    factory: Factory,
    sync_engine: Engine,
    job_settings: Settings,
    tenant,
    name,
    description,
    name_cell,
    description_cell,
):
    project = await factory.project(tenant, key="FX", name=name)
    async with factory.db.system_session() as s:
        project = await s.get(type(project), project.id)
        project.description = description
    ctx = await export_context(factory, sync_engine, job_settings, tenant)
    ctx.run()
    rows = read_csv(files.export_path(job_settings, tenant.id, ctx.job_id))
    assert rows[1][1:3] == [name_cell, description_cell]


async def test_cancel_mid_export_leaves_no_file(
    factory: Factory,
    sync_engine: Engine,
    job_settings: Settings,
    tenant,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)
    for n in range(7):
        await factory.project(tenant, key=f"K{n:02d}")
    ctx = await export_context(factory, sync_engine, job_settings, tenant)

    def cancel_after_second_chunk(ctx, progress):
        if progress.done == 4:
            ctx.request_cancel()

    ctx.on_progress = cancel_after_second_chunk
    with pytest.raises(JobCancelled):
        ctx.run()
    folder = files.export_path(job_settings, tenant.id, ctx.job_id).parent
    assert list(folder.iterdir()) == []  # neither the file nor a temp file
    assert [p.done for p in ctx.progress_log] == [0, 2, 4]


async def test_export_streams_in_chunks_and_checks_for_cancel_each_chunk(
    factory: Factory,
    sync_engine: Engine,
    job_settings: Settings,
    tenant,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 3)
    for n in range(7):
        await factory.project(tenant, key=f"K{n:02d}")
    ctx = await export_context(factory, sync_engine, job_settings, tenant)
    result = ctx.run()
    assert result["rows"] == 7
    assert [p.message for p in ctx.progress_log] == [
        "0 of 7 rows",
        "3 of 7 rows",
        "6 of 7 rows",
        "7 of 7 rows",
    ]
    rows = read_csv(files.export_path(job_settings, tenant.id, ctx.job_id))
    assert [r[0] for r in rows[1:]] == [f"K{n:02d}" for n in range(7)]


async def test_export_round_trips_through_import(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    await factory.project(tenant, key="ONE", name="=1+1", status="archived")
    await factory.project(tenant, key="TWO", name="'Quoted'")
    await factory.project(tenant, key="THREE", name='Multi\r\nline, "comma"')
    before = project_rows(sync_engine, tenant.id)
    ctx = await export_context(factory, sync_engine, job_settings, tenant)
    ctx.run()

    upload_id = uuid.uuid4()
    upload = files.upload_path(job_settings, tenant.id, upload_id)
    upload.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(files.export_path(job_settings, tenant.id, ctx.job_id), upload)
    params = {"upload_id": str(upload_id)}
    job_id = await make_job(factory.db, tenant.id, "import", params)
    imported = FakeJobContext(
        engine=sync_engine,
        settings=job_settings,
        tenant_id=tenant.id,
        job_id=job_id,
        kind="import",
        params=params,
    ).run()

    assert imported["rows"] == 3
    assert (imported["created"], imported["updated"], imported["unchanged"]) == (0, 0, 3)
    assert imported["failed"] == 0
    assert project_rows(sync_engine, tenant.id) == before


async def test_escaping_round_trips_and_the_dialect_is_rfc_4180():
    for value in ["=a", "+a", "-a", "@a", "\ta", "\ra", "'a", "''", "a", "", "'"]:
        escaped = csvformat.escape_cell(value)
        assert csvformat.unescape_cell(escaped) == value
    buffer = io.StringIO()
    csv.writer(buffer, csvformat.DIALECT).writerow(["a", "b"])
    assert buffer.getvalue() == "a,b\r\n"
