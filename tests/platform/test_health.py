"""GET /api/v1/platform/health: operators see every part; a worker's ping is counted."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from console.platform import health
from tests.backends import DatabaseUnderTest
from tests.conftest import as_cookie, as_token
from tests.factories import Factory

pytestmark = pytest.mark.anyio
URL = "/api/v1/platform/health"


async def test_operator_gets_every_part(app: FastAPI, client: AsyncClient, factory: Factory):
    operator = await factory.actor(None, None, operator=True)
    tenant = await factory.tenant()
    await factory.member(tenant, "admin")

    response = await client.get(URL, headers=as_cookie(operator, app))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["database"]["latency_ms"] >= 0
    assert body["broker"]["ok"] is True
    # No worker runs for the session app: reported, not an error.
    assert body["workers"]["count"] == len(body["workers"]["names"])
    assert body["queue"]["ok"] is True
    assert body["queue"]["queued"] >= 0
    assert body["queue"]["running"] >= 0
    assert body["sessions"]["total"] >= body["sessions"]["signed_in"] >= 0
    assert body["status"] in ("ok", "degraded")
    assert body["process"]


async def test_queue_depth_counts_queued_rows(app: FastAPI, client: AsyncClient, factory: Factory):
    operator = await factory.actor(None, None, operator=True)
    before = (await client.get(URL, headers=as_cookie(operator, app))).json()["queue"]
    tenant = await factory.tenant()
    from console.jobs.models import Job

    async with factory.db.system_session() as s:
        s.add(Job(tenant_id=tenant.id, kind="export", params={}))
    after = (await client.get(URL, headers=as_cookie(operator, app))).json()["queue"]
    assert after["queued"] == before["queued"] + 1
    assert after["oldest_queued_age_seconds"] is not None


@pytest.mark.parametrize("role", ["admin", "viewer"])
async def test_non_operators_are_refused(
    app: FastAPI, client: AsyncClient, factory: Factory, role: str
):
    tenant = await factory.tenant()
    actor = await factory.actor(tenant, role)
    assert (await client.get(URL, headers=as_cookie(actor, app))).status_code == 403
    assert (await client.get(URL, headers=as_token(actor))).status_code == 403
    assert (await client.get(URL)).status_code == 401


async def test_a_running_worker_answers_the_ping(test_database: DatabaseUnderTest, tmp_path: Path):
    from tests.workers.support import start_worker_process, stop_process, worker_settings

    settings = worker_settings(test_database, tmp_path)
    nobody = await health.workers_health(settings)
    assert (nobody.ok, nobody.count, nobody.names) == (False, 0, [])
    # A worker process of its own: an in-process worker started after another one stopped in
    # this process runs jobs but no longer answers remote control.
    process = start_worker_process(settings, log_path=tmp_path / "worker.log")
    try:
        deadline = anyio.current_time() + 30
        while True:
            health._workers_cache.clear()
            answered = await health.workers_health(settings)
            if answered.ok or anyio.current_time() > deadline:
                break
            await anyio.sleep(0.5)
    finally:
        stop_process(process)
    assert answered.ok
    assert answered.count == 1
    assert len(answered.names) == 1
