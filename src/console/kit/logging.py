"""Structured logging: JSON in production, readable in development, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|authorization|cookie|api[_-]?key|credential|session_id)", re.I
)
_BEARER = re.compile(r"(cnsl_[A-Za-z0-9]+_)[A-Za-z0-9_-]+|(Bearer\s+)\S+")


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return _BEARER.sub(lambda m: (m.group(1) or m.group(2)) + "[REDACTED]", value)
    if isinstance(value, dict):
        return {
            k: "[REDACTED]" if _SECRET_KEYS.search(str(k)) else _redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact_secrets(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Drop values of secret-looking keys and token-looking substrings."""
    for key in list(event):
        if key == "event":
            event[key] = _redact_value(event[key])
        elif _SECRET_KEYS.search(key):
            event[key] = "[REDACTED]"
        else:
            event[key] = _redact_value(event[key])
    return event


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route structlog and the standard library through one pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        # Drop lines below the level first: a disabled access log must cost nothing.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info
            if json
            else structlog.processors.ExceptionPrettyPrinter(),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our middleware writes the access log (route template, no query string, no secrets).
    for name in ("uvicorn.access",):
        logging.getLogger(name).disabled = True
    # Chatty libraries log per request, and Flet logs OAuth state ids at INFO: warnings only.
    for name in ("httpx", "httpcore", "flet", "flet_web", "flet_transport", "flet_object_patch"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
