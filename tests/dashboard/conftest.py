"""Fixtures for driving dashboard sessions in-process (see harness.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from fastapi import FastAPI
from flet.pubsub.pubsub_hub import PubSubHub
from flet_web.fastapi.flet_app_manager import app_manager
from sqlalchemy import delete

from console.dashboard.app import build_main
from console.tenancy.models import Membership
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Actor, Factory


@pytest.fixture
async def tabs(app: FastAPI) -> AsyncIterator[Callable[[], InProcessBrowser]]:
    """Opens browser tabs on one dashboard `main` (one pubsub hub, as in one web process);
    closes their sessions at the end so no task outlives the test."""
    main = build_main(app.state.settings, app, app.state.handoff)
    hub = PubSubHub(asyncio.get_running_loop(), app_manager.executor)
    opened: list[InProcessBrowser] = []

    def new_tab() -> InProcessBrowser:
        tab = InProcessBrowser(main, hub)
        opened.append(tab)
        return tab

    yield new_tab
    for tab in opened:
        if tab.session is not None and tab.flet_page.data is not None:
            await tab.close()


def cookies(app: FastAPI, actor: Actor | str | None = None, binding: str = "b-test") -> dict:
    """The handshake cookies of a browser (signed in when given an actor or a cookie value)."""
    settings = app.state.settings
    jar = {settings.binding_cookie_name: binding}
    if actor is not None:
        jar[settings.session_cookie_name] = actor if isinstance(actor, str) else actor.cookie
    return jar


async def remove_membership(factory: Factory, user_id: uuid.UUID) -> None:
    """The user leaves every tenant behind an open tab's back (the API then refuses)."""
    async with factory.db.system_session() as s:
        await s.execute(delete(Membership).where(Membership.user_id == user_id))
