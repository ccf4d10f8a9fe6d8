"""A worker touches its liveness file while its watcher runs, and stops when it stops: the
probe a deployment uses needs no broker round trip."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from console.settings import Settings
from tests.workers import support
from workers import watcher

pytestmark = pytest.mark.anyio


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


async def _wait_for_mtime_after(path: Path, after: float, within: float = 10.0) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (mtime := _mtime(path)) > after:
            return mtime
        await anyio.sleep(0.02)
    raise AssertionError(f"{path} was not touched after {after}")


async def test_the_liveness_file_is_touched_while_the_worker_runs(
    worker_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(watcher, "LIVENESS_TOUCH_INTERVAL", 0.1)
    alive = tmp_path / "worker-alive"
    settings = worker_settings.model_copy(update={"worker_liveness_file": alive})

    with support.running_worker(settings):
        first = await _wait_for_mtime_after(alive, 0.0)
        await _wait_for_mtime_after(alive, first)
    stopped_at = _mtime(alive)
    await anyio.sleep(0.5)

    assert _mtime(alive) == stopped_at


async def test_an_unwritable_liveness_file_is_logged_not_fatal(
    worker_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(watcher, "LIVENESS_TOUCH_INTERVAL", 0.1)
    settings = worker_settings.model_copy(
        update={"worker_liveness_file": tmp_path / "missing-folder" / "alive"}
    )

    with support.running_worker(settings) as worker:
        await anyio.sleep(0.4)
        assert worker.runtime._watcher is not None
        assert worker.runtime._watcher.is_alive()
