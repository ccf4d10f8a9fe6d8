"""Projects API: create, read, list (search, filter, sort, keyset pages), edit with versions,
archive/restore, delete — with problem+json errors."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import as_cookie, as_token
from tests.factories import Factory

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tenant(factory: Factory):
    return await factory.tenant()


async def test_member_creates_and_reads_a_project(client: AsyncClient, factory: Factory, tenant):
    member = await factory.actor(tenant, "member")
    created = await client.post(
        f"/api/v1/tenants/{tenant.slug}/projects",
        json={"key": "web", "name": "  Website  ", "description": "Marketing"},
        headers=as_token(member),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"] == "WEB"
    assert body["name"] == "Website"
    assert body["version"] == 1
    assert created.headers["etag"] == '"1"'
    fetched = await client.get(
        f"/api/v1/tenants/{tenant.slug}/projects/{body['id']}", headers=as_token(member)
    )
    assert fetched.json() == body


async def test_duplicate_key_is_a_409_problem(client: AsyncClient, factory: Factory, tenant):
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="DUP")
    response = await client.post(
        f"/api/v1/tenants/{tenant.slug}/projects",
        json={"key": "dup", "name": "Again"},
        headers=as_token(member),
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/conflict")
    assert "DUP" in problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_validation_errors_are_422_problems(client: AsyncClient, factory: Factory, tenant):
    member = await factory.actor(tenant, "member")
    response = await client.post(
        f"/api/v1/tenants/{tenant.slug}/projects",
        json={"key": "1bad key", "name": ""},
        headers=as_token(member),
    )
    assert response.status_code == 422
    problem = response.json()
    assert {tuple(e["loc"]) for e in problem["errors"]} >= {("body", "key"), ("body", "name")}


async def test_edit_needs_the_current_version(client: AsyncClient, factory: Factory, tenant):
    member = await factory.actor(tenant, "member")
    project = await factory.project(tenant)
    url = f"/api/v1/tenants/{tenant.slug}/projects/{project.id}"

    missing = await client.patch(url, json={"name": "X"}, headers=as_token(member))
    assert missing.status_code == 428
    assert missing.json()["current_version"] == 1

    first = await client.patch(
        url, json={"name": "First"}, headers={**as_token(member), "If-Match": '"1"'}
    )
    assert first.status_code == 200
    assert first.json()["version"] == 2

    stale = await client.patch(url, json={"name": "Second", "version": 1}, headers=as_token(member))
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert stale.json()["type"].endswith("/version-conflict")

    current = await client.get(url, headers=as_token(member))
    assert current.json()["name"] == "First"


async def test_archive_restore_and_admin_delete(client: AsyncClient, factory: Factory, tenant):
    member = await factory.actor(tenant, "member")
    admin = await factory.actor(tenant, "admin")
    project = await factory.project(tenant)
    base = f"/api/v1/tenants/{tenant.slug}/projects/{project.id}"

    archived = await client.post(base + "/archive", headers=as_token(member))
    assert archived.json()["status"] == "archived"
    restored = await client.post(base + "/restore", headers=as_token(member))
    assert restored.json()["status"] == "active"
    assert restored.json()["version"] == 3

    assert (await client.delete(base, headers=as_token(member))).status_code == 403
    stale = await client.delete(base, headers={**as_token(admin), "If-Match": '"1"'})
    assert stale.status_code == 409
    assert (await client.delete(base, headers=as_token(admin))).status_code == 204
    assert (await client.get(base, headers=as_token(admin))).status_code == 404


async def test_list_searches_filters_sorts_and_pages(client: AsyncClient, factory: Factory, tenant):
    viewer = await factory.actor(tenant, "viewer")
    for i in range(7):
        await factory.project(tenant, key=f"K{i}", name=f"Alpha {i}")
    await factory.project(tenant, key="ZED", name="Zeta 100%", status="archived")
    url = f"/api/v1/tenants/{tenant.slug}/projects"

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, "sort": "-name"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params, headers=as_token(viewer))).json()
        assert page["total"] == 8
        assert page["total_exact"] is True
        seen += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 8

    search = (await client.get(url, params={"q": "100%"}, headers=as_token(viewer))).json()
    assert [p["key"] for p in search["items"]] == ["ZED"]
    percent_is_literal = (await client.get(url, params={"q": "%"}, headers=as_token(viewer))).json()
    assert [p["key"] for p in percent_is_literal["items"]] == ["ZED"]

    archived = (
        await client.get(url, params={"status": "archived"}, headers=as_token(viewer))
    ).json()
    assert archived["total"] == 1

    bad = await client.get(url, params={"cursor": "not-a-cursor"}, headers=as_token(viewer))
    assert bad.status_code == 422


async def test_counts_are_bounded(app: FastAPI, client: AsyncClient, factory: Factory, tenant):
    viewer = await factory.actor(tenant, "viewer")
    for i in range(5):
        await factory.project(tenant, key=f"B{i}")
    old = app.state.settings.count_limit
    app.state.settings.count_limit = 3
    try:
        page = (
            await client.get(f"/api/v1/tenants/{tenant.slug}/projects", headers=as_token(viewer))
        ).json()
    finally:
        app.state.settings.count_limit = old
    assert page["total"] == 3
    assert page["total_exact"] is False
    assert len(page["items"]) == 5


async def test_cookie_session_works_from_our_origin_only(
    app: FastAPI, client: AsyncClient, factory: Factory, tenant
):
    member = await factory.actor(tenant, "member")
    headers = as_cookie(member, app)
    url = f"/api/v1/tenants/{tenant.slug}/projects"
    ok = await client.post(url, json={"key": "CSRF1", "name": "ok"}, headers=headers)
    assert ok.status_code == 201
    evil = await client.post(
        url,
        json={"key": "CSRF2", "name": "evil"},
        headers={**headers, "Origin": "https://evil.example"},
    )
    assert evil.status_code == 403
    assert evil.json()["type"].endswith("/cross-origin-refused")
    no_origin = {"Cookie": headers["Cookie"]}
    assert (
        await client.post(url, json={"key": "CSRF3", "name": "x"}, headers=no_origin)
    ).status_code == 403
    # Reads need no origin; the refused writes changed nothing.
    listed = (await client.get(url, headers=no_origin)).json()
    assert [p["key"] for p in listed["items"]] == ["CSRF1"]
