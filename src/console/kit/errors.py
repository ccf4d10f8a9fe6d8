"""Domain exceptions and their one mapping to RFC 9457 problem+json responses."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.kit.requestctx import current_request_id

log = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://console.dev/problems/"


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class ConsoleError(Exception):
    """Base of all domain errors; carries what the problem document needs."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] = {}


class Unauthorized(ConsoleError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.headers["WWW-Authenticate"] = 'Bearer realm="console"'


class Forbidden(ConsoleError):
    status, slug, title = 403, "forbidden", "Not allowed"


class TenantSuspended(Forbidden):
    slug, title = "tenant-suspended", "Tenant suspended"


class SignInRequired(Forbidden):
    slug, title = "sign-in-required", "Sign in to this tenant"


class CrossOriginRefused(Forbidden):
    slug, title = "cross-origin-refused", "Cross-origin request refused"


class NotFound(ConsoleError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ConsoleError):
    status, slug, title = 409, "conflict", "Conflict"


class VersionConflict(Conflict):
    slug, title = "version-conflict", "Someone else changed this first"


class Gone(ConsoleError):
    status, slug, title = 410, "gone", "No longer available"


class PayloadTooLarge(ConsoleError):
    status, slug, title = 413, "payload-too-large", "Too large"


class PreconditionRequired(ConsoleError):
    status, slug, title = 428, "precondition-required", "Version required"


class Invalid(ConsoleError):
    status, slug, title = 422, "validation-error", "Invalid input"


class ProblemResponse(Response):
    media_type = PROBLEM_CONTENT_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem_response(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": current_request_id(),
        **extensions,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


async def _console_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ConsoleError)
    return problem_response(
        request, exc.status, exc.slug, exc.title, exc.detail, exc.headers, **exc.extensions
    )


def _plain_message(err: Any) -> str:
    """Pydantic's message in the words a person filling in a form expects."""
    ctx = err.get("ctx") or {}
    match err.get("type"):
        case "missing":
            return "This field is required."
        case "string_too_short" if ctx.get("min_length") == 1:
            return "Enter a value."
        case "string_too_short":
            return f"Use at least {ctx.get('min_length')} characters."
        case "string_too_long":
            return f"Use at most {ctx.get('max_length')} characters."
    return str(err.get("msg", ""))


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": _plain_message(err),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(first["loc"][1:] or first["loc"]) or "request"
    return problem_response(
        request,
        422,
        "validation-error",
        "Invalid input",
        f"{where}: {first['msg']}",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    slugs = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    return problem_response(
        request,
        exc.status_code,
        slugs.get(exc.status_code, "http-error"),
        title,
        str(exc.detail) if exc.detail else None,
        dict(exc.headers or {}),
    )


async def _integrity_error(request: Request, exc: Exception) -> ProblemResponse:
    log.warning("integrity_error", error_type=type(exc).__name__)
    return problem_response(
        request, 409, "conflict", "Conflict", "The change conflicts with existing data."
    )


class UnhandledErrorMiddleware:
    """Innermost: turns an unexpected exception into a 500 problem (logged, no traceback shown),
    so the outer middlewares still add the request id and security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            log.exception("unhandled_error", error_type=type(exc).__name__)
            if started:
                raise
            response = problem_response(
                Request(scope),
                500,
                "internal-error",
                "Internal error",
                "Something went wrong on our side; quote the request id when reporting it.",
            )
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConsoleError, _console_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problem responses a route can give."""
    return {
        status: {
            "description": "Problem",
            "content": {PROBLEM_CONTENT_TYPE: {"schema": Problem.model_json_schema()}},
        }
        for status in statuses
    }
