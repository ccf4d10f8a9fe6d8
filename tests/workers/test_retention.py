"""Job files past their retention are deleted; fresh ones and other folders are kept."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from console.jobs import files
from tests.backends import create_sqlite
from tests.conftest import make_settings
from workers.retention import ABANDONED_TEMP_SECONDS, delete_expired_files


def _touch(path: Path, age_seconds: float, now: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("key,name\n")
    os.utime(path, (now - age_seconds, now - age_seconds))
    return path


def test_expired_exports_reports_uploads_and_dead_temp_files_go(tmp_path: Path):
    settings = make_settings(create_sqlite(tmp_path / "db"), tmp_path, files_dir=tmp_path / "f")
    now = 1_900_000_000.0
    keep = settings.export_retention_hours * 3600
    tenant = uuid.uuid4()
    old_export = _touch(files.export_path(settings, tenant, uuid.uuid4()), keep + 60, now)
    old_report = _touch(files.report_path(settings, tenant, uuid.uuid4()), keep + 60, now)
    old_upload = _touch(files.upload_path(settings, tenant, uuid.uuid4()), keep + 60, now)
    fresh_export = _touch(files.export_path(settings, tenant, uuid.uuid4()), keep - 60, now)
    dead_temp = _touch(
        files.export_path(settings, tenant, uuid.uuid4()).with_name(".x.csv.ab12.part"),
        ABANDONED_TEMP_SECONDS + 60,
        now,
    )
    live_temp = _touch(dead_temp.with_name(".y.csv.cd34.part"), 60, now)

    assert delete_expired_files(settings, now=now) == 4

    assert not any(p.exists() for p in (old_export, old_report, old_upload, dead_temp))
    assert fresh_export.exists()
    assert live_temp.exists()


def test_no_files_folder_is_not_an_error(tmp_path: Path):
    settings = make_settings(
        create_sqlite(tmp_path / "db"), tmp_path, files_dir=tmp_path / "missing"
    )
    assert delete_expired_files(settings) == 0
