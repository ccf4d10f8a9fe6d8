"""kill -9 of a worker in the middle of a real import: the job is re-run from its checkpoint by
another worker, never left running, and the tenant ends up with each key exactly once."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from console.jobs import files
from console.projects.models import Project
from console.settings import Settings
from tests.factories import Factory
from tests.workers.support import (
    engine_for,
    enqueue_job,
    running_worker,
    start_worker_process,
    stop_process,
    wait_for_job,
)
from workers import db as worker_db

pytestmark = pytest.mark.anyio

ROWS = 40_000


def _write_upload(settings: Settings, tenant_id: uuid.UUID) -> uuid.UUID:
    upload_id = uuid.uuid4()
    path = files.upload_path(settings, tenant_id, upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["key,name,description"] + [f"K{n:06d},Project {n},Row {n}" for n in range(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return upload_id


def _keys(settings: Settings, tenant_id: uuid.UUID) -> tuple[int, int]:
    """(projects, distinct keys) of the tenant."""
    with worker_db.system_session(engine_for(settings)) as session:
        row = session.execute(
            select(func.count(), func.count(func.distinct(Project.key))).where(
                Project.tenant_id == tenant_id
            )
        ).one()
    return row[0], row[1]


async def test_an_import_killed_mid_run_resumes_without_duplicates(
    worker_settings: Settings, worker_factory: Factory, tmp_path
):
    tenant_id = (await worker_factory.tenant()).id
    upload_id = _write_upload(worker_settings, tenant_id)
    process = start_worker_process(worker_settings, log_path=tmp_path / "worker.log")
    try:
        job_id = enqueue_job(worker_settings, tenant_id, "import", {"upload_id": str(upload_id)})
        # Some chunks committed (with their checkpoint), the rest not yet.
        wait_for_job(worker_settings, job_id, {"running"}, progress_above=0.15, timeout=60)
        process.kill()  # kill -9
        process.wait(5)
        killed_at = time.monotonic()
    finally:
        stop_process(process)
    written, _ = _keys(worker_settings, tenant_id)
    assert 0 < written < ROWS, "the kill should land mid-import"

    with running_worker(worker_settings):
        done = wait_for_job(worker_settings, job_id, timeout=90)

    assert done.status == "succeeded", done.error
    assert done.attempts == 2
    assert time.monotonic() - killed_at < 90
    assert done.result["rows"] == ROWS
    # Resumed at the checkpoint: a restart from line 1 would count the first rows "unchanged".
    assert done.result["created"] == ROWS
    assert done.result["failed"] == 0
    assert _keys(worker_settings, tenant_id) == (ROWS, ROWS)
