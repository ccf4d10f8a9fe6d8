"""Members (list, change role, remove — never the last admin) and invitations."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.conftest import as_token
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def test_my_tenants_lists_memberships_with_roles(client: AsyncClient, factory: Factory, app):
    a, b, other = await factory.tenant(), await factory.tenant(), await factory.tenant()
    user = await factory.user()
    await factory.member(a, "admin", user=user)
    await factory.member(b, "viewer", user=user)
    await factory.member(other, "admin")
    cookie = await factory.cookie(user)
    name = app.state.settings.session_cookie_name
    mine = (await client.get("/api/v1/tenants", headers={"Cookie": f"{name}={cookie}"})).json()
    assert {(t["slug"], t["role"]) for t in mine} == {(a.slug, "admin"), (b.slug, "viewer")}


async def test_a_token_sees_only_its_tenant_and_role_cap(client: AsyncClient, factory: Factory):
    a, b = await factory.tenant(), await factory.tenant()
    user = await factory.user()
    await factory.member(a, "admin", user=user)
    await factory.member(b, "admin", user=user)
    token = await factory.token(a, user, "viewer")
    mine = (
        await client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert [(t["slug"], t["role"]) for t in mine] == [(a.slug, "viewer")]
    other = await client.get(
        f"/api/v1/tenants/{b.slug}/projects", headers={"Authorization": f"Bearer {token}"}
    )
    assert other.status_code == 404


async def test_admin_changes_roles_but_never_demotes_the_last_admin(
    client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    viewer = await factory.actor(tenant, "viewer")
    base = f"/api/v1/tenants/{tenant.slug}/members"

    members = (await client.get(base, headers=as_token(admin))).json()
    assert {m["user_id"]: m["role"] for m in members} == {
        str(admin.id): "admin",
        str(viewer.id): "viewer",
    }

    last = await client.patch(
        f"{base}/{admin.id}", json={"role": "member"}, headers=as_token(admin)
    )
    assert last.status_code == 409
    assert "at least one admin" in last.json()["detail"]
    assert (await client.delete(f"{base}/{admin.id}", headers=as_token(admin))).status_code == 409

    promoted = await client.patch(
        f"{base}/{viewer.id}", json={"role": "admin"}, headers=as_token(admin)
    )
    assert promoted.json()["role"] == "admin"
    demoted = await client.patch(
        f"{base}/{admin.id}", json={"role": "viewer"}, headers=as_token(admin)
    )
    assert demoted.status_code == 200
    # The demoted admin's token is capped by the new role at once.
    assert (
        await client.get(base.replace("members", "audit"), headers=as_token(admin))
    ).status_code == 403


async def test_admin_removes_a_member_who_then_loses_access(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    member = await factory.actor(tenant, "member")
    removed = await client.delete(
        f"/api/v1/tenants/{tenant.slug}/members/{member.id}", headers=as_token(admin)
    )
    assert removed.status_code == 204
    gone = await client.get(f"/api/v1/tenants/{tenant.slug}/projects", headers=as_token(member))
    assert gone.status_code == 404
    again = await client.delete(
        f"/api/v1/tenants/{tenant.slug}/members/{member.id}", headers=as_token(admin)
    )
    assert again.status_code == 404


async def test_admin_revokes_a_members_sessions(client: AsyncClient, factory: Factory, app):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    member = await factory.actor(tenant, "member")
    name = app.state.settings.session_cookie_name
    cookie = {"Cookie": f"{name}={member.cookie}"}
    assert (await client.get("/api/v1/me", headers=cookie)).status_code == 200
    revoked = await client.post(
        f"/api/v1/tenants/{tenant.slug}/members/{member.id}/revoke-sessions",
        headers=as_token(admin),
    )
    assert revoked.json() == {"revoked": 1}
    assert (await client.get("/api/v1/me", headers=cookie)).status_code == 401


async def test_invitations_create_list_revoke(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    base = f"/api/v1/tenants/{tenant.slug}/invitations"

    created = await client.post(
        base, json={"email": "New.Person@Example.com", "role": "member"}, headers=as_token(admin)
    )
    assert created.status_code == 201
    invitation = created.json()
    assert invitation["email"] == "new.person@example.com"
    assert invitation["status"] == "pending"
    assert len(invitation["token"]) >= 24

    duplicate = await client.post(
        base, json={"email": "new.person@example.com"}, headers=as_token(admin)
    )
    assert duplicate.status_code == 409

    listed = (await client.get(base, headers=as_token(admin))).json()
    assert [i["id"] for i in listed] == [invitation["id"]]
    assert "token" not in listed[0]

    revoked = await client.delete(f"{base}/{invitation['id']}", headers=as_token(admin))
    assert revoked.json()["status"] == "revoked"
    again = await client.post(
        base, json={"email": "new.person@example.com"}, headers=as_token(admin)
    )
    assert again.status_code == 201


async def test_inviting_an_existing_member_is_a_conflict(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    response = await client.post(
        f"/api/v1/tenants/{tenant.slug}/invitations",
        json={"email": admin.user.email},
        headers=as_token(admin),
    )
    assert response.status_code == 409
