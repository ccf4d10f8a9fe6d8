"""The import handler: validates the whole file first (a bad file changes nothing), upserts by key
idempotently in checkpointed chunks (a crash resumes without duplicates), reports row errors with
the line numbers a spreadsheet shows, and never touches another tenant."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, select

from console.audit.models import AuditEvent
from console.jobs import files
from console.settings import Settings
from tests.factories import Factory
from tests.jobs.support import (
    FakeJobContext,
    SimulatedCrash,
    job_settings_fixture,  # noqa: F401 - fixture
    make_job,
    project_count,
    project_rows,
    read_csv,
    saved_checkpoint,
    sync_engine_fixture,  # noqa: F401 - fixture
)
from workers import db as worker_db
from workers.context import JobCancelled, JobFailed
from workers.tasks import csvformat, imports

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tenant(factory: Factory):
    return await factory.tenant()


def write_upload(settings: Settings, tenant_id: uuid.UUID, content: bytes | str) -> uuid.UUID:
    upload_id = uuid.uuid4()
    path = files.upload_path(settings, tenant_id, upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return upload_id


async def import_context(
    factory: Factory,
    engine: Engine,
    settings: Settings,
    tenant,
    content: bytes | str | None = None,
    *,
    upload_id: uuid.UUID | None = None,
    created_by: uuid.UUID | None = None,
) -> FakeJobContext:
    if upload_id is None:
        assert content is not None
        upload_id = write_upload(settings, tenant.id, content)
    params = {"upload_id": str(upload_id)}
    job_id = await make_job(factory.db, tenant.id, "import", params, created_by)
    return FakeJobContext(
        engine=engine,
        settings=settings,
        tenant_id=tenant.id,
        job_id=job_id,
        kind="import",
        params=params,
    )


def counts(result) -> tuple[int, int, int, int]:
    return result["created"], result["updated"], result["unchanged"], result["failed"]


def audit_events(engine: Engine, tenant_id: uuid.UUID, job_id: uuid.UUID) -> list[AuditEvent]:
    with worker_db.system_session(engine) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == tenant_id,
                    AuditEvent.action == "projects.imported",
                    AuditEvent.target_id == str(job_id),
                )
            )
        )


async def test_creates_updates_and_leaves_unchanged_rows(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    await factory.project(tenant, key="SAME", name="Same")
    await factory.project(tenant, key="CHANGE", name="Old name")
    before = project_rows(sync_engine, tenant.id)
    user = await factory.user()
    ctx = await import_context(
        factory,
        sync_engine,
        job_settings,
        tenant,
        "key,name,description,status\n"
        "SAME,Same,,active\n"
        "change,New name,,active\n"
        "NEW,Brand new,Details,archived\n",
        created_by=user.id,
    )

    result = ctx.run()

    assert counts(result) == (1, 1, 1, 0)
    assert result["rows"] == 3
    assert result["file"] is None
    assert result["errors_preview"] == []
    after = project_rows(sync_engine, tenant.id)
    assert after["SAME"] == before["SAME"]
    assert after["CHANGE"]["name"] == "New name"
    assert after["CHANGE"]["version"] == before["CHANGE"]["version"] + 1
    assert after["CHANGE"]["updated_at"] > before["CHANGE"]["updated_at"]
    assert after["CHANGE"]["created_at"] == before["CHANGE"]["created_at"]
    assert after["CHANGE"]["id"] == before["CHANGE"]["id"]
    new = after["NEW"]
    assert (new["name"], new["description"], new["status"], new["version"]) == (
        "Brand new",
        "Details",
        "archived",
        1,
    )
    assert new["created_by_id"] == user.id
    assert not files.report_path(job_settings, tenant.id, ctx.job_id).exists()
    assert ctx.progress_log[-1].message == "3 of 3 rows"
    assert saved_checkpoint(sync_engine, ctx.job_id) == {
        "line": 4,
        "rows": 3,
        "done": True,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
    }
    [event] = audit_events(sync_engine, tenant.id, ctx.job_id)
    assert event.actor_id == user.id
    assert event.actor_label == user.email
    assert event.target_type == "job"
    assert event.data == {"rows": 3, "created": 1, "updated": 1, "unchanged": 1, "failed": 0}


async def test_importing_the_same_file_again_changes_nothing(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    content = "key,name,description\nA1,First,one\nA2,Second,two\nA3,Third,\n"
    first = await import_context(factory, sync_engine, job_settings, tenant, content)
    assert counts(first.run()) == (3, 0, 0, 0)
    before = project_rows(sync_engine, tenant.id)

    again = await import_context(factory, sync_engine, job_settings, tenant, content)
    assert counts(again.run()) == (0, 0, 3, 0)
    assert project_rows(sync_engine, tenant.id) == before


async def test_columns_the_file_lacks_keep_their_values(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    await factory.project(tenant, key="KEEP", name="Keep", status="archived")
    async with factory.db.system_session() as s:
        from console.projects.models import Project

        project = await s.scalar(
            select(Project).where(Project.tenant_id == tenant.id, Project.key == "KEEP")
        )
        project.description = "A description"
    ctx = await import_context(
        factory, sync_engine, job_settings, tenant, "name,key\nRenamed,keep\nFresh,NEWONE\n"
    )
    assert counts(ctx.run()) == (1, 1, 0, 0)
    rows = project_rows(sync_engine, tenant.id)
    assert (rows["KEEP"]["name"], rows["KEEP"]["description"], rows["KEEP"]["status"]) == (
        "Renamed",
        "A description",
        "archived",
    )
    assert (rows["NEWONE"]["description"], rows["NEWONE"]["status"]) == ("", "active")


async def test_values_are_normalised_like_the_api_does(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    ctx = await import_context(
        factory,
        sync_engine,
        job_settings,
        tenant,
        " Key , NAME ,Status,Description\n"
        "  web-1 ,  Website  , Archived ,'=1+1\n"
        "api_2,'+plus,,'plain quote\n",
    )
    assert counts(ctx.run()) == (2, 0, 0, 0)
    rows = project_rows(sync_engine, tenant.id)
    assert (rows["WEB-1"]["name"], rows["WEB-1"]["status"]) == ("Website", "archived")
    assert rows["WEB-1"]["description"] == "=1+1"  # the export's escape is removed
    assert rows["API_2"]["name"] == "+plus"
    assert rows["API_2"]["status"] == "active"
    assert rows["API_2"]["description"] == "'plain quote"  # not an escape: kept


async def test_row_errors_are_reported_with_spreadsheet_line_numbers(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    content = (
        "key,name,description,status\n"  # 1
        "GOOD1,Fine,,\n"  # 2
        "1BAD,Starts with a digit,,\n"  # 3
        "NONAME,  ,,\n"  # 4
        'MULTI,"Two\nlines",,\n'  # 5 (one record on two physical lines)
        "LONG," + "x" * 201 + ",,\n"  # 6
        "STAT,Status,,deleted\n"  # 7
        "\n"  # 8 (blank: skipped, still counted by a spreadsheet)
        "good1,Duplicate of line 2,,\n"  # 9
        ",No key,,\n"  # 10
        "WIDE,Too,many,active,cells,here\n"  # 11
        "DESC,Description," + "d" * 10_001 + ",\n"  # 12
        "GOOD2,Also fine,,archived\n"  # 13
    )
    ctx = await import_context(factory, sync_engine, job_settings, tenant, content)

    result = ctx.run()

    assert result["rows"] == 11
    assert counts(result) == (3, 0, 0, 8)
    assert set(project_rows(sync_engine, tenant.id)) == {"GOOD1", "MULTI", "GOOD2"}
    preview = {(e["line"], e["key"]): e["error"] for e in result["errors_preview"]}
    assert list(preview) == [
        (3, "1BAD"),
        (4, "NONAME"),
        (6, "LONG"),
        (7, "STAT"),
        (9, "GOOD1"),
        (10, ""),
        (11, "WIDE"),
        (12, "DESC"),
    ]
    assert "start with a letter" in preview[(3, "1BAD")]
    assert preview[(4, "NONAME")] == "Name is missing."
    assert preview[(6, "LONG")] == "Name is longer than 200 characters."
    assert preview[(7, "STAT")] == 'Status must be active or archived, not "deleted".'
    assert "also on line 2" in preview[(9, "GOOD1")]
    assert preview[(10, "")] == "Key is missing."
    assert "6 cells" in preview[(11, "WIDE")]
    assert preview[(12, "DESC")] == "Description is longer than 10,000 characters."
    assert result["file"] == "report"
    assert result["report_filename"].endswith("-report.csv")
    report_file = files.report_path(job_settings, tenant.id, ctx.job_id)
    report = read_csv(report_file)
    assert report[0] == ["line", "key", "error"]
    assert [(int(line), key) for line, key, _ in report[1:]] == list(preview)
    [event] = audit_events(sync_engine, tenant.id, ctx.job_id)
    assert event.data == {"rows": 11, "created": 3, "updated": 0, "unchanged": 0, "failed": 8}


async def test_report_cells_are_formula_safe(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    ctx = await import_context(factory, sync_engine, job_settings, tenant, 'key,name\n"=cmd()",x\n')
    result = ctx.run()
    assert result["errors_preview"][0]["key"] == "=cmd()"
    report = files.report_path(job_settings, tenant.id, ctx.job_id).read_text("utf-8")
    assert "'=cmd()" in report


async def test_preview_holds_the_first_hundred_errors(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    content = "key,name\n" + "".join(f"K{n},\n" for n in range(150))
    ctx = await import_context(factory, sync_engine, job_settings, tenant, content)
    result = ctx.run()
    assert result["failed"] == 150
    assert len(result["errors_preview"]) == 100
    assert result["errors_preview"][-1]["line"] == 101
    report = files.report_path(job_settings, tenant.id, ctx.job_id).read_text("utf-8")
    assert len(report.splitlines()) == 151


async def test_a_crash_resumes_at_the_checkpoint_without_duplicates(
    factory: Factory,
    sync_engine: Engine,
    job_settings: Settings,
    tenant,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    await factory.project(tenant, key="P3", name="Old")
    content = "key,name\n" + "".join(f"P{n},Project {n}\n" for n in range(1, 8)) + "BAD KEY,x\n"
    ctx = await import_context(factory, sync_engine, job_settings, tenant, content)

    def die_after_second_chunk(ctx, progress):
        if progress.total and progress.done == 4:
            raise SimulatedCrash

    ctx.on_progress = die_after_second_chunk
    with pytest.raises(SimulatedCrash):
        ctx.run()
    # Two chunks committed with their checkpoint: P1..P4 (P3 updated).
    checkpoint = saved_checkpoint(sync_engine, ctx.job_id)
    assert checkpoint == {
        "line": 5,
        "rows": 4,
        "done": False,
        "created": 3,
        "updated": 1,
        "unchanged": 0,
    }
    assert set(project_rows(sync_engine, tenant.id)) == {"P1", "P2", "P3", "P4"}
    assert audit_events(sync_engine, tenant.id, ctx.job_id) == []

    retry = FakeJobContext(
        engine=sync_engine,
        settings=job_settings,
        tenant_id=tenant.id,
        job_id=ctx.job_id,
        kind="import",
        params=ctx.params,
        checkpoint=checkpoint,
        attempt=2,
    )
    result = retry.run()

    assert result["rows"] == 8
    assert counts(result) == (6, 1, 0, 1)
    rows = project_rows(sync_engine, tenant.id)
    assert set(rows) == {f"P{n}" for n in range(1, 8)}
    assert project_count(sync_engine, tenant.id) == 7
    assert rows["P3"]["version"] == 2  # updated once, not again on resume
    assert len(audit_events(sync_engine, tenant.id, ctx.job_id)) == 1
    # A third attempt after the last chunk committed writes nothing more.
    again = FakeJobContext(
        engine=sync_engine,
        settings=job_settings,
        tenant_id=tenant.id,
        job_id=ctx.job_id,
        kind="import",
        params=ctx.params,
        checkpoint=saved_checkpoint(sync_engine, ctx.job_id),
        attempt=3,
    )
    assert again.run() == result
    assert len(audit_events(sync_engine, tenant.id, ctx.job_id)) == 1
    assert project_rows(sync_engine, tenant.id) == rows


async def test_cancel_between_chunks_keeps_whole_chunks_and_a_retry_finishes(
    factory: Factory,
    sync_engine: Engine,
    job_settings: Settings,
    tenant,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    content = "key,name\n" + "".join(f"C{n},Project {n}\n" for n in range(1, 7))
    ctx = await import_context(factory, sync_engine, job_settings, tenant, content)

    def cancel_after_first_chunk(ctx, progress):
        if progress.total and progress.done == 2:
            ctx.request_cancel()

    ctx.on_progress = cancel_after_first_chunk
    with pytest.raises(JobCancelled):
        ctx.run()
    assert set(project_rows(sync_engine, tenant.id)) == {"C1", "C2"}

    retry = await import_context(
        factory, sync_engine, job_settings, tenant, upload_id=uuid.UUID(ctx.params["upload_id"])
    )
    assert counts(retry.run()) == (4, 0, 2, 0)
    assert project_count(sync_engine, tenant.id) == 6


async def test_another_tenants_projects_are_never_touched(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    other = await factory.tenant()
    await factory.project(other, key="SHARED", name="Other tenant's")
    before = project_rows(sync_engine, other.id)
    ctx = await import_context(
        factory, sync_engine, job_settings, tenant, "key,name\nSHARED,Mine\n"
    )
    assert counts(ctx.run()) == (1, 0, 0, 0)
    assert project_rows(sync_engine, other.id) == before
    assert project_rows(sync_engine, tenant.id)["SHARED"]["name"] == "Mine"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"\xef\xbb\xbfkey,name\nBOM,With a BOM\n", {"BOM": "With a BOM"}, id="bom"),
        pytest.param(b"key,name\r\nCRLF,Windows\r\n", {"CRLF": "Windows"}, id="crlf"),
        pytest.param(
            b'key,name,description\r\nQQ,"Quoted, ""name""","Line 1\r\nLine 2\nLine 3"\r\n',
            {"QQ": 'Quoted, "name"'},
            id="quoted-newlines",
        ),
        pytest.param(b"key,name\nNOEOL,No final newline", {"NOEOL": "No final newline"}, id="eol"),
        pytest.param(
            "key,name\nUNI,Ünïcødé 名前 🚀\n".encode(), {"UNI": "Ünïcødé 名前 🚀"}, id="utf8"
        ),
        pytest.param(
            b"\n\nkey,name,created_at,updated_at\n\nBLANKS,Blank rows around,x,y\n,,,\n\n",
            {"BLANKS": "Blank rows around"},
            id="blank-rows-and-ignored-columns",
        ),
    ],
)
async def test_files_that_are_fine(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant, content, expected
):
    ctx = await import_context(factory, sync_engine, job_settings, tenant, content)
    result = ctx.run()
    assert result["failed"] == 0, result["errors_preview"]
    rows = project_rows(sync_engine, tenant.id)
    assert {key: row["name"] for key, row in rows.items()} == expected
    if "QQ" in rows:
        assert rows["QQ"]["description"] == "Line 1\r\nLine 2\nLine 3"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "The file is empty.", id="empty"),
        pytest.param(b"\n \r\n,,\n", "The file is empty.", id="blank-lines"),
        pytest.param(b"\xef\xbb\xbf", "The file is empty.", id="bom-only"),
        pytest.param(b"key,name\n", "The file has a header but no rows.", id="header-only"),
        pytest.param(b"key,name\n\n,\n", "The file has a header but no rows.", id="header-blank"),
        pytest.param(b"key,title\nK1,x\n", "no name column", id="missing-name"),
        pytest.param(b"name\nx\n", "no key column", id="missing-key"),
        pytest.param(b"KEY1,Website\nKEY2,App\n", "no key and no name column", id="no-header"),
        pytest.param(
            b"key,name,owner,budget\nK1,x,y,z\n",
            'Unknown columns "owner", "budget"',
            id="unknown-columns",
        ),
        pytest.param(b"key,,name\nK1,,x\n", "column 2 has no name", id="unnamed-column"),
        pytest.param(b"key,name,Name\nK1,x,y\n", "names name more than once", id="dup-column"),
        pytest.param(b"key;name\nK1;x\n", "semicolons", id="semicolons"),
        pytest.param(
            "key,name\nOK,fine\nLAT,Caf\xe9\n".encode("latin-1"),
            "not UTF-8 text: line 3",
            id="latin-1",
        ),
        pytest.param("key,name\nK,x\n".encode("utf-16"), "UTF-16 text, not UTF-8", id="utf-16"),
        pytest.param(
            b"key,name\nK1,a\x00b\n",
            "This is not a CSV file: it contains NUL bytes (line 2)",
            id="nul",
        ),
        pytest.param(
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "This is not a CSV file: it looks like a PNG",
            id="png",
        ),
        pytest.param(
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
            "Excel workbook (.xlsx)",
            id="xlsx",
        ),
        pytest.param(bytes(range(256)) * 4, "This is not a CSV file", id="binary"),
        pytest.param(
            b'key,name\nK1,"never closed\nK2,x\n',
            "This is not a CSV file we can read",
            id="unclosed-quote",
        ),
        pytest.param(b'key,name\nK1,"a"b\n', "This is not a CSV file we can read", id="bad-quote"),
    ],
)
async def test_bad_files_fail_with_a_clear_message_and_change_nothing(
    factory: Factory,
    sync_engine: Engine,
    job_settings: Settings,
    tenant,
    content: bytes,
    message: str,
):
    await factory.project(tenant, key="K1", name="Existing")
    before = project_rows(sync_engine, tenant.id)
    ctx = await import_context(factory, sync_engine, job_settings, tenant, content)
    with pytest.raises(JobFailed) as failed:
        ctx.run()
    assert message in failed.value.message
    assert project_rows(sync_engine, tenant.id) == before
    assert saved_checkpoint(sync_engine, ctx.job_id) is None
    assert not files.report_path(job_settings, tenant.id, ctx.job_id).exists()
    assert audit_events(sync_engine, tenant.id, ctx.job_id) == []


async def test_too_many_rows_fail_before_anything_is_written(
    factory: Factory,
    sync_engine: Engine,
    job_settings: Settings,
    tenant,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(csvformat, "MAX_IMPORT_ROWS", 5)
    content = "key,name\n" + "".join(f"R{n},Row {n}\n" for n in range(6))
    ctx = await import_context(factory, sync_engine, job_settings, tenant, content)
    with pytest.raises(JobFailed, match="more than 5 rows"):
        ctx.run()
    assert project_count(sync_engine, tenant.id) == 0

    exactly = await import_context(
        factory, sync_engine, job_settings, tenant, "key,name\n" + "R1,x\n" * 1
    )
    assert exactly.run()["created"] == 1


async def test_the_real_row_limit_is_200_000():
    assert csvformat.MAX_IMPORT_ROWS == 200_000


async def test_a_missing_upload_fails(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    ctx = await import_context(factory, sync_engine, job_settings, tenant, upload_id=uuid.uuid4())
    with pytest.raises(JobFailed, match=r"^The uploaded file is gone; upload it again\.$"):
        ctx.run()


async def test_an_upload_of_another_tenant_is_not_found(
    factory: Factory, sync_engine: Engine, job_settings: Settings, tenant
):
    other = await factory.tenant()
    upload_id = write_upload(job_settings, other.id, "key,name\nX1,x\n")
    ctx = await import_context(factory, sync_engine, job_settings, tenant, upload_id=upload_id)
    with pytest.raises(JobFailed, match="gone"):
        ctx.run()
