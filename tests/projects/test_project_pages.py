"""Keyset pages: in every sort order, with and without search and status filters, following
`next_cursor` visits each matching project exactly once, in the order of one big page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from console.db import utcnow
from console.projects.models import Project
from tests.conftest import as_token
from tests.factories import Factory

pytestmark = pytest.mark.anyio

SORTS = ("name", "-name", "key", "-key", "created_at", "-created_at", "updated_at", "-updated_at")
FILTERS: tuple[dict[str, str], ...] = ({}, {"q": "beta"}, {"status": "active"})


def sort_key(sort: str, project: dict[str, Any]) -> tuple[Any, uuid.UUID]:
    field = sort.lstrip("-")
    value = project[field]
    if field.endswith("_at"):
        value = datetime.fromisoformat(value)
    return value, uuid.UUID(project["id"])


async def test_every_sort_and_filter_pages_through_each_match_once(
    client: AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    for i in range(7):
        await factory.project(
            tenant,
            key=f"PG{i}",
            name=("Alpha", "Beta", "beta two")[i % 3],
            status="archived" if i == 4 else "active",
        )
    # Ties in every sort column but id: the id must break them the same way on every page.
    async with factory.db.system_session() as s:
        await s.execute(
            update(Project.__table__)
            .where(Project.__table__.c.tenant_id == tenant.id)
            .values(created_at=utcnow(), updated_at=utcnow())
        )
    url = f"/api/v1/tenants/{tenant.slug}/projects"

    for sort in SORTS:
        for filters in FILTERS:
            params = {"sort": sort, **filters}
            whole = (
                await client.get(url, params={**params, "limit": 200}, headers=as_token(viewer))
            ).json()
            expected = whole["items"]
            assert expected, (sort, filters)
            keys = [sort_key(sort, p) for p in expected]
            assert keys == sorted(keys, reverse=sort.startswith("-")), (sort, filters)

            seen: list[dict[str, Any]] = []
            cursor = None
            while True:
                page_params = {**params, "limit": 2} | ({"cursor": cursor} if cursor else {})
                response = await client.get(url, params=page_params, headers=as_token(viewer))
                assert response.status_code == 200, response.text
                page = response.json()
                assert page["total"] == len(expected), (sort, filters)
                assert page["total_exact"] is True
                seen += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == expected, (sort, filters)
