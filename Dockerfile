# syntax=docker/dockerfile:1
# One image runs every console process: `serve` (web: API + Flet dashboard, the default),
# `worker` (Celery job worker) and `migrate` (one-shot), plus the admin CLI (`tenants create`, ...).
#   docker build -t console:local .
#   docker run --rm -p 8000:8000 console:local run --host 0.0.0.0   # all-in-one on embedded defaults
# docker-compose.yml runs the production-like stack (PostgreSQL, Redis, migrate, web, worker).

# Both stages use the same base (the venv built in the first is copied into the second).
ARG PYTHON_IMAGE=python:3.12.14-slim-bookworm

# ---------------------------------------------------------------------------------------------
# builder: the project's wheel and its dependencies, installed into /opt/venv.
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes. Every one of
# them ships manylinux wheels, so no compiler is needed even here.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# The console's wheel (the dashboard's assets/fonts and the Alembic migrations are package data;
# the Flutter web client comes from the flet-web wheel: nothing is fetched from a CDN).
COPY src ./src
COPY workers ./workers
COPY migrations ./migrations
RUN /opt/venv/bin/pip wheel --no-cache-dir --no-deps -w /tmp/wheels . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps /tmp/wheels/console-*.whl \
    && /opt/venv/bin/console --help > /dev/null \
    && /opt/venv/bin/python -c "import console.migrate as m, flet_web; assert m.MIGRATIONS_DIR.is_relative_to('/opt/venv')"

# ---------------------------------------------------------------------------------------------
# runtime: no compilers, no build tools, no source tree; a non-root numeric user.
FROM ${PYTHON_IMAGE} AS runtime

# HOME and temp files live under /tmp, so the root filesystem can be read-only (compose mounts a
# tmpfs there); job files (uploads, exports) live in CONSOLE_FILES_DIR, a volume shared by the
# web and worker containers. /app/var is writable only for `console run` (embedded SQLite).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    CONSOLE_FILES_DIR=/var/lib/console/files

RUN groupadd --system --gid 10001 console \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin console \
    && mkdir -p /app/var /var/lib/console/files \
    && chown 10001:10001 /app/var /var/lib/console/files

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# For the web process (`serve`). Compose gives the worker its own check and turns it off for the
# one-shot migrate; Kubernetes ignores it (the chart has probes). Python's stdlib: no curl here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=4).status != 200)"]

# SIGTERM: uvicorn drains (25 s), Celery shuts down warm (finishes running jobs). `console` handles
# signals itself; run with an init (compose `init: true`, `docker run --init`) to reap zombies.
STOPSIGNAL SIGTERM
ENTRYPOINT ["console"]
CMD ["serve"]
