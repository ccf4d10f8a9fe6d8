"""HTTP handlers: read the request, let the Authlib server decide, answer HTML or JSON."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants, scope_to_list
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from console.identity.devidp.csrf import (
    COOKIE_NAME,
    FIELD_NAME,
    TOKEN_TTL_SECONDS,
    CsrfGuard,
    browser_id_or_new,
)
from console.identity.devidp.integration import (
    NO_STORE,
    DevRequest,
    Pairs,
    read_form,
    to_response,
)
from console.identity.devidp.keys import SigningKey
from console.identity.devidp.models import DevUser, KnownUsers, parse_user
from console.identity.devidp.server import DevAuthorizationServer
from console.identity.devidp.templates import AuthorizePage, render_authorize, render_error

log = logging.getLogger(__name__)


def _origin(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _form_action(params: Pairs) -> str:
    """Relative to the page (`<mount>/authorize`), so it works whatever host the browser used."""
    return "authorize?" + urlencode(params)


def page_headers(redirect_uri: str | None = None) -> dict[str, str]:
    """A strict CSP; the form may also lead to the client's origin (browsers check redirects)."""
    targets = " ".join(filter(None, ["'self'", redirect_uri and _origin(redirect_uri)]))
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "content-security-policy": csp,
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        **NO_STORE,
    }


def error_page(
    error: str, description: str | None, status: int = 400, *, retry: str | None = None
) -> HTMLResponse:
    body = render_error(error, description, retry=retry)
    return HTMLResponse(body, status, headers=page_headers())


class DevIdpRoutes:
    """The endpoints, sharing one server, key, CSRF guard and the list of known users."""

    def __init__(
        self,
        *,
        issuer: str,
        server: DevAuthorizationServer,
        key: SigningKey,
        metadata: Mapping[str, object],
        known_users: KnownUsers | None,
    ) -> None:
        self.issuer = issuer
        self.server = server
        self.key = key
        self.metadata = metadata
        self.known_users = known_users
        self.csrf = CsrfGuard()
        self.secure_cookie = issuer.startswith("https://")

    def _uri(self, path: str, request: Request) -> str:
        query = request.url.query
        return f"{self.issuer}{path}" + (f"?{query}" if query else "")

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(dict(self.metadata), headers=NO_STORE)

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(self.key.jwks(), headers=NO_STORE)

    async def authorize(self, request: Request) -> Response:
        params = request.query_params.multi_items()
        oauth = DevRequest(
            request.method, self._uri("/authorize", request), request.headers, params=params
        )
        if request.method != "POST":
            try:
                grant = self.server.get_consent_grant(oauth, end_user=None)
            except OAuth2Error as error:
                return self._authorization_error(oauth, error)
            return await self._sign_in_page(request, grant, params)
        return await self._complete(request, oauth, params)

    async def _complete(self, request: Request, oauth: DevRequest, params: Pairs) -> Response:
        form = await read_form(request)
        if form is None:
            return error_page("invalid_request", "Expected a form.")
        fields = dict(reversed(form))
        token = fields.get(FIELD_NAME, "")
        if not self.csrf.verify(token, request.cookies.get(COOKIE_NAME), params):
            return error_page(
                "invalid_form",
                "This form expired or was not opened in this browser.",
                status=403,
                retry=_form_action(params),
            )
        try:
            grant = self.server.get_authorization_grant(oauth)
            grant.validate_no_multiple_request_parameter(oauth)
            grant.redirect_uri = grant.validate_authorization_request()
        except OAuth2Error as error:
            return self._authorization_error(oauth, error)
        user: DevUser | None = None
        match fields.get("decision"):
            case "cancel":
                pass
            case "approve":
                user, errors = parse_user(fields.get("email", ""), fields.get("name", ""))
                if user is None:
                    return await self._sign_in_page(
                        request, grant, params, fields=fields, errors=errors, status=400
                    )
            case _:
                return error_page("invalid_request", "Choose a user or cancel.")
        answer = self.server.create_authorization_response(oauth, grant_user=user, grant=grant)
        return to_response(answer)

    def _authorization_error(self, oauth: DevRequest, error: OAuth2Error) -> Response:
        """Redirect to a validated redirect_uri; otherwise show the error, never redirect."""
        answer = self.server.authorization_error(oauth, error)
        if answer.location:
            return to_response(answer)
        return error_page(error.error or "invalid_request", error.description, error.status_code)

    async def _sign_in_page(
        self,
        request: Request,
        grant: grants.AuthorizationCodeGrant,
        params: Pairs,
        *,
        fields: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        users, failed = await self._load_known_users()
        browser_id = browser_id_or_new(request.cookies.get(COOKIE_NAME))
        fields = fields or {}
        page = AuthorizePage(
            client_id=grant.client.get_client_id(),
            redirect_uri=grant.redirect_uri,
            scopes=scope_to_list(grant.request.scope) or [],
            known_users=users,
            known_users_failed=failed,
            form_action=_form_action(params),
            csrf_token=self.csrf.issue(browser_id, params),
            email=fields.get("email", ""),
            name=fields.get("name", ""),
            errors=errors or {},
        )
        response = HTMLResponse(
            render_authorize(page), status, headers=page_headers(grant.redirect_uri)
        )
        response.set_cookie(
            COOKIE_NAME,
            browser_id,
            max_age=TOKEN_TTL_SECONDS,
            path=request.scope.get("root_path", "").rstrip("/") + "/",
            secure=self.secure_cookie,
            httponly=True,
            samesite="lax",
        )
        return response

    async def _load_known_users(self) -> tuple[Sequence[DevUser], bool]:
        if self.known_users is None:
            return (), False
        try:
            return tuple(await self.known_users()), False
        except Exception:
            log.exception("devidp: known_users() failed")
            return (), True

    async def token(self, request: Request) -> Response:
        form = await read_form(request)
        if form is None or len({k for k, _ in form}) != len(form):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Expected a form, no repeats."},
                400,
                headers=NO_STORE,
            )
        oauth = DevRequest(
            "POST", self._uri("/token", request), request.headers, params=form, form=form
        )
        return to_response(self.server.create_token_response(oauth))

    async def userinfo(self, request: Request) -> Response:
        oauth = DevRequest(
            request.method,
            self._uri("/userinfo", request),
            request.headers,
            params=request.query_params.multi_items(),
        )
        return to_response(self.server.userinfo_response(oauth))
