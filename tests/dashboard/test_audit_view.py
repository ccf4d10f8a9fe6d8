"""The audit log screen (admins): who did what and when from the API, filters kept in the route,
pages in the route, an event's details on demand, and a clear refusal for everyone else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from console.audit.models import AuditEvent
from console.dashboard.views import audit as audit_view
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Actor, Factory

pytestmark = pytest.mark.anyio

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def event(
    factory: Factory,
    tenant_id: uuid.UUID,
    action: str,
    *,
    actor: Actor | None = None,
    at: datetime = NOON,
    **data: object,
) -> AuditEvent:
    async with factory.db.system_session() as s:
        row = AuditEvent(
            tenant_id=tenant_id,
            actor_id=actor.id if actor else None,
            actor_label=actor.user.email if actor else "system",
            action=action,
            target_type="project",
            target_id="WEB",
            data=dict(data),
            ip="203.0.113.7",
            request_id="req-123",
            created_at=at,
        )
        s.add(row)
    return row


async def open_audit(app: FastAPI, tabs, actor: Actor, slug: str, query: str = ""):
    return await tabs().open(f"/t/{slug}/audit{query}", cookies(app, actor))


def actions(tab: InProcessBrowser) -> list[str]:
    return [row[2] for row in tab.table()] if tab.find_all("DataTable") else []


async def test_admins_see_who_did_what_and_when(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await event(factory, tenant.id, "project.created", actor=admin, at=NOON)
    await event(factory, tenant.id, "project.archived", actor=admin, at=NOON + timedelta(hours=1))

    tab = await open_audit(app, tabs, admin, tenant.slug)

    rows = tab.table()
    email, ip = admin.user.email, "203.0.113.7"
    assert [r[:5] for r in rows] == [
        ["2026-03-10 13:00:00 UTC", email, "project.archived", "project/WEB", ip],
        ["2026-03-10 12:00:00 UTC", email, "project.created", "project/WEB", ip],
    ]
    assert tab.find("TextButton", text="Audit log")["tooltip"] == "Audit log (current page)"
    for label in ("Actor", "Action", "From (YYYY-MM-DD)", "To (YYYY-MM-DD)"):
        assert tab.find(label=label)["tooltip"]
    assert tab.crashes == []


@pytest.mark.parametrize("role", ["viewer", "member"])
async def test_others_are_told_only_admins_read_it(app: FastAPI, factory: Factory, tabs, role: str):
    tenant = await factory.tenant()
    actor = await factory.actor(tenant, role)
    await event(factory, tenant.id, "project.created")

    tab = await open_audit(app, tabs, actor, tenant.slug)

    assert tab.has_text("Only admins can read the audit log.")
    assert not tab.find_all("DataTable")
    assert not tab.find_all(label="Action")
    assert not tab.find_all("TextButton", text="Audit log")  # no link in the header either
    assert not tab.find_all("TextButton", text="Settings")
    assert tab.snackbars() == []


async def test_the_header_links_admins_to_audit_and_settings(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, admin))

    await tab.click("Audit log", "TextButton")
    assert tab.flet_page.route == f"/t/{tenant.slug}/audit"
    await tab.click("Settings", "TextButton")
    assert tab.flet_page.route == f"/t/{tenant.slug}/settings"


async def test_filters_are_in_the_route_and_narrow_the_list(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    other = await factory.actor(tenant, "member")
    await event(factory, tenant.id, "project.created", actor=admin, at=NOON)
    await event(factory, tenant.id, "project.created", actor=other, at=NOON + timedelta(days=2))
    await event(factory, tenant.id, "member.joined", actor=other, at=NOON + timedelta(days=2))
    tab = await open_audit(app, tabs, admin, tenant.slug)
    assert len(tab.table()) == 3

    await tab.fill("Action", "project.")
    await tab.submit("Action")
    assert tab.flet_page.route == f"/t/{tenant.slug}/audit?action=project."
    assert len(tab.table()) == 2

    actor = tab.find("Dropdown", label="Actor")
    await tab.send(4, {"id": actor["_i"], "props": {"value": str(other.id)}})
    await tab.event(actor, "select", str(other.id))
    assert tab.flet_page.route == f"/t/{tenant.slug}/audit?actor={other.id}&action=project."
    assert [r[1] for r in tab.table()] == [other.user.email]

    await tab.click("Clear filters")
    assert tab.flet_page.route == f"/t/{tenant.slug}/audit"
    assert len(tab.table()) == 3


async def test_a_time_range_narrows_by_day_and_bad_days_are_field_errors(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await event(factory, tenant.id, "a.first", at=NOON)
    await event(factory, tenant.id, "a.second", at=NOON + timedelta(days=1))
    await event(factory, tenant.id, "a.third", at=NOON + timedelta(days=2))
    tab = await open_audit(app, tabs, admin, tenant.slug)

    await tab.fill("From (YYYY-MM-DD)", "March 11")
    await tab.click("Apply filters")
    assert tab.find(label="From (YYYY-MM-DD)")["error"] == "Write a day as YYYY-MM-DD."
    assert tab.flet_page.route == f"/t/{tenant.slug}/audit"

    await tab.fill("From (YYYY-MM-DD)", "2026-03-11")
    await tab.fill("To (YYYY-MM-DD)", "2026-03-11")
    await tab.click("Apply filters")
    assert tab.flet_page.route == f"/t/{tenant.slug}/audit?from=2026-03-11&to=2026-03-11"
    assert actions(tab) == ["a.second"]

    # A deep link opens filtered.
    tab = await open_audit(app, tabs, admin, tenant.slug, "?from=2026-03-11")
    assert actions(tab) == ["a.third", "a.second"]
    assert tab.find(label="From (YYYY-MM-DD)")["value"] == "2026-03-11"


async def test_pages_walk_through_history_and_keep_the_filters(
    app: FastAPI, factory: Factory, tabs, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(audit_view, "PAGE_SIZE", 2)
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    for i in range(5):
        await event(factory, tenant.id, f"step.{i}", at=NOON + timedelta(minutes=i))
    await event(factory, tenant.id, "other.thing", at=NOON + timedelta(minutes=9))
    tab = await open_audit(app, tabs, admin, tenant.slug, "?action=step.")
    assert actions(tab) == ["step.4", "step.3"]
    assert tab.has_text("Showing 1 to 2 events")

    await tab.click("Next page")
    assert actions(tab) == ["step.2", "step.1"]
    assert tab.flet_page.route.startswith(f"/t/{tenant.slug}/audit?action=step.&cursor=")
    await tab.click("Next page")
    assert actions(tab) == ["step.0"]
    assert tab.has_text("Showing 5 to 5 events")
    assert not tab.find_all(text="Next page")

    await tab.click("First page")
    assert tab.flet_page.route == f"/t/{tenant.slug}/audit?action=step."
    assert actions(tab) == ["step.4", "step.3"]


async def test_empty_states_say_why(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")

    tab = await open_audit(app, tabs, admin, tenant.slug)
    assert tab.has_text("Nothing has been recorded yet.")
    tab = await open_audit(app, tabs, admin, tenant.slug, "?action=nothing.")
    assert tab.has_text("No events match these filters.")


async def test_an_events_details_open_on_demand(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await event(factory, tenant.id, "project.renamed", actor=admin, old="Site", new="Website")
    tab = await open_audit(app, tabs, admin, tenant.slug)
    assert not tab.has_text('"new": "Website"')

    details = "Details of project.renamed at 2026-03-10 12:00:00 UTC"
    await tab.event(tab.find("IconButton", tooltip=details), "click")

    dialog = tab.find("AlertDialog", text="Event details")
    text = " ".join(tab.texts(dialog))
    assert "Request id: req-123" in text
    assert '"new": "Website"' in text
    await tab.click("Close")
    assert not tab.find_all("AlertDialog")


async def test_an_api_failure_is_an_error_state_with_a_request_id(
    app: FastAPI, factory: Factory, tabs, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(audit_view, "PAGE_SIZE", 500)  # over the API's limit: a 422 problem
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")

    tab = await open_audit(app, tabs, admin, tenant.slug)

    assert tab.has_text("The audit log could not be loaded")
    assert any("(request " in s for s in tab.snackbars())
    assert tab.find("TextButton", text="Try again")
    assert tab.crashes == []
