"""Job tests send no real doorbells: the session app's dispatcher is swapped for a recorder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI

from tests.jobs.fakes import RecordingDispatcher


@contextmanager
def dispatcher_of(app: FastAPI, dispatcher: object) -> Iterator[None]:
    """(monkeypatch cannot restore a Starlette State attribute: its undo deletes it.)"""
    previous = app.state.job_dispatcher
    app.state.job_dispatcher = dispatcher
    try:
        yield
    finally:
        app.state.job_dispatcher = previous


@pytest.fixture
def recorder(app: FastAPI) -> Iterator[RecordingDispatcher]:
    dispatcher = RecordingDispatcher()
    with dispatcher_of(app, dispatcher):
        yield dispatcher
