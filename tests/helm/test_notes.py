"""NOTES.txt, rendered by Helm 4's client-only dry run (no cluster needed)."""

from __future__ import annotations

import subprocess

from tests.helm.conftest import CHART, helm_binary


def notes(*values: str) -> str:
    helm = helm_binary("helm4")
    cmd = [str(helm), "install", "t", str(CHART), "-n", "console", "--dry-run=client"]
    for path in values:
        cmd += ["-f", str(CHART / "ci" / path)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return done.stdout.split("NOTES:", 1)[1]


def test_notes_say_where_the_console_is_and_how_migrations_ran() -> None:
    text = notes("default-values.yaml")
    assert "https://console.example.com/dashboard/" in text
    assert "pre-install/pre-upgrade hook" in text
    assert "helm test t -n console" in text


def test_notes_tell_gitops_users_to_order_the_migrations_job() -> None:
    assert "sync-wave" in notes("production-values.yaml")
