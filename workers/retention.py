"""Job files do not pile up: exports, reports and uploads past their retention are deleted, and
so are temp files of attempts that died mid-write."""

from __future__ import annotations

import time
from pathlib import Path

import structlog

from console.settings import Settings

log = structlog.get_logger(__name__)

# A temp file (`.<name>.<hex>.part`) this old belongs to an attempt that is gone.
ABANDONED_TEMP_SECONDS = 3600.0
KINDS = ("exports", "reports", "uploads")


def delete_expired_files(settings: Settings, *, now: float | None = None) -> int:
    """Delete files under files_dir/<tenant>/{exports,reports,uploads} older than the export
    retention, and abandoned temp files; returns how many went. Safe in any number of copies."""
    now = time.time() if now is None else now
    keep_seconds = settings.export_retention_hours * 3600
    deleted = 0
    root = Path(settings.files_dir)
    if not root.is_dir():
        return 0
    for tenant in root.iterdir():
        for kind in KINDS:
            folder = tenant / kind
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                limit = ABANDONED_TEMP_SECONDS if path.name.endswith(".part") else keep_seconds
                try:
                    if path.is_file() and now - path.stat().st_mtime > limit:
                        path.unlink()
                        deleted += 1
                except OSError:
                    continue  # another worker took it first
    if deleted:
        log.info("job_files_expired", deleted=deleted)
    return deleted
