"""Test-only job kinds, registered in the runtime's HANDLERS when this module is imported (the
worker tests import it; `start_worker_process` preloads it in the subprocess)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from console.projects.models import Project
from workers.context import HANDLERS, JobContext, JobFailed, TransientJobError

CALLS: Counter[uuid.UUID] = Counter()
# How each job's last run ended ("done" or the exception's class name) and when (monotonic).
ENDED: dict[uuid.UUID, tuple[str, float]] = {}
CHUNKS: dict[uuid.UUID, int] = {}
_lock = threading.Lock()


@HANDLERS.register("test.sleep")
def sleep_in_chunks(ctx: JobContext) -> dict[str, Any]:
    """`chunks` chunks of `chunk_ms` ms, checking for cancel and reporting progress each."""
    chunks = int(ctx.params.get("chunks", 10))
    pause = float(ctx.params.get("chunk_ms", 20)) / 1000
    with _lock:
        CALLS[ctx.job_id] += 1
    start = int((ctx.checkpoint or {}).get("done", 0))
    try:
        for done in range(start + 1, chunks + 1):
            ctx.check_cancelled()
            time.sleep(pause)
            CHUNKS[ctx.job_id] = done
            ctx.progress(done, chunks, f"{done:,} of {chunks:,} chunks")
    except BaseException as exc:
        ENDED[ctx.job_id] = (type(exc).__name__, time.monotonic())
        raise
    ENDED[ctx.job_id] = ("done", time.monotonic())
    return {"chunks": chunks, "attempt": ctx.attempt}


@HANDLERS.register("test.fail")
def fail(ctx: JobContext) -> dict[str, Any]:
    with _lock:
        CALLS[ctx.job_id] += 1
    raise JobFailed(ctx.params.get("message", "The file has no 'key' column."), result={"rows": 0})


@HANDLERS.register("test.transient")
def transient(ctx: JobContext) -> dict[str, Any]:
    with _lock:
        CALLS[ctx.job_id] += 1
    if ctx.attempt <= int(ctx.params.get("fail_times", 1)):
        raise TransientJobError("the upstream service was busy")
    return {"attempt": ctx.attempt}


@HANDLERS.register("test.crash")
def crash(ctx: JobContext) -> dict[str, Any]:
    with _lock:
        CALLS[ctx.job_id] += 1
    raise RuntimeError("boom: secret internals in /srv/console/handler.py line 3")


@HANDLERS.register("test.count")
def count_projects(ctx: JobContext) -> dict[str, Any]:
    """Reads in the tenant's scope and checkpoints in the same transaction."""
    with ctx.tenant_session() as session:
        count = session.execute(select(func.count()).select_from(Project)).scalar_one()
        ctx.save_checkpoint(session, {"counted": count})
    return {"projects": count}
