"""BaseView: a screen with a lifecycle (enter, leave, refresh) that owns its tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import flet as ft

from console.dashboard.state import SessionState, get_session_state


class BaseView:
    """Builds one `ft.View`; the router calls on_enter after showing it and on_leave before
    replacing it. Tasks started with `run_task` are cancelled on leave."""

    title = "Console"
    needs_user = True

    def __init__(self, page: ft.Page, route: str, params: dict[str, str], query: dict[str, str]):
        self.page = page
        self.route = route
        self.params = params
        self.query = query
        self._tasks: set[Future[Any]] = set()
        self.view = ft.View(route=route, controls=self.build(), padding=0, spacing=0)

    @property
    def state(self) -> SessionState:
        return get_session_state(self.page)

    def build(self) -> list[ft.Control]:
        return []

    async def on_enter(self) -> None:
        """Load data; called once the view is on the page."""

    async def on_refresh(self) -> None:
        """The browser reconnected (refresh, network blip): reload what is shown."""
        await self.on_enter()

    async def on_leave(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def run_task(self, coro_fn: Callable[..., Awaitable[Any]], *args: Any) -> Future[Any]:
        """Start background work owned by this view (and the session, which cancels on close)."""
        future = self.page.run_task(coro_fn, *args)
        self._tasks.add(future)
        self.state.tasks.add(future)

        def _done(f: Future[Any]) -> None:
            self._tasks.discard(f)
            self.state.tasks.discard(f)

        future.add_done_callback(_done)
        return future

    @property
    def task_count(self) -> int:
        return len(self._tasks)
