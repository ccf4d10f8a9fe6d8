"""Every mutation writes an audit event in the same transaction; admins can filter the log."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.conftest import as_token
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def test_mutations_are_audited_with_actor_and_request_id(
    client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    base = f"/api/v1/tenants/{tenant.slug}"
    created = await client.post(
        f"{base}/projects",
        json={"key": "AUD", "name": "Audited"},
        headers={**as_token(admin), "X-Request-ID": "req-audit-0001"},
    )
    project_id = created.json()["id"]
    await client.patch(
        f"{base}/projects/{project_id}",
        json={"name": "Renamed", "version": 1},
        headers=as_token(admin),
    )
    await client.post(f"{base}/projects/{project_id}/archive", headers=as_token(admin))
    await client.delete(f"{base}/projects/{project_id}", headers=as_token(admin))

    log = (
        await client.get(f"{base}/audit", params={"action": "project."}, headers=as_token(admin))
    ).json()
    assert [e["action"] for e in log["items"]] == [
        "project.deleted",
        "project.archived",
        "project.updated",
        "project.created",
    ]
    created_event = log["items"][-1]
    assert created_event["request_id"] == "req-audit-0001"
    assert created_event["actor_id"] == str(admin.id)
    assert created_event["target_id"] == project_id
    assert log["items"][2]["data"]["changes"]["name"] == {"from": "Audited", "to": "Renamed"}


async def test_a_refused_change_leaves_no_audit_event(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await factory.project(tenant, key="TAKEN")
    refused = await client.post(
        f"/api/v1/tenants/{tenant.slug}/projects",
        json={"key": "TAKEN", "name": "x"},
        headers=as_token(admin),
    )
    assert refused.status_code == 409
    log = (await client.get(f"/api/v1/tenants/{tenant.slug}/audit", headers=as_token(admin))).json()
    assert log["items"] == []


async def test_audit_filters_and_pages(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    member = await factory.actor(tenant, "member")
    base = f"/api/v1/tenants/{tenant.slug}"
    for i in range(5):
        await client.post(
            f"{base}/projects", json={"key": f"M{i}", "name": "m"}, headers=as_token(member)
        )
    await client.post(
        f"{base}/invitations", json={"email": "x@example.com"}, headers=as_token(admin)
    )

    by_member = (
        await client.get(
            f"{base}/audit", params={"actor_id": str(member.id)}, headers=as_token(admin)
        )
    ).json()
    assert len(by_member["items"]) == 5
    exact = (
        await client.get(
            f"{base}/audit", params={"action": "invitation.created"}, headers=as_token(admin)
        )
    ).json()
    assert len(exact["items"]) == 1

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{base}/audit", params=params, headers=as_token(admin))).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 6

    naive = await client.get(
        f"{base}/audit", params={"since": "2020-01-01T00:00:00"}, headers=as_token(admin)
    )
    assert naive.status_code == 422
    assert (await client.get(f"{base}/audit", headers=as_token(member))).status_code == 403
