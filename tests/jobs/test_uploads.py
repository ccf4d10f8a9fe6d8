"""Uploads: a member gets a signed, expiring, single-use URL; the PUT needs nothing else; the
size limit holds while streaming and leaves nothing behind; then the upload can be imported."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from console.jobs.files import upload_path
from console.jobs.links import upload_signer
from console.jobs.uploads import meta_path
from tests.conftest import as_cookie, as_token
from tests.factories import Factory
from tests.jobs.fakes import RecordingDispatcher
from tests.jobs.test_jobs_api import actions, problem, row

pytestmark = pytest.mark.anyio

API = "/api/v1"
CSV = b"key,name\r\nP1,One\r\nP2,Two\r\n"


def token_for(
    app: FastAPI,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    upload_id: uuid.UUID,
    *,
    max_bytes: int = 1024,
    expires_in: float = 600,
) -> str:
    """A token as the ticket would carry, with any limit or expiry."""
    signer = upload_signer(app.state.settings.secret_key.get_secret_value())
    expires = int((datetime.now(UTC) + timedelta(seconds=expires_in)).timestamp())
    return signer.dumps(
        {
            "t": str(tenant_id),
            "u": str(user_id),
            "i": str(upload_id),
            "m": max_bytes,
            "e": expires,
            "f": "x.csv",
        }
    )


def leftovers(app: FastAPI, tenant_id: uuid.UUID) -> list[Path]:
    folder = upload_path(app.state.settings, tenant_id, uuid.uuid4()).parent
    return sorted(folder.iterdir()) if folder.exists() else []


async def ticket(client: AsyncClient, slug: str, headers: dict, size: int = len(CSV)) -> dict:
    response = await client.post(
        f"{API}/tenants/{slug}/uploads",
        json={"filename": "projects.csv", "size": size},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_upload_then_import(
    app: FastAPI, client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    issued = await ticket(client, tenant.slug, as_token(member))
    assert issued["max_bytes"] == app.state.settings.upload_max_bytes
    assert issued["upload_url"].startswith(f"{API}/uploads/{issued['upload_id']}?token=")
    assert await actions(factory, tenant.id, issued["upload_id"]) == ["upload.created"]

    # No cookie, no token: the signed URL alone authorizes the PUT.
    put = await client.put(issued["upload_url"], content=CSV)
    assert put.status_code == 201, put.text
    receipt = put.json()
    assert receipt == {
        "upload_id": issued["upload_id"],
        "size": len(CSV),
        "sha256": hashlib.sha256(CSV).hexdigest(),
    }
    upload_id = uuid.UUID(issued["upload_id"])
    assert upload_path(app.state.settings, tenant.id, upload_id).read_bytes() == CSV
    assert meta_path(app.state.settings, tenant.id, upload_id).is_file()

    # Single use.
    problem(await client.put(issued["upload_url"], content=b"other"), 409)
    assert upload_path(app.state.settings, tenant.id, upload_id).read_bytes() == CSV

    started = await client.post(
        f"{API}/tenants/{tenant.slug}/jobs/imports",
        json={"upload_id": str(upload_id)},
        headers=as_token(member),
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["kind"] == "import"
    assert job["status"] == "queued"
    assert job["params"]["upload_id"] == str(upload_id)
    assert job["params"]["filename"] == "projects.csv"
    assert job["params"]["sha256"] == receipt["sha256"]
    [bell] = recorder.for_job(job["id"])
    assert bell.task_id == (await row(factory, job["id"])).broker_task_id
    assert await actions(factory, tenant.id, job["id"]) == ["job.import_requested"]


async def test_a_browser_puts_with_its_cookie_from_the_same_origin(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    issued = await ticket(client, tenant.slug, as_cookie(member, app))
    put = await client.put(issued["upload_url"], content=CSV, headers=as_cookie(member, app))
    assert put.status_code == 201, put.text


async def test_another_tenants_upload_cannot_be_imported(
    app: FastAPI, client: AsyncClient, factory: Factory, recorder: RecordingDispatcher
):
    a, b = await factory.tenant(), await factory.tenant()
    a_member = await factory.actor(a, "member")
    b_admin = await factory.actor(b, "admin")
    issued = await ticket(client, a.slug, as_token(a_member))
    assert (await client.put(issued["upload_url"], content=CSV)).status_code == 201
    problem(
        await client.post(
            f"{API}/tenants/{b.slug}/jobs/imports",
            json={"upload_id": issued["upload_id"]},
            headers=as_token(b_admin),
        ),
        404,
    )
    assert recorder.sent == []


async def test_viewers_get_no_upload_tickets(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    problem(
        await client.post(
            f"{API}/tenants/{tenant.slug}/uploads",
            json={"filename": "a.csv", "size": 1},
            headers=as_token(viewer),
        ),
        403,
    )


async def test_a_declared_size_above_the_limit_gets_no_ticket(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    limit = app.state.settings.upload_max_bytes
    body = problem(
        await client.post(
            f"{API}/tenants/{tenant.slug}/uploads",
            json={"filename": "big.csv", "size": limit + 1},
            headers=as_token(member),
        ),
        413,
    )
    assert body["max_bytes"] == limit


async def test_too_large_by_content_length_is_refused_before_reading(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    user = await factory.user()
    upload_id = uuid.uuid4()
    token = token_for(app, tenant.id, user.id, upload_id, max_bytes=1024)
    response = await client.put(
        f"{API}/uploads/{upload_id}", params={"token": token}, content=b"x" * 1025
    )
    problem(response, 413)
    assert leftovers(app, tenant.id) == []


async def test_too_large_while_streaming_stops_and_leaves_nothing(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    user = await factory.user()
    upload_id = uuid.uuid4()
    token = token_for(app, tenant.id, user.id, upload_id, max_bytes=1024)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"y" * 300

    response = await client.put(
        f"{API}/uploads/{upload_id}", params={"token": token}, content=chunks()
    )
    problem(response, 413)
    assert sent < 10, "the body was read past the limit"
    assert leftovers(app, tenant.id) == []
    # The same link works with a file within the limit (a refused upload used nothing up).
    ok = await client.put(f"{API}/uploads/{upload_id}", params={"token": token}, content=CSV)
    assert ok.status_code == 201, ok.text
    assert [p.name for p in leftovers(app, tenant.id)] == [f"{upload_id}.csv", f"{upload_id}.json"]


async def test_exactly_the_limit_is_accepted(app: FastAPI, client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    user = await factory.user()
    upload_id = uuid.uuid4()
    token = token_for(app, tenant.id, user.id, upload_id, max_bytes=1024)
    response = await client.put(
        f"{API}/uploads/{upload_id}", params={"token": token}, content=b"z" * 1024
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == 1024


async def test_tampered_or_misdirected_tokens_are_refused(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    user = await factory.user()
    upload_id = uuid.uuid4()
    token = token_for(app, tenant.id, user.id, upload_id)
    body, _, signature = token.partition(".")
    forged = token_for(app, tenant.id, user.id, upload_id, max_bytes=10**9).split(".")[0]
    for bad in (
        f"{forged}.{signature}",  # a bigger limit under the old signature
        f"{body}.{signature[:-2]}AA",
        "not-a-token",
        f"{body}.",
    ):
        problem(
            await client.put(f"{API}/uploads/{upload_id}", params={"token": bad}, content=CSV),
            403,
        )
    # A valid token for another upload.
    problem(
        await client.put(f"{API}/uploads/{uuid.uuid4()}", params={"token": token}, content=CSV),
        403,
    )
    # Signed with another secret.
    foreign = upload_signer("another secret").dumps({"i": str(upload_id)})
    problem(
        await client.put(f"{API}/uploads/{upload_id}", params={"token": foreign}, content=CSV),
        403,
    )
    assert leftovers(app, tenant.id) == []


async def test_an_expired_link_is_gone(app: FastAPI, client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    user = await factory.user()
    upload_id = uuid.uuid4()
    token = token_for(app, tenant.id, user.id, upload_id, expires_in=-1)
    body = problem(
        await client.put(f"{API}/uploads/{upload_id}", params={"token": token}, content=CSV),
        410,
    )
    assert "expired" in body["detail"]
    assert leftovers(app, tenant.id) == []
