"""Jobs API: create export/import (enqueued only after commit), list, get, cancel, retry —
role rules, tenant isolation and problem+json errors."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update

from console.audit.models import AuditEvent
from console.db import utcnow
from console.jobs import service as job_service
from console.jobs.models import Job
from tests.conftest import as_token
from tests.factories import Factory
from tests.jobs.conftest import dispatcher_of
from tests.jobs.fakes import RecordingDispatcher, make_job

pytestmark = pytest.mark.anyio

API = "/api/v1/tenants"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    return body


async def row(factory: Factory, job_id: str | uuid.UUID) -> Job:
    async with factory.db.system_session() as s:
        job = await s.get(Job, uuid.UUID(str(job_id)))
        assert job is not None
        return job


async def actions(factory: Factory, tenant_id: uuid.UUID, target: str) -> list[str]:
    async with factory.db.system_session() as s:
        return list(
            await s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.tenant_id == tenant_id, AuditEvent.target_id == target
                )
            )
        )


async def test_member_exports_and_the_doorbell_carries_the_rows_task_id(
    client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    response = await client.post(
        f"{API}/{tenant.slug}/jobs/exports",
        json={"q": "alpha", "status": "active"},
        headers=as_token(member),
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["kind"] == "export"
    assert job["status"] == "queued"
    assert job["params"] == {"q": "alpha", "status": "active"}
    assert job["created_by"]["id"] == str(member.id)
    assert job["can_cancel"] is True
    assert job["can_retry"] is False
    assert job["can_download"] is False
    assert job["retry_of"] is None

    stored = await row(factory, job["id"])
    assert stored.created_by_id == member.id
    assert stored.broker_task_id
    [bell] = recorder.for_job(job["id"])
    assert bell.task_id == stored.broker_task_id
    assert await actions(factory, tenant.id, job["id"]) == ["job.export_requested"]


async def test_the_doorbell_rings_only_after_the_row_is_committed(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    seen: list[str | None] = []

    class Checking(RecordingDispatcher):
        async def dispatch(self, job_id, *, task_id, countdown=0):
            # A fresh transaction sees the row already: the request's one has committed.
            async with factory.db.system_session() as s:
                seen.append(await s.scalar(select(Job.broker_task_id).where(Job.id == job_id)))
            await super().dispatch(job_id, task_id=task_id, countdown=countdown)

    checking = Checking()
    with dispatcher_of(app, checking):
        response = await client.post(
            f"{API}/{tenant.slug}/jobs/exports", json={}, headers=as_token(member)
        )
    assert response.status_code == 202, response.text
    assert seen == [checking.sent[0].task_id]


async def test_a_request_that_fails_after_creating_the_row_enqueues_nothing(
    app: FastAPI,
    client: AsyncClient,
    factory: Factory,
    recorder: RecordingDispatcher,
    monkeypatch: pytest.MonkeyPatch,
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")

    def broken_audit(*_args, **_kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(job_service, "record", broken_audit)
    response = await client.post(
        f"{API}/{tenant.slug}/jobs/exports", json={}, headers=as_token(member)
    )
    problem(response, 500)
    assert recorder.sent == []
    async with factory.db.system_session() as s:
        assert (await s.scalars(select(Job.id).where(Job.tenant_id == tenant.id))).all() == []


async def test_list_is_newest_first_with_filters_and_keyset_pages(
    client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    made = []
    for status, kind in [
        ("succeeded", "export"),
        ("failed", "import"),
        ("queued", "export"),
        ("running", "import"),
        ("cancelled", "export"),
    ]:
        made.append(await make_job(factory.db, tenant.id, kind=kind, status=status))
    url = f"{API}/{tenant.slug}/jobs"

    whole = (await client.get(url, headers=as_token(viewer))).json()
    assert [j["id"] for j in whole["items"]] == [str(j.id) for j in reversed(made)]
    assert whole["next_cursor"] is None

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params, headers=as_token(viewer))).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [j["id"] for j in whole["items"]]

    exports = (await client.get(url, params={"kind": "export"}, headers=as_token(viewer))).json()
    assert {j["kind"] for j in exports["items"]} == {"export"}
    assert len(exports["items"]) == 3
    failed = (await client.get(url, params={"status": "failed"}, headers=as_token(viewer))).json()
    assert [j["id"] for j in failed["items"]] == [str(made[1].id)]
    assert failed["items"][0]["error"] == "It broke."

    problem(await client.get(url, params={"cursor": "nope"}, headers=as_token(viewer)), 422)
    problem(await client.get(url, params={"status": "lost"}, headers=as_token(viewer)), 422)


async def test_viewer_reads_but_cannot_create_cancel_or_retry(
    client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    queued = await make_job(factory.db, tenant.id, status="queued")
    failed = await make_job(factory.db, tenant.id, status="failed")
    base = f"{API}/{tenant.slug}/jobs"

    got = await client.get(f"{base}/{queued.id}", headers=as_token(viewer))
    assert got.status_code == 200, got.text
    assert got.json()["can_cancel"] is False
    listed = (await client.get(base, headers=as_token(viewer))).json()["items"]
    assert all(not (j["can_cancel"] or j["can_retry"]) for j in listed)

    problem(await client.post(f"{base}/exports", json={}, headers=as_token(viewer)), 403)
    problem(await client.post(f"{base}/{queued.id}/cancel", headers=as_token(viewer)), 403)
    problem(await client.post(f"{base}/{failed.id}/retry", headers=as_token(viewer)), 403)
    assert recorder.sent == []
    assert (await row(factory, queued.id)).status == "queued"


async def test_cancelling_a_queued_job_cancels_it_at_once(
    client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="queued", created_by=member.id)

    response = await client.post(
        f"{API}/{tenant.slug}/jobs/{job.id}/cancel", headers=as_token(member)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["finished_at"] is not None
    assert body["cancelled_by"]["id"] == str(member.id)
    assert body["can_cancel"] is False
    assert body["can_retry"] is True
    stored = await row(factory, job.id)
    assert stored.status == "cancelled"
    assert stored.cancel_requested_by_id == member.id
    assert recorder.sent == []
    assert await actions(factory, tenant.id, str(job.id)) == ["job.cancel_requested"]


async def test_cancelling_a_running_job_flags_it_for_its_worker(
    client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="queued", created_by=member.id)
    async with factory.db.system_session() as s:  # a worker claimed it
        await s.execute(
            update(Job).where(Job.id == job.id).values(status="running", started_at=utcnow())
        )
    url = f"{API}/{tenant.slug}/jobs/{job.id}/cancel"

    response = await client.post(url, headers=as_token(member))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "running"
    assert body["cancel_requested_at"] is not None
    assert body["cancelled_by"]["id"] == str(member.id)
    assert body["can_cancel"] is False
    stored = await row(factory, job.id)
    assert stored.status == "running"
    assert stored.finished_at is None
    assert stored.cancel_requested_by_id == member.id

    again = await client.post(url, headers=as_token(member))  # idempotent
    assert again.status_code == 200
    assert again.json()["cancel_requested_at"] is not None
    assert await actions(factory, tenant.id, str(job.id)) == ["job.cancel_requested"]


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
async def test_a_finished_job_cannot_be_cancelled(
    client: AsyncClient, factory: Factory, status: str
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    job = await make_job(factory.db, tenant.id, status=status)
    body = problem(
        await client.post(f"{API}/{tenant.slug}/jobs/{job.id}/cancel", headers=as_token(admin)),
        409,
    )
    assert status in body["detail"]
    assert (await row(factory, job.id)).status == status


async def test_members_cancel_their_own_jobs_admins_any(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    owner = await factory.actor(tenant, "member")
    other = await factory.actor(tenant, "member")
    admin = await factory.actor(tenant, "admin")
    job = await make_job(factory.db, tenant.id, status="queued", created_by=owner.id)
    url = f"{API}/{tenant.slug}/jobs/{job.id}"

    seen_by_other = (await client.get(url, headers=as_token(other))).json()
    assert seen_by_other["can_cancel"] is False
    assert (await client.get(url, headers=as_token(owner))).json()["can_cancel"] is True
    assert (await client.get(url, headers=as_token(admin))).json()["can_cancel"] is True

    problem(await client.post(f"{url}/cancel", headers=as_token(other)), 403)
    assert (await row(factory, job.id)).status == "queued"
    response = await client.post(f"{url}/cancel", headers=as_token(admin))
    assert response.status_code == 200, response.text
    assert response.json()["cancelled_by"]["id"] == str(admin.id)


async def test_retry_runs_a_failed_job_again_as_a_new_row(
    client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    failed = await make_job(
        factory.db, tenant.id, kind="export", status="failed", params={"q": "x"}
    )
    response = await client.post(
        f"{API}/{tenant.slug}/jobs/{failed.id}/retry", headers=as_token(member)
    )
    assert response.status_code == 202, response.text
    new = response.json()
    assert new["id"] != str(failed.id)
    assert new["status"] == "queued"
    assert new["retry_of"] == str(failed.id)
    assert new["kind"] == "export"
    assert new["params"] == {"q": "x", "retry_of": str(failed.id)}
    assert new["created_by"]["id"] == str(member.id)
    assert (await row(factory, failed.id)).status == "failed"  # history kept
    [bell] = recorder.for_job(new["id"])
    assert bell.task_id == (await row(factory, new["id"])).broker_task_id
    assert await actions(factory, tenant.id, new["id"]) == ["job.retried"]

    # The retry of a retry points at its own predecessor.
    again = await make_job(
        factory.db, tenant.id, status="cancelled", params={"q": "x", "retry_of": str(failed.id)}
    )
    response = await client.post(
        f"{API}/{tenant.slug}/jobs/{again.id}/retry", headers=as_token(member)
    )
    assert response.json()["retry_of"] == str(again.id)


@pytest.mark.parametrize("status", ["queued", "running", "succeeded"])
async def test_only_failed_or_cancelled_jobs_can_be_retried(
    client: AsyncClient, factory: Factory, recorder: RecordingDispatcher, status: str
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status=status)
    problem(
        await client.post(f"{API}/{tenant.slug}/jobs/{job.id}/retry", headers=as_token(member)),
        409,
    )
    assert recorder.sent == []


async def test_another_tenants_jobs_are_not_found_everywhere(
    client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    a, b = await factory.tenant(), await factory.tenant()
    b_admin = await factory.actor(b, "admin")
    failed = await make_job(factory.db, a.id, status="failed")
    queued = await make_job(factory.db, a.id, status="queued")
    headers = as_token(b_admin)
    for slug in (a.slug, b.slug):
        base = f"{API}/{slug}/jobs"
        problem(await client.get(f"{base}/{failed.id}", headers=headers), 404)
        problem(await client.post(f"{base}/{queued.id}/cancel", headers=headers), 404)
        problem(await client.post(f"{base}/{failed.id}/retry", headers=headers), 404)
        problem(
            await client.post(
                f"{base}/{failed.id}/download-link", params={"file": "export"}, headers=headers
            ),
            404,
        )
    listed = (await client.get(f"{API}/{b.slug}/jobs", headers=headers)).json()
    assert listed["items"] == []
    assert (await row(factory, queued.id)).status == "queued"
    assert recorder.sent == []


async def test_unknown_job_is_a_404(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    body = problem(
        await client.get(f"{API}/{tenant.slug}/jobs/{uuid.uuid4()}", headers=as_token(viewer)),
        404,
    )
    assert body["detail"] == "No such job in this tenant."


async def test_import_needs_a_completed_upload_of_the_tenant(
    client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    body = problem(
        await client.post(
            f"{API}/{tenant.slug}/jobs/imports",
            json={"upload_id": str(uuid.uuid4())},
            headers=as_token(member),
        ),
        404,
    )
    assert "upload" in body["detail"]
    problem(
        await client.post(
            f"{API}/{tenant.slug}/jobs/imports", json={"upload_id": "x"}, headers=as_token(member)
        ),
        422,
    )
    assert recorder.sent == []
