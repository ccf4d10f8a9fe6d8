"""The job runtime with a real worker on a real broker (CONSOLE_TEST_BROKER: filesystem|redis):
claim, progress, cancel, retry, failures, duplicate doorbells, worker death and fairness."""

from __future__ import annotations

import time
import uuid

import anyio
import pytest

from console.settings import Settings
from tests.factories import Factory
from tests.workers import handlers
from tests.workers.support import (
    enqueue_job,
    insert_job,
    job_row,
    request_cancel,
    ring,
    start_worker_process,
    stop_process,
    wait_for_job,
)
from workers.embedded import EmbeddedWorker

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tenant_id(worker_factory: Factory) -> uuid.UUID:
    return (await worker_factory.tenant()).id


async def test_a_job_runs_to_succeeded_with_progress(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    job_id = enqueue_job(worker_settings, tenant_id, "test.sleep", {"chunks": 40, "chunk_ms": 20})

    midway = wait_for_job(worker_settings, job_id, {"running"}, progress_above=0.0)
    assert 0 < midway.progress < 1
    assert midway.message.endswith("of 40 chunks")
    assert midway.started_at is not None
    assert midway.attempts == 1

    done = wait_for_job(worker_settings, job_id)
    assert done.status == "succeeded"
    assert done.progress == 1.0
    assert done.result == {"chunks": 40, "attempt": 1}
    assert done.finished_at >= done.started_at
    assert done.error is None
    assert handlers.CALLS[job_id] == 1


async def test_a_handler_works_in_its_tenants_scope(
    running_worker: EmbeddedWorker,
    worker_settings: Settings,
    worker_factory: Factory,
    tenant_id: uuid.UUID,
):
    other = await worker_factory.tenant()
    mine = await worker_factory.tenant()
    for _ in range(3):
        await worker_factory.project(mine)
    await worker_factory.project(other)

    job_id = enqueue_job(worker_settings, mine.id, "test.count")

    done = wait_for_job(worker_settings, job_id)
    assert done.status == "succeeded", done.error
    assert done.checkpoint == {"counted": done.result["projects"]}
    if worker_settings.database_url.startswith("postgresql"):
        assert done.result == {"projects": 3}  # row-level security: its tenant's rows only


async def test_cancelling_a_running_job_stops_it_and_records_who(
    running_worker: EmbeddedWorker,
    worker_settings: Settings,
    worker_factory: Factory,
    tenant_id: uuid.UUID,
):
    user = await worker_factory.user()
    job_id = enqueue_job(worker_settings, tenant_id, "test.sleep", {"chunks": 500, "chunk_ms": 20})
    wait_for_job(worker_settings, job_id, {"running"}, progress_above=0.0)

    asked = time.monotonic()
    assert request_cancel(worker_settings, job_id, by=user.id) == "running"
    row = wait_for_job(worker_settings, job_id, timeout=5, poll=0.005)
    latency = time.monotonic() - asked

    assert row.status == "cancelled"
    assert row.message == "Cancelled by Test User"
    assert row.cancel_requested_by_id == user.id
    assert row.finished_at is not None
    assert 0 < row.progress < 1
    ended, at = handlers.ENDED[job_id]
    assert ended == "JobCancelled"
    assert at - asked < latency + 0.05  # the handler had stopped when the row said so
    chunks = handlers.CHUNKS[job_id]
    await anyio.sleep(0.1)
    assert handlers.CHUNKS[job_id] == chunks < 500
    # The design target is 250 ms (bench/jobs.py measures it); generous here for loaded CI.
    assert latency < 1.5


async def test_a_job_cancelled_while_queued_never_starts(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    job_id, task_id = insert_job(worker_settings, tenant_id, "test.sleep", {"chunks": 5})
    assert request_cancel(worker_settings, job_id) == "queued"
    ring(worker_settings, job_id, task_id=task_id)  # the doorbell still arrives
    # A job enqueued after it finishing means the doorbell was consumed.
    later = enqueue_job(worker_settings, tenant_id, "test.sleep", {"chunks": 2})
    assert wait_for_job(worker_settings, later).status == "succeeded"

    row = job_row(worker_settings, job_id)
    assert row.status == "cancelled"
    assert row.started_at is None
    assert row.attempts == 0
    assert handlers.CALLS[job_id] == 0


async def test_a_duplicate_doorbell_for_a_finished_job_does_nothing(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    job_id = enqueue_job(worker_settings, tenant_id, "test.sleep", {"chunks": 2})
    first = wait_for_job(worker_settings, job_id)
    assert first.status == "succeeded"

    ring(worker_settings, job_id, task_id=first.broker_task_id)  # a redelivery
    ring(worker_settings, job_id)
    later = enqueue_job(worker_settings, tenant_id, "test.sleep", {"chunks": 2})
    wait_for_job(worker_settings, later)

    again = job_row(worker_settings, job_id)
    assert (again.status, again.attempts, again.finished_at) == (
        "succeeded",
        1,
        first.finished_at,
    )
    assert handlers.CALLS[job_id] == 1


async def test_a_transient_error_is_retried_with_backoff(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    job_id = enqueue_job(worker_settings, tenant_id, "test.transient", {"fail_times": 1})

    deadline = time.monotonic() + 10
    waiting = job_row(worker_settings, job_id)
    while not (waiting.status == "queued" and waiting.attempts == 1):
        assert time.monotonic() < deadline, waiting.status
        await anyio.sleep(0.005)
        waiting = job_row(worker_settings, job_id)
    assert waiting.status == "queued", waiting.message
    assert waiting.message.startswith("Retrying in")
    assert "the upstream service was busy" in waiting.message
    assert waiting.run_after is not None

    done = wait_for_job(worker_settings, job_id, timeout=15)
    assert done.status == "succeeded"
    assert done.attempts == 2
    assert done.result == {"attempt": 2}
    assert done.started_at < waiting.run_after <= done.finished_at


async def test_transient_errors_fail_the_job_after_max_attempts(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    # Attempts start at the maximum minus one: one retry, then the last attempt fails.
    job_id, task_id = insert_job(
        worker_settings,
        tenant_id,
        "test.transient",
        {"fail_times": 99},
        attempts=worker_settings.job_max_attempts - 1,
    )
    ring(worker_settings, job_id, task_id=task_id)

    row = wait_for_job(worker_settings, job_id)
    assert row.status == "failed"
    assert row.error == (
        f"The job failed {worker_settings.job_max_attempts} times because of a temporary "
        "problem: the upstream service was busy."
    )


async def test_job_failed_records_its_message_and_result(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    job_id = enqueue_job(worker_settings, tenant_id, "test.fail", {"message": "Bad header."})

    row = wait_for_job(worker_settings, job_id)
    assert (row.status, row.error, row.message) == ("failed", "Bad header.", "Bad header.")
    assert row.result == {"rows": 0}
    assert row.attempts == 1  # no retry
    assert handlers.CALLS[job_id] == 1


async def test_an_unexpected_exception_fails_with_a_generic_message(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    job_id = enqueue_job(worker_settings, tenant_id, "test.crash")

    row = wait_for_job(worker_settings, job_id)
    assert row.status == "failed"
    assert row.error == f"The job failed unexpectedly (reference {job_id})."
    assert "secret" not in (row.message + row.error)
    assert "Traceback" not in (row.message + row.error)
    assert handlers.CALLS[job_id] == 1


async def test_an_unknown_kind_fails_with_a_clear_message(
    running_worker: EmbeddedWorker, worker_settings: Settings, tenant_id: uuid.UUID
):
    job_id = enqueue_job(worker_settings, tenant_id, "test.unheard-of")

    row = wait_for_job(worker_settings, job_id)
    assert row.status == "failed"
    assert row.error == "This kind of job ('test.unheard-of') is not known to the worker."


async def test_a_killed_worker_process_s_job_is_requeued_and_finished_by_another(
    running_worker: EmbeddedWorker,
    worker_settings: Settings,
    tenant_id: uuid.UUID,
    tmp_path,
):
    # The in-process worker is busy with a long job in both slots, so the subprocess gets it.
    blockers = [
        enqueue_job(worker_settings, tenant_id, "test.sleep", {"chunks": 400, "chunk_ms": 20})
        for _ in range(2)
    ]
    for blocker in blockers:
        wait_for_job(worker_settings, blocker, {"running"})
    process = start_worker_process(worker_settings, log_path=tmp_path / "worker.log")
    try:
        job_id = enqueue_job(
            worker_settings, tenant_id, "test.sleep", {"chunks": 60, "chunk_ms": 20}
        )
        running = wait_for_job(worker_settings, job_id, {"running"}, progress_above=0.0, timeout=30)
        assert running.attempts == 1
        for blocker in blockers:
            request_cancel(worker_settings, blocker)
        process.kill()  # kill -9: no chance to clean up
        process.wait(5)
        killed_at = time.monotonic()

        done = wait_for_job(worker_settings, job_id, timeout=20)
        assert done.status == "succeeded", done.error
        assert done.attempts == 2
        assert handlers.CALLS[job_id] == 1  # the second attempt ran here
        # Re-queued once the 3 s lease expired, and run again promptly.
        assert time.monotonic() - killed_at < 2 * worker_settings.job_lease_seconds + 6
    finally:
        stop_process(process)
        for blocker in blockers:
            request_cancel(worker_settings, blocker)


async def test_a_burst_from_one_tenant_does_not_starve_another(
    running_worker: EmbeddedWorker, worker_settings: Settings, worker_factory: Factory
):
    tenant_a = (await worker_factory.tenant()).id
    tenant_b = (await worker_factory.tenant()).id
    params = {"chunks": 10, "chunk_ms": 20}
    # The rows first, then the doorbells: the burst is queued before any slot frees up, whatever
    # the speed of this machine.
    a_rows = [insert_job(worker_settings, tenant_a, "test.sleep", params) for _ in range(12)]
    b_rows = [insert_job(worker_settings, tenant_b, "test.sleep", params) for _ in range(2)]
    for job_id, task_id in a_rows + b_rows:
        ring(worker_settings, job_id, task_id=task_id)
    a_jobs, b_jobs = [job_id for job_id, _ in a_rows], [job_id for job_id, _ in b_rows]

    rows = [wait_for_job(worker_settings, job_id, timeout=30) for job_id in a_jobs + b_jobs]
    assert {row.status for row in rows} == {"succeeded"}
    order = [row.id for row in sorted(rows, key=lambda row: row.started_at)]
    first_b = min(order.index(job_id) for job_id in b_jobs)
    # Two slots: B's first job takes the first or second free slot, not the thirteenth.
    assert first_b <= 2, ["A" if job_id in a_jobs else "B" for job_id in order]
    # And B's second job does not wait for A's burst either.
    assert max(order.index(job_id) for job_id in b_jobs) <= 5
