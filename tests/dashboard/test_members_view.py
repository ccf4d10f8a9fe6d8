"""The members screen: the list from the API, role-aware controls, inviting (validation, API
field errors), changing a role, removing (never the last admin), revoking invitations and
sessions (in-process sessions; every change goes through the session's APIClient)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from console.tenancy.models import Membership
from tests.conftest import as_cookie
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def open_members(app: FastAPI, tabs, actor, slug: str) -> InProcessBrowser:
    tab = await tabs().open(f"/t/{slug}/members", cookies(app, actor))
    assert tab.crashes == []
    return tab


def invitations(tab: InProcessBrowser) -> list[list[str]]:
    """The pending invitations table (the second one on screen) as cell texts."""
    table = tab.find_all("DataTable")[1]
    return [[" ".join(tab.texts(c)) for c in row.get("cells", [])] for row in table["rows"]]


async def role_of(factory: Factory, tenant, user_id) -> str | None:
    async with factory.db.system_session() as s:
        return await s.scalar(
            select(Membership.role).where(
                Membership.tenant_id == tenant.id, Membership.user_id == user_id
            )
        )


@pytest.mark.parametrize("role", ["viewer", "member"])
async def test_non_admins_see_the_list_read_only(app: FastAPI, factory: Factory, tabs, role: str):
    tenant = await factory.tenant()
    actor = await factory.actor(tenant, role)
    other = await factory.member(tenant, "admin")

    tab = await open_members(app, tabs, actor, tenant.slug)

    emails = {row[1] for row in tab.table()}
    assert emails == {actor.user.email, other.email}
    assert tab.has_text("2 members")
    assert tab.has_text("Only admins can invite")
    assert not tab.find_all("FilledButton", text="Invite")
    assert not tab.find_all("Dropdown")
    assert not tab.find_all("IconButton")
    assert not tab.has_text("Pending invitations")
    assert not tab.find_all("TextButton", text="API tokens")  # an admin-only section


async def test_admins_get_edit_controls_and_pending_invitations(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    viewer = await factory.member(tenant, "viewer")
    await factory.invitation(tenant, email="pending@example.com", role="member")

    tab = await open_members(app, tabs, admin, tenant.slug)

    assert tab.find("Dropdown", label=f"Role of {viewer.email}")["value"] == "viewer"
    assert tab.find("IconButton", tooltip=f"Remove {viewer.email}")
    assert tab.find("IconButton", tooltip=f"Sign {viewer.email} out everywhere")
    assert tab.find("FilledButton", text="Invite")
    assert tab.has_text("Pending invitations")
    assert tab.find("IconButton", tooltip="Revoke the invitation for pending@example.com")
    # Every icon button says what it does (screen readers read the tooltip).
    assert all(b.get("tooltip") for b in tab.find_all("IconButton"))


async def test_invite_validates_then_invites(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    tab = await open_members(app, tabs, admin, tenant.slug)
    assert tab.has_text("No pending invitations.")

    await tab.click("Invite")
    await tab.click("Send invitation")  # nothing typed: checked before asking the API
    assert tab.find("TextField", label="Email")["error"].startswith("Enter an email address")

    await tab.fill("Email", "not@an-email")  # the API's 422 lands on the field
    await tab.click("Send invitation")
    assert tab.find("TextField", label="Email").get("error")
    assert tab.find("AlertDialog", text="Invite a member")
    assert tab.snackbars() == []

    await tab.fill("Email", "new.person@example.com")
    role = tab.find("Dropdown", label="Role")
    await tab.send(4, {"id": role["_i"], "props": {"value": "member"}})
    await tab.click("Send invitation")

    assert not tab.find_all("AlertDialog")
    assert "Invited new.person@example.com as Member." in tab.snackbars()
    assert [row[:2] for row in invitations(tab)] == [["new.person@example.com", "Member"]]
    assert tab.crashes == []


async def test_inviting_a_member_again_is_a_field_error(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    tab = await open_members(app, tabs, admin, tenant.slug)

    await tab.click("Invite")
    await tab.fill("Email", admin.user.email)
    await tab.click("Send invitation")

    assert "already a member" in tab.find("TextField", label="Email")["error"]
    assert tab.crashes == []


async def test_changing_a_role_asks_first(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    viewer = await factory.member(tenant, "viewer")
    tab = await open_members(app, tabs, admin, tenant.slug)

    dropdown = tab.find("Dropdown", label=f"Role of {viewer.email}")
    await tab.send(4, {"id": dropdown["_i"], "props": {"value": "member"}})
    await tab.event(dropdown, "select", "member")
    assert tab.find("AlertDialog", text="from Viewer to Member")
    await tab.click("Cancel")
    assert tab.find("Dropdown", label=f"Role of {viewer.email}")["value"] == "viewer"
    assert await role_of(factory, tenant, viewer.id) == "viewer"

    dropdown = tab.find("Dropdown", label=f"Role of {viewer.email}")
    await tab.send(4, {"id": dropdown["_i"], "props": {"value": "member"}})
    await tab.event(dropdown, "select", "member")
    await tab.click("Change role", "FilledButton")

    assert f"Test User ({viewer.email}) is now Member." in tab.snackbars()
    assert await role_of(factory, tenant, viewer.id) == "member"
    assert tab.find("Dropdown", label=f"Role of {viewer.email}")["value"] == "member"


async def test_the_last_admin_cannot_be_removed(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    tab = await open_members(app, tabs, admin, tenant.slug)

    await tab.click(f"Remove {admin.user.email}")
    assert tab.find("AlertDialog", text=f"Remove Test User ({admin.user.email})")
    await tab.click("Remove", "FilledButton")

    [error] = tab.snackbars()
    assert error.startswith("The last admin cannot be removed: promote someone else first."), error
    assert "(request " in error
    assert await role_of(factory, tenant, admin.id) == "admin"
    assert tab.crashes == []


async def test_removing_a_member(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    member = await factory.member(tenant, "member")
    tab = await open_members(app, tabs, admin, tenant.slug)

    await tab.click(f"Remove {member.email}")
    await tab.click("Remove", "FilledButton")

    assert f"Removed Test User ({member.email})." in tab.snackbars()
    assert await role_of(factory, tenant, member.id) is None
    assert [row[1] for row in tab.table()] == [admin.user.email]


async def test_revoking_an_invitation(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await factory.invitation(tenant, email="gone@example.com")
    tab = await open_members(app, tabs, admin, tenant.slug)

    await tab.click("Revoke the invitation for gone@example.com")
    await tab.click("Revoke", "FilledButton")

    assert "Revoked the invitation for gone@example.com." in tab.snackbars()
    assert tab.has_text("No pending invitations.")
    assert not tab.find_all("IconButton", tooltip="Revoke the invitation for gone@example.com")


async def test_revoking_a_members_sessions_signs_them_out(
    app: FastAPI, factory: Factory, tabs, client: httpx.AsyncClient
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    member = await factory.actor(tenant, "member")
    me = "/api/v1/me"
    assert (await client.get(me, headers=as_cookie(member, app))).status_code == 200
    tab = await open_members(app, tabs, admin, tenant.slug)

    await tab.click(f"Sign {member.user.email} out everywhere")
    await tab.click("Sign out", "FilledButton")

    assert f"Signed Test User ({member.user.email}) out of 1 session." in tab.snackbars()
    assert (await client.get(me, headers=as_cookie(member, app))).status_code == 401


async def test_demoting_myself_takes_my_edit_controls_away(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await factory.member(tenant, "admin")  # so I am not the last admin
    tab = await open_members(app, tabs, admin, tenant.slug)

    dropdown = tab.find("Dropdown", label=f"Role of {admin.user.email}")
    await tab.send(4, {"id": dropdown["_i"], "props": {"value": "viewer"}})
    await tab.event(dropdown, "select", "viewer")
    await tab.click("Change role", "FilledButton")

    assert await role_of(factory, tenant, admin.id) == "viewer"
    assert tab.has_text("Only admins can invite")
    assert not tab.find_all("Dropdown")
    assert not tab.find_all("IconButton")
    assert tab.crashes == []
