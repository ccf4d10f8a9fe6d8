"""Snackbars, and the wrapper that keeps tracebacks out of the browser."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import flet as ft
import structlog

from console.dashboard.api_client import ApiError

log = structlog.get_logger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def snack(
    page: ft.Page,
    message: str,
    *,
    error: bool = False,
    action: str | None = None,
    on_action: Callable[[Any], Awaitable[None]] | None = None,
) -> None:
    """A snackbar; with `action`, a button in it (e.g. "View job") that runs `on_action`."""
    page.show_dialog(
        ft.SnackBar(
            content=ft.Text(message, color=ft.Colors.ON_ERROR if error else None),
            bgcolor=ft.Colors.ERROR if error else None,
            show_close_icon=True,
            # A plain label: the client fires the SnackBar's own "action" event (SnackBarAction
            # goes on the wire typed "SnackBar" in 1.0.5, so its click is not to be relied on).
            action=action,
            on_action=on_action if action else None,
            duration=ft.Duration(seconds=6 if error or action else 3),
        )
    )


def problem_text(error: ApiError) -> str:
    ref = f" (request {error.request_id[:12]})" if error.request_id else ""
    return f"{error.message}{ref}"


def field_errors(error: ApiError) -> dict[str, str]:
    """The problem's messages by field name (validation errors, or the one `field` it names)."""
    fields = {str(e["loc"][-1]): e["msg"] for e in error.problem.get("errors", [])}
    if error.problem.get("field"):
        fields[str(error.problem["field"])] = error.message
    return fields


def safe(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | None]]:
    """Run a dashboard handler; API problems become an error snackbar, anything unexpected is
    logged with a reference the user can quote — never a traceback on screen."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return await handler(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except ApiError as exc:
            if exc.status == 401:
                from console.dashboard.events import signed_out

                await signed_out(ft.context.page, "Your session has ended; sign in again.")
                return None
            if exc.problem_slug == "sign-in-required" and exc.problem.get("tenant"):
                from console.dashboard.state import get_session_state

                page = ft.context.page
                snack(page, exc.message)
                await get_session_state(page).router.go(f"/t/{exc.problem['tenant']}/sign-in")
                return None
            if exc.problem_slug == "tenant-suspended":
                from console.dashboard.state import get_session_state

                view = get_session_state(ft.context.page).router.current
                if view is not None:
                    view.show_unavailable("This tenant is suspended", exc.message)
                    return None
            snack(ft.context.page, problem_text(exc), error=True)
            # Whatever the handler changed before it failed (a loading bar it hid) shows too.
            ft.context.page.update()
        except Exception:
            ref = uuid.uuid4().hex[:12]
            page = ft.context.page
            try:
                snack(page, f"Something went wrong on our side (reference {ref}).", error=True)
                page.update()
            except Exception:
                # Nothing reaches a closed tab (its handler was still running): not a failure
                # of ours to report, and no traceback for it.
                log.info("dashboard_handler_outlived_its_tab", handler=handler.__qualname__)
                return None
            log.exception("dashboard_handler_failed", ref=ref, handler=handler.__qualname__)
        return None

    return wrapper


def safe_call(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`safe` for event callbacks whose argument we ignore."""
    wrapped = safe(handler)

    async def call(*args: Any) -> Any:
        return await wrapped(*args)

    return call
