"""Views own their tasks: `BaseView.run_task` work is cancelled when the view is left, and the
session cancels whatever is still running when it closes (on_close → clear_session_state)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import pytest
from fastapi import FastAPI

from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Factory

pytestmark = pytest.mark.anyio


class Poller:
    """A view's background loop that records how it ended (`run`: Flet's run_task accepts
    coroutine functions only)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.ticks = 0

    async def run(self, forever: bool = True) -> None:
        self.started.set()
        try:
            while forever:
                self.ticks += 1
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


async def projects_tab(app: FastAPI, factory: Factory, tabs) -> InProcessBrowser:
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    return await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))


async def started(tab: InProcessBrowser, view: Any, poller: Poller) -> Future[Any]:
    future = view.run_task(poller.run)
    await tab.wait_for(poller.started.is_set, what="the task to start")
    return future


async def test_leaving_a_view_cancels_its_tasks(app: FastAPI, factory: Factory, tabs):
    tab = await projects_tab(app, factory, tabs)
    state = tab.flet_page.data
    view = state.router.current
    poller = Poller()
    future = await started(tab, view, poller)
    assert view.task_count == 1
    assert future in state.tasks

    await tab.fill("Search projects", "x")
    await tab.submit("Search projects")  # navigates: a new view replaces this one

    assert state.router.current is not view
    assert view.task_count == 0
    assert future.cancelled()
    await tab.wait_for(poller.cancelled.is_set, what="CancelledError inside the task")
    assert future not in state.tasks
    ticks = poller.ticks
    await asyncio.sleep(0.05)
    assert poller.ticks == ticks  # really stopped


async def test_a_finished_task_is_forgotten(app: FastAPI, factory: Factory, tabs):
    tab = await projects_tab(app, factory, tabs)
    state = tab.flet_page.data
    view = state.router.current
    poller = Poller()

    future = view.run_task(poller.run, False)
    await asyncio.wrap_future(future)

    assert view.task_count == 0
    assert state.tasks == set()
    assert not poller.cancelled.is_set()


async def test_closing_the_session_cancels_what_is_left(app: FastAPI, factory: Factory, tabs):
    tab = await projects_tab(app, factory, tabs)
    page = tab.flet_page
    state = page.data
    view_task = await started(tab, state.router.current, view_poller := Poller())
    # Work owned by the session rather than a view (e.g. started before a view existed).
    session_poller = Poller()
    session_task = page.run_task(session_poller.run)
    state.tasks.add(session_task)
    await tab.wait_for(session_poller.started.is_set)
    api = state.api

    await tab.close()

    assert view_task.cancelled()
    assert session_task.cancelled()
    await tab.wait_for(view_poller.cancelled.is_set)
    await tab.wait_for(session_poller.cancelled.is_set)
    assert state.tasks == set()
    assert page.data is None
    assert api._http.is_closed
    assert state.router.current is None


async def test_close_still_cancels_when_the_view_fails_to_leave(
    app: FastAPI, factory: Factory, tabs, monkeypatch: pytest.MonkeyPatch
):
    tab = await projects_tab(app, factory, tabs)
    page = tab.flet_page
    state = page.data
    view = state.router.current
    future = await started(tab, view, poller := Poller())

    async def broken_leave() -> None:
        raise RuntimeError("on_leave failed")

    monkeypatch.setattr(view, "on_leave", broken_leave)

    await tab.close()

    assert future.cancelled()
    await tab.wait_for(poller.cancelled.is_set)
    assert page.data is None
