"""Page lifecycle events: connect re-checks identity, disconnect only logs, close tears down."""

from __future__ import annotations

from typing import Any

import flet as ft
import structlog

from console.dashboard.api_client import ApiError
from console.dashboard.gate import HANDSHAKE
from console.dashboard.notify import snack
from console.dashboard.state import clear_session_state, get_session_state

log = structlog.get_logger(__name__)


def router_of(page: ft.Page) -> Any:
    from console.dashboard.router import Router

    router = get_session_state(page).router
    assert isinstance(router, Router)
    return router


async def load_identity(page: ft.Page) -> bool:
    """Take the session cookie from this connection's handshake and ask the API who it is."""
    state = get_session_state(page)
    cookies = HANDSHAKE.get().cookies
    settings = state.settings
    state.api.use_binding(cookies.get(settings.binding_cookie_name))
    cookie = cookies.get(settings.session_cookie_name)
    if not cookie:
        state.forget_user()
        return False
    return await adopt_session(page, cookie)


async def adopt_session(page: ft.Page, cookie: str) -> bool:
    """Use this session cookie from now on, if the API accepts it."""
    state = get_session_state(page)
    state.api.use_session(cookie)
    try:
        state.user = await state.api.get("/api/v1/me")
        state.tenants = await state.api.get("/api/v1/tenants")
    except ApiError as exc:
        if exc.status != 401:
            raise
        state.forget_user()
        follow_session(page, None)
        return False
    follow_session(page, cookie)
    return True


async def signed_out(
    page: ft.Page, message: str | None = None, *, tenant: str | None = None
) -> None:
    """Forget the user in this session and show the sign-in screen (of `tenant`, else of the
    tenant on screen)."""
    state = get_session_state(page)
    tenant = tenant or (state.tenant["slug"] if state.tenant else None)
    state.forget_user()
    follow_session(page, None)
    if message:
        snack(page, message)
    await router_of(page).go(f"/t/{tenant}/sign-in" if tenant else "/sign-in")


async def on_connect(e: ft.ControlEvent) -> None:
    """Reconnected (refresh, new handshake): re-validate the cookie, then refresh the view."""
    page = e.page
    state = get_session_state(page)
    was_signed_in = state.signed_in
    # load_identity forgets the tenant along with a rejected user: remember where they were.
    tenant = state.tenant["slug"] if state.tenant else None
    try:
        signed_in = await load_identity(page)
    except ApiError:
        log.warning("dashboard_identity_check_failed")
        return
    if was_signed_in and not signed_in:
        await signed_out(page, "You were signed out.", tenant=tenant)
        return
    await router_of(page).refresh()


async def on_disconnect(e: ft.ControlEvent) -> None:
    log.info("dashboard_disconnected")


async def on_close(e: ft.ControlEvent) -> None:
    """The session timed out after its tab went away: cancel everything it still owns."""
    page = e.page
    try:
        await router_of(page).leave()
    finally:
        await clear_session_state(page)
    log.info("dashboard_session_closed")


async def on_error(e: ft.ControlEvent) -> None:
    log.error("dashboard_error", data=str(getattr(e, "data", ""))[:500])


async def on_resize(e: ft.PageResizeEvent) -> None:
    """Re-lay the screen out (rail or drawer) if the window crossed the breakpoint; nothing is
    fetched, and nothing is sent unless the layout changed."""
    from console.dashboard.views.chrome import relayout

    ft.context.disable_auto_update()
    router = get_session_state(e.page).router
    if router is not None and router.current is not None:
        relayout(router.current, getattr(e, "width", None) or e.page.width)


def session_topic(cookie: str) -> str:
    """A pubsub topic shared by the tabs signed in with one browser session (never the cookie)."""
    import hashlib

    return "signed-out:" + hashlib.sha256(cookie.encode()).hexdigest()[:32]


def follow_session(page: ft.Page, cookie: str | None) -> None:
    """Subscribe this tab to sign-outs made in other tabs of the same browser session."""
    state = get_session_state(page)
    if state.session_topic:
        page.pubsub.unsubscribe_topic(state.session_topic)
        state.session_topic = None
    if not cookie:
        return
    state.session_topic = session_topic(cookie)

    async def on_message(_topic: str, _message: object) -> None:
        if page.session.connection is None:
            return  # a disconnected tab can run nothing (run_task fails); on_connect re-checks
        if get_session_state(page).signed_in:
            page.run_task(signed_out, page, "You signed out in another tab.")

    page.pubsub.subscribe_topic(state.session_topic, on_message)


def broadcast_sign_out(page: ft.Page) -> None:
    state = get_session_state(page)
    if state.session_topic:
        page.pubsub.send_others_on_topic(state.session_topic, "signed-out")
