"""The gate in front of Flet's `<mount>/oauth_callback`: the state must be one this browser
started (binding cookie), unexpired and unused, the `iss` must match; only then is the code
exchanged, the id_token verified, a session created — and Flet's own handler told."""

from __future__ import annotations

import html

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from flet_web.fastapi.flet_app_manager import app_manager
from flet_web.fastapi.flet_oauth import FletOAuth

from console.dashboard.handoff import ConsoleAuthorization, SignInResult
from console.identity import signin
from console.kit.errors import ConsoleError
from console.kit.ratelimit import TooManyRequests

log = structlog.get_logger(__name__)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><style>body{{font:16px system-ui,sans-serif;margin:3rem;max-width:36rem}}
</style></head><body><h1>{title}</h1><p>{message}</p></body></html>"""


def _page(title: str, message: str, status: int) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=html.escape(title), message=html.escape(message)),
        status_code=status,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "no-store",
        },
    )


async def oauth_callback(request: Request) -> Response:
    state = request.query_params.get("state") or ""
    settings = request.app.state.settings
    limits = request.app.state.limits
    try:
        await limits.check_callback(request)
    except TooManyRequests as exc:
        page = _page("Too many attempts", "Too many failed sign-ins; wait a moment.", 429)
        page.headers.update(exc.headers)
        return page
    try:
        if not state or len(state) > 256:
            raise signin.SignInError("The sign-in response is missing its state.")
        # Two units of work on purpose: the state is spent (committed) even when the code
        # exchange or the membership check below fails, so a callback can never be replayed.
        async with request.app.state.db.unit_of_work() as db:
            pending = await signin.claim(
                db, state=state, binding=request.cookies.get(settings.binding_cookie_name)
            )
        error = request.query_params.get("error")
        if error:
            description = request.query_params.get("error_description") or error
            raise signin.SignInError(f"The identity provider said: {description[:200]}")
        code = request.query_params.get("code")
        if not code:
            raise signin.SignInError("The identity provider sent no authorization code.")
        async with request.app.state.db.unit_of_work() as db:
            result = await signin.complete(
                db,
                request.app.state.signin_deps,
                pending,
                code=code,
                iss_param=request.query_params.get("iss"),
                ip=request.client.host if request.client else None,
                user_agent=request.headers.get("user-agent"),
            )
    except ConsoleError as exc:
        await limits.callback_failed(request)
        log.warning("sign_in_rejected", reason=exc.detail)
        return _page("Sign-in failed", f"{exc.detail} You can close this window.", 400)

    request.app.state.handoff.put(
        state,
        SignInResult(
            session_cookie=result.session_cookie,
            user_id=str(result.user.id),
            tenant_slug=result.tenant_slug,
        ),
    )
    response = await _tell_flet(request, state)
    response.set_cookie(
        settings.session_cookie_name,
        result.session_cookie,
        max_age=settings.session_lifetime_seconds,
        path="/",
        httponly=True,
        secure=settings.is_https,
        samesite="lax",
    )
    return response


async def _tell_flet(request: Request, state: str) -> Response:
    """Let Flet finish its flow (fires on_login in the session); tolerate a lost session."""
    flet_state = app_manager.retrieve_state(state)
    session = await app_manager.get_session(flet_state.session_id) if flet_state else None
    auth = session.page.auth if session else None
    if flet_state is None or not isinstance(auth, ConsoleAuthorization):
        # The tab closed or the session lives in another process.
        return _page("Signed in", "Return to the console and reload the page.", 200)
    if auth.state != state:
        # The tab started another sign-in (a second window) before this one was finished:
        # the tab that started this one (Flet's state → session) in this browser (binding
        # cookie, checked above) is signed in by whichever the user completes.
        auth.adopt(state)
    app_manager.store_state(state, flet_state)  # FletOAuth pops it again
    return await FletOAuth().handle(request)
