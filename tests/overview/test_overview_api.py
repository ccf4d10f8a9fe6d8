"""Overview API: a tenant's counts and projects created per ISO week, its own only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import update

from console.db import utcnow
from console.overview.service import week_starts
from console.projects.models import Project
from console.tenancy.models import Invitation, Tenant
from tests.conftest import as_cookie, as_token
from tests.factories import Factory
from tests.jobs.fakes import make_job

pytestmark = pytest.mark.anyio


def url(tenant: Tenant) -> str:
    return f"/api/v1/tenants/{tenant.slug}/overview"


def this_monday() -> datetime:
    today = utcnow().date()
    return datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), UTC)


async def project_created_at(factory: Factory, tenant: Tenant, when: datetime) -> None:
    project = await factory.project(tenant)
    async with factory.db.system_session() as s:
        await s.execute(update(Project).where(Project.id == project.id).values(created_at=when))


async def invitation_with(factory: Factory, tenant: Tenant, **values: Any) -> None:
    invitation = await factory.invitation(tenant)
    async with factory.db.system_session() as s:
        await s.execute(update(Invitation).where(Invitation.id == invitation.id).values(**values))


async def test_counts_projects_people_and_jobs(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    await factory.member(tenant, "admin")
    for status in ("active", "active", "archived"):
        await factory.project(tenant, status=status)
    await factory.invitation(tenant)
    await invitation_with(factory, tenant, accepted_at=utcnow())
    await invitation_with(factory, tenant, revoked_at=utcnow())
    await invitation_with(factory, tenant, expires_at=utcnow() - timedelta(seconds=1))
    for status in ("queued", "running", "running", "failed", "succeeded", "succeeded"):
        await make_job(factory.db, tenant.id, status=status)

    response = await client.get(url(tenant), headers=as_token(viewer))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["projects"] == {"active": 2, "archived": 1, "total": 3}
    assert body["members"] == 2
    assert body["pending_invitations"] == 1
    assert body["jobs"] == {
        "queued": 1,
        "running": 2,
        "succeeded": 2,
        "failed": 1,
        "cancelled": 0,
    }


async def test_projects_per_week_are_iso_weeks_zero_filled(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    monday = this_monday()
    first = monday - timedelta(weeks=11)
    for when in (
        monday,  # the current week's first instant
        monday - timedelta(microseconds=1),  # the previous week's last
        monday - timedelta(weeks=3, days=-2),
        monday - timedelta(weeks=3, days=-5),
        first,  # the oldest week shown
        first - timedelta(seconds=1),  # too old to be shown
    ):
        await project_created_at(factory, tenant, when)

    response = await client.get(url(tenant), headers=as_cookie(viewer, app))

    weeks = response.json()["projects_per_week"]
    assert [w["week_start"] for w in weeks] == [
        (first.date() + timedelta(weeks=i)).isoformat() for i in range(12)
    ]
    assert all(date.fromisoformat(w["week_start"]).isoweekday() == 1 for w in weeks)
    assert [w["count"] for w in weeks] == [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1]
    assert response.json()["projects"]["total"] == 6


async def test_a_new_tenant_is_all_zeros(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")

    body = (await client.get(url(tenant), headers=as_token(admin))).json()

    assert body["projects"] == {"active": 0, "archived": 0, "total": 0}
    assert body["members"] == 1
    assert body["pending_invitations"] == 0
    assert set(body["jobs"].values()) == {0}
    assert [w["count"] for w in body["projects_per_week"]] == [0] * 12


async def test_counts_only_the_tenants_own_rows(client: AsyncClient, factory: Factory):
    a, b = await factory.tenant(), await factory.tenant()
    b_admin = await factory.actor(b, "admin")
    await factory.member(a, "viewer")
    await factory.project(a)
    await factory.invitation(a)
    await make_job(factory.db, a.id, status="failed")
    await factory.project(b, status="archived")

    body = (await client.get(url(b), headers=as_token(b_admin))).json()

    assert body["projects"] == {"active": 0, "archived": 1, "total": 1}
    assert body["members"] == 1
    assert body["pending_invitations"] == 0
    assert body["jobs"]["failed"] == 0
    assert sum(w["count"] for w in body["projects_per_week"]) == 1


async def test_another_tenants_overview_is_a_404_problem(
    app: FastAPI, client: AsyncClient, factory: Factory
):
    a, b = await factory.tenant(), await factory.tenant()
    b_admin = await factory.actor(b, "admin")

    response = await client.get(url(a), headers=as_cookie(b_admin, app))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_anonymous_callers_are_refused(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()

    response = await client.get(url(tenant))

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (date(2026, 11, 21), date(2026, 8, 31), date(2026, 11, 16)),  # a Saturday
        (date(2026, 11, 16), date(2026, 8, 31), date(2026, 11, 16)),  # a Monday
        (date(2027, 1, 3), date(2026, 10, 12), date(2026, 12, 28)),  # a Sunday, week 53
    ],
)
def test_week_starts_are_the_last_twelve_mondays(today: date, first: date, last: date):
    starts = week_starts(today)

    assert (len(starts), starts[0], starts[-1]) == (12, first, last)
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(starts))
