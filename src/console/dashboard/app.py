"""The Flet dashboard: the session's entry point, and its ASGI app behind the gate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import flet as ft
import flet.fastapi as flet_fastapi
import httpx
import structlog
from starlette.types import ASGIApp

from console.dashboard import events
from console.dashboard.api_client import APIClient
from console.dashboard.controls import theme
from console.dashboard.gate import DashboardGate
from console.dashboard.handoff import ConsoleAuthorization, Handoff
from console.dashboard.notify import safe_call, snack
from console.dashboard.router import Router, home_route
from console.dashboard.state import SessionState, attach_session_state, get_session_state
from console.dashboard.views.chrome import refresh_chrome
from console.settings import Settings

log = structlog.get_logger(__name__)
# Served under the dashboard's mount: the bundled fallback fonts (assets/fonts/README.md).
ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def build_main(
    settings: Settings, api: ASGIApp, handoff: Handoff
) -> Callable[[ft.Page], Awaitable[None]]:
    """The session entry point `main(page)` (create_dashboard serves it; tests drive it)."""

    def api_client() -> APIClient:
        transport = None if settings.dashboard_api_base_url else httpx.ASGITransport(app=api)
        return APIClient(
            transport=transport,
            base_url=settings.dashboard_api_base_url or settings.public_origin,
            origin=settings.public_origin,
            session_cookie=settings.session_cookie_name,
            binding_cookie=settings.binding_cookie_name,
        )

    def job_feed() -> Any:
        """The host app's job status feed, if it has one (None: views fall back to polling)."""
        return getattr(getattr(api, "state", None), "job_feed", None)

    async def main(page: ft.Page) -> None:
        state = SessionState(
            api=api_client(), settings=settings, handoff=handoff, job_feed=job_feed
        )
        attach_session_state(page, state)
        state.router = Router(page)
        page.title = "Console"
        theme.style_page(page)
        state.preferences = theme.preferences()
        page.on_connect = safe_call(events.on_connect)
        page.on_disconnect = events.on_disconnect
        page.on_close = events.on_close
        page.on_error = events.on_error
        page.on_resize = events.on_resize
        page.on_route_change = safe_call(_route_changed)
        page.on_login = safe_call(_logged_in)
        try:
            await events.load_identity(page)
            await state.router.show(page.route)
            await _restore_theme(page)  # the screen is up already: one round trip, after it
        except Exception:
            log.exception("dashboard_start_failed")
            # Not page.add(): it needs a view, and the one there was just cleared.
            page.views.clear()
            page.views.append(
                ft.View(
                    route=page.route,
                    controls=[
                        ft.Text("The console could not start this page; reload to try again.")
                    ],
                )
            )
            page.update()

    return main


def create_dashboard(settings: Settings, api: ASGIApp, handoff: Handoff) -> ASGIApp:
    """The Flet app (sessions evicted by app_manager, started in the host's lifespan)."""
    return DashboardGate(
        flet_fastapi.app(
            build_main(settings, api, handoff),
            app_name="Console",
            no_cdn=True,
            assets_dir=str(ASSETS_DIR),
            secret_key=settings.secret_key.get_secret_value(),
            session_timeout_seconds=settings.dashboard_session_timeout_seconds,
            oauth_state_timeout_seconds=settings.signin_timeout_seconds,
        ),
        trusted_origins=settings.trusted_origins,
        binding_cookie=settings.binding_cookie_name,
        secure_cookies=settings.is_https,
    )


async def _restore_theme(page: ft.Page) -> None:
    """Apply the theme this browser chose before (asked once the first screen is up)."""
    state = get_session_state(page)
    mode = await theme.remembered(state.preferences)
    if mode is None or mode == state.theme_mode:
        return
    state.theme_mode = mode
    page.theme_mode = theme.MODES[mode][0]
    if state.router.current is not None:
        refresh_chrome(state.router.current)
    page.update()


async def _route_changed(e: ft.RouteChangeEvent) -> None:
    await get_session_state(e.page).router.show(e.route)


async def _logged_in(e: ft.LoginEvent) -> None:
    page = e.page
    auth = page.auth
    if e.error or not isinstance(auth, ConsoleAuthorization) or auth.result is None:
        snack(page, "Sign-in did not complete; please try again.", error=True)
        return
    result = auth.result
    if not await events.adopt_session(page, result.session_cookie):
        snack(page, "Sign-in did not complete; please try again.", error=True)
        return
    state = get_session_state(page)
    state.tenant = state.tenant_by_slug(result.tenant_slug) if result.tenant_slug else None
    snack(page, f"Signed in as {state.user['email'] if state.user else ''}.")
    await state.router.go(home_route(page))
