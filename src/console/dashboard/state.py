"""Per-Flet-session state: the API client, who is signed in, the current tenant, live tasks."""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import flet as ft
import structlog

from console.dashboard.api_client import APIClient
from console.dashboard.handoff import Handoff
from console.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class SessionState:
    api: APIClient
    settings: Settings
    handoff: Handoff
    router: Any = None
    user: dict[str, Any] | None = None
    tenants: list[dict[str, Any]] = field(default_factory=list)
    tenant: dict[str, Any] | None = None
    signin_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session_topic: str | None = None
    tasks: set[Future[Any]] = field(default_factory=set)
    # The theme chosen with the app bar's switch: "system", "light" or "dark".
    theme_mode: str = "system"
    # The browser's storage (ft.SharedPreferences), where that choice is remembered.
    preferences: Any = None
    # One per session (Flet keeps a page's services until it closes; one per view would keep
    # every view ever shown alive): its events go to the view on screen.
    file_picker: Any = None
    # List routes the session paged to → the page before each (controls/pager.py).
    page_trail: OrderedDict[str, str] = field(default_factory=OrderedDict)
    # The process's job status feed (app.state.job_feed), looked up when a view needs it: the
    # one in-memory read views may do besides the API (contract, issue 4).
    job_feed: Callable[[], Any] = lambda: None

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    def tenant_by_slug(self, slug: str) -> dict[str, Any] | None:
        return next((t for t in self.tenants if t["slug"] == slug), None)

    def forget_user(self) -> None:
        self.user = None
        self.tenants = []
        self.tenant = None
        self.api.use_session(None)


# Every live dashboard session of this process (the operator console's health panel counts
# them); weak, so a session dropped without teardown does not linger here.
_LIVE: weakref.WeakValueDictionary[int, SessionState] = weakref.WeakValueDictionary()


def live_sessions() -> tuple[int, int]:
    """(sessions, signed in) held by this process."""
    states = list(_LIVE.values())
    return len(states), sum(1 for s in states if s.signed_in)


def attach_session_state(page: ft.Page, state: SessionState) -> None:
    page.data = state
    _LIVE[id(state)] = state


def get_session_state(page: ft.Page) -> SessionState:
    state = page.data
    if not isinstance(state, SessionState):
        raise RuntimeError("dashboard session state missing")
    return state


async def clear_session_state(page: ft.Page) -> None:
    """The one teardown path: cancel what is still running and close the API client."""
    state = page.data
    if not isinstance(state, SessionState):
        return
    for task in list(state.tasks):
        task.cancel()
    state.tasks.clear()
    page.data = None
    _LIVE.pop(id(state), None)
    await state.api.aclose()
