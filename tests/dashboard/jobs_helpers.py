"""Helpers for the dashboard's job screens: rows changed behind the view's back (as a worker
would), API calls counted, live tasks counted, job rows found on screen."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from console.db import utcnow
from console.jobs.models import Job
from tests.dashboard.harness import Control, InProcessBrowser
from tests.factories import Factory
from tests.jobs.fakes import RecordingDispatcher

LIVE_CORO_NAMES = ("follow_feed", "FeedSubscription.next_changes")


async def change_job(factory: Factory, job_id: uuid.UUID, **values: Any) -> None:
    """Write a job row as a worker does (updated_at moves, so the feed sees it)."""
    async with factory.db.system_session() as s:
        await s.execute(update(Job).where(Job.id == job_id).values(**values, updated_at=utcnow()))


@contextmanager
def recording_dispatcher(app: FastAPI) -> Iterator[RecordingDispatcher]:
    """The app's dispatcher swapped for one that records doorbells (restored after: pytest's
    monkeypatch deletes a Starlette State attribute on undo instead of restoring it)."""
    original = app.state.job_dispatcher
    app.state.job_dispatcher = dispatcher = RecordingDispatcher()
    try:
        yield dispatcher
    finally:
        app.state.job_dispatcher = original


def count_api_calls(tab: InProcessBrowser) -> list[tuple[str, str]]:
    """Record every request the session's APIClient makes from now on."""
    api = tab.flet_page.data.api
    calls: list[tuple[str, str]] = []
    original = api.request

    async def request(method: str, path: str, **kwargs: Any) -> Any:
        calls.append((method, path))
        return await original(method, path, **kwargs)

    api.request = request
    return calls


def live_tasks() -> list[asyncio.Task[Any]]:
    """asyncio tasks running a view's feed loop (or waiting on its subscription)."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and getattr(t.get_coro(), "__qualname__", "") in LIVE_CORO_NAMES
    ]


def feed_subscribers(app: FastAPI) -> int:
    return app.state.job_feed.subscribers


def job_row(tab: InProcessBrowser, job_id: uuid.UUID | str) -> Control:
    return tab.find("Container", key=f"job-{job_id}")


def row_texts(tab: InProcessBrowser, job_id: uuid.UUID | str) -> list[str]:
    return tab.texts(job_row(tab, job_id))


def row_buttons(tab: InProcessBrowser, job_id: uuid.UUID | str) -> set[str]:
    """The action buttons a person sees on the job's row."""
    names = {"Cancel", "Retry", "Download export", "Download report"}
    row = job_row(tab, job_id)
    found = set()
    for control in tab.find_all("OutlinedButton"):
        if control.get("content") in names and _inside(row, control):
            # "Download export" / "Download report" (which file) count as "Download" here.
            found.add(control["content"].split()[0])
    return found


def row_ids(tab: InProcessBrowser) -> list[str]:
    return [
        c["key"].removeprefix("job-")
        for c in tab.controls()
        if c["_c"] == "Container" and str(c.get("key", "")).startswith("job-")
    ]


def progress_of(tab: InProcessBrowser, job_id: uuid.UUID | str) -> Any:
    row = job_row(tab, job_id)
    bars = [c for c in tab.controls() if c["_c"] == "ProgressBar" and _inside(row, c)]
    return bars[0].get("value")


def _inside(root: Control, control: Control) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        if node is control:
            return True
        for value in node.values():
            if isinstance(value, dict) and "_c" in value:
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, dict) and "_c" in v)
            elif isinstance(value, dict):
                stack.extend(v for v in value.values() if isinstance(v, dict) and "_c" in v)
    return False


async def click_in_row(tab: InProcessBrowser, job_id: uuid.UUID | str, label: str) -> None:
    row = job_row(tab, job_id)
    [button] = [
        c
        for c in tab.controls()
        if c.get("content") == label and c.get("on_click") and _inside(row, c)
    ]
    await tab.event(button, "click")


async def snack_action(tab: InProcessBrowser, text: str) -> None:
    """Press the action button of the open snackbar showing `text` (the client reports it as
    the SnackBar's "action" event)."""
    snackbar = tab.find("SnackBar", text=text)
    assert snackbar.get("action"), snackbar
    await tab.event(snackbar, "action")
