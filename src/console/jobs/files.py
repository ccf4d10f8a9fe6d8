"""Where job files live under `files_dir` (shared by web and workers), and writing them safely."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from console.settings import Settings


def tenant_dir(settings: Settings, tenant_id: uuid.UUID) -> Path:
    return Path(settings.files_dir) / str(tenant_id)


def upload_path(settings: Settings, tenant_id: uuid.UUID, upload_id: uuid.UUID) -> Path:
    """A completed upload (only ever renamed into place when whole)."""
    return tenant_dir(settings, tenant_id) / "uploads" / f"{upload_id}.csv"


def export_path(settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID) -> Path:
    return tenant_dir(settings, tenant_id) / "exports" / f"{job_id}.csv"


def report_path(settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID) -> Path:
    """An import's per-row report (line, key, error)."""
    return tenant_dir(settings, tenant_id) / "reports" / f"{job_id}.csv"


@contextmanager
def atomic_write(path: Path, mode: str = "w", **open_kwargs: object) -> Iterator[IO]:
    """Write to a temp file beside `path`, fsync, then rename into place; nothing on error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        with open(temp, mode, **open_kwargs) as handle:  # type: ignore[call-overload]
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
