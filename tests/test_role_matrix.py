"""The role matrix: every route the app serves, for every kind of caller, each call a valid
request, so the status says what authorization decided. A route missing from POLICY fails here
until someone decides who may call it.

Sign-in routes are browser routes: every call carries what the console's page in a browser
sends (its binding cookie and Origin), and the callback gets a genuinely completed sign-in, so
their status too is authorization's (refusals of the binding, Origin and state are the subject of
tests/identity/test_sign_in_flow.py).

Then a cross-tenant probe: another tenant's admin, going through their own tenant with tenant A's
ids, gets 404 and changes nothing; their lists show none of A's ids."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select
from starlette.routing import Mount

from console.app import create_app
from console.audit.models import AuditEvent
from console.identity import service as identity_service
from console.identity.models import ApiToken, IdentityProvider, User, UserSession
from console.jobs import service as job_service
from console.jobs.files import upload_path
from console.jobs.links import download_signer, upload_signer
from console.jobs.models import Job
from console.kit.crypto import new_secret
from console.projects.models import Project
from console.settings import Settings
from console.tenancy.models import Invitation, Membership, Tenant
from tests.conftest import ORIGIN, as_cookie, as_token
from tests.factories import Actor, Factory, unique
from tests.identity.browser import Browser, query_of
from tests.jobs.conftest import dispatcher_of
from tests.jobs.fakes import RecordingDispatcher, finished_export, make_job

pytestmark = pytest.mark.anyio

Route = tuple[str, str]  # (METHOD, full path template)


def served_routes(app: FastAPI) -> dict[Route, int]:
    """Every (method, path template) the app serves, with its success status; a mount is a GET.

    FastAPI keeps included routers nested, so walk them with `iter_route_contexts`.
    """
    routes: dict[Route, int] = {}
    for context in iter_route_contexts(app.routes):
        assert context.path is not None, f"a route without a path: {context.route!r}"
        if isinstance(context.route, Mount):
            routes["GET", context.path] = 200
            continue
        methods = context.methods or {"WEBSOCKET"}
        for method in sorted(methods - {"HEAD"}):
            routes[method, context.path] = getattr(context, "status_code", None) or 200
    return routes


# The routes as the code defines them, for parametrization (no database is touched).
_SETTINGS = Settings(
    database_url="sqlite+aiosqlite:///:memory:",
    broker_url="memory://",
    seed_demo=False,
    log_level="WARNING",
)
ROUTES = served_routes(create_app(_SETTINGS))
DASHBOARD = _SETTINGS.flet_web_app_path
DEV_IDP = "/dev-idp"
# A mount is probed at a page it serves.
DOCS_ASSETS = "/api/docs/assets"
MOUNT_PAGES = {
    DASHBOARD: DASHBOARD + "/",
    DEV_IDP: DEV_IDP + "/.well-known/openid-configuration",
    DOCS_ASSETS: DOCS_ASSETS + "/swagger-ui-bundle.js",
}

PUBLIC = "public"
USER = "user"
TENANT_VIEWER = "tenant:viewer"
TENANT_MEMBER = "tenant:member"
TENANT_ADMIN = "tenant:admin"
OPERATOR = "operator"
# Authorized by a signed token in the URL alone (whoever presents it; cookies are not read).
SIGNED = "signed"

API = "/api/v1"
T = API + "/tenants/{tenant}"
PLATFORM = API + "/platform/tenants"
AUTH = API + "/auth"
SIGN_IN = ("POST", AUTH + "/sign-in")
SIGN_OUT = ("POST", AUTH + "/sign-out")
CALLBACK = ("GET", DASHBOARD + "/oauth_callback")
JOB = T + "/jobs/{job_id}"
IMPORTS = ("POST", T + "/jobs/imports")
PUT_UPLOAD = ("PUT", API + "/uploads/{upload_id}")
# The session app's own development provider (its public origin is ORIGIN).
DEV_ISSUER = ORIGIN + DEV_IDP

POLICY: dict[Route, str] = {
    ("GET", "/livez"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", API + "/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", DOCS_ASSETS): PUBLIC,
    ("GET", DASHBOARD): PUBLIC,
    ("GET", DEV_IDP): PUBLIC,
    CALLBACK: PUBLIC,
    ("GET", AUTH + "/tenants/{tenant}"): PUBLIC,
    SIGN_IN: PUBLIC,
    SIGN_OUT: USER,
    ("GET", AUTH + "/sessions"): USER,
    ("DELETE", AUTH + "/sessions/{session_id}"): USER,
    ("GET", API + "/me"): USER,
    ("GET", API + "/tenants"): USER,
    ("GET", T + "/members"): TENANT_VIEWER,
    ("PATCH", T + "/members/{user_id}"): TENANT_ADMIN,
    ("DELETE", T + "/members/{user_id}"): TENANT_ADMIN,
    ("POST", T + "/members/{user_id}/revoke-sessions"): TENANT_ADMIN,
    ("GET", T + "/invitations"): TENANT_ADMIN,
    ("POST", T + "/invitations"): TENANT_ADMIN,
    ("DELETE", T + "/invitations/{invitation_id}"): TENANT_ADMIN,
    ("GET", T + "/api-tokens"): TENANT_ADMIN,
    ("POST", T + "/api-tokens"): TENANT_ADMIN,
    ("DELETE", T + "/api-tokens/{token_id}"): TENANT_ADMIN,
    ("GET", T + "/overview"): TENANT_VIEWER,
    ("GET", T + "/projects"): TENANT_VIEWER,
    ("POST", T + "/projects"): TENANT_MEMBER,
    ("GET", T + "/projects/{project_id}"): TENANT_VIEWER,
    ("PATCH", T + "/projects/{project_id}"): TENANT_MEMBER,
    ("POST", T + "/projects/{project_id}/archive"): TENANT_MEMBER,
    ("POST", T + "/projects/{project_id}/restore"): TENANT_MEMBER,
    ("DELETE", T + "/projects/{project_id}"): TENANT_ADMIN,
    ("GET", T + "/jobs"): TENANT_VIEWER,
    ("POST", T + "/jobs/exports"): TENANT_MEMBER,
    IMPORTS: TENANT_MEMBER,
    ("GET", JOB): TENANT_VIEWER,
    # Members cancel the jobs they started (each call's job is the caller's); admins any.
    ("POST", JOB + "/cancel"): TENANT_MEMBER,
    ("POST", JOB + "/retry"): TENANT_MEMBER,
    ("POST", JOB + "/download-link"): TENANT_VIEWER,
    # Membership AND a link signed for the caller (each call gets one).
    ("GET", JOB + "/download"): TENANT_VIEWER,
    ("POST", T + "/uploads"): TENANT_MEMBER,
    PUT_UPLOAD: SIGNED,
    ("GET", T + "/audit"): TENANT_ADMIN,
    ("GET", T + "/identity-provider"): TENANT_ADMIN,
    ("PUT", T + "/identity-provider"): TENANT_ADMIN,
    ("POST", T + "/identity-provider/check"): TENANT_ADMIN,
    ("GET", PLATFORM): OPERATOR,
    ("POST", PLATFORM): OPERATOR,
    ("GET", PLATFORM + "/{tenant_id}"): OPERATOR,
    ("POST", PLATFORM + "/{tenant_id}/suspend"): OPERATOR,
    ("PUT", PLATFORM + "/{tenant_id}/identity-provider"): OPERATOR,
    ("POST", PLATFORM + "/{tenant_id}/resume"): OPERATOR,
    ("GET", API + "/platform/health"): OPERATOR,
}

# Valid bodies, fresh per call (unique keys, slugs and emails never collide).
BODIES: dict[Route, Callable[[], dict[str, Any]]] = {
    SIGN_IN: lambda: {},  # the platform's sign-in (the development provider)
    ("PUT", T + "/identity-provider"): lambda: provider_settings(unique("matrix-client")),
    ("PATCH", T + "/members/{user_id}"): lambda: {"role": "member"},
    ("POST", T + "/invitations"): lambda: {
        "email": f"{unique('invitee')}@example.com",
        "role": "viewer",
    },
    ("POST", T + "/api-tokens"): lambda: {"name": "matrix", "role": "viewer"},
    ("POST", T + "/projects"): lambda: {"key": unique("M"), "name": "Matrix project"},
    ("PATCH", T + "/projects/{project_id}"): lambda: {"name": "Renamed by the matrix"},
    ("POST", T + "/jobs/exports"): lambda: {"status": "active"},
    ("POST", T + "/uploads"): lambda: {"filename": "matrix.csv", "size": 100},
    PUT_UPLOAD: lambda: {"key": "M1", "name": "uploaded by the matrix"},
    ("POST", PLATFORM): lambda: {
        "slug": unique("m"),
        "name": "Matrix tenant",
        "admin_email": f"{unique('first-admin')}@example.com",
    },
    ("POST", PLATFORM + "/{tenant_id}/suspend"): lambda: {"reason": "matrix"},
    ("PUT", PLATFORM + "/{tenant_id}/identity-provider"): lambda: provider_settings(
        unique("matrix-platform-client")
    ),
}


def provider_settings(client_id: str) -> dict[str, Any]:
    """A tenant provider: the development one; client ids tell tenants' settings apart."""
    return {"issuer": DEV_ISSUER, "client_id": client_id, "client_secret": new_secret()}


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::[^}]*)?}", path)


def url_of(route: Route, params: dict[str, str]) -> str:
    method, path = route
    if method == "GET" and path in MOUNT_PAGES:
        return MOUNT_PAGES[path]
    return re.sub(r"{(\w+)(?::[^}]*)?}", lambda m: params[m[1]], path)


def is_tenant_route(route: Route) -> bool:
    return POLICY.get(route, "").startswith("tenant:")


@dataclass(frozen=True)
class Caller:
    """Who calls, as far as the expected status is concerned."""

    name: str
    signed_in: bool = True
    role_in_a: str | None = None  # the effective role in tenant A; None: not a member
    operates: bool = False  # may use the platform (operator) routes


COOKIE_CALLERS = (
    Caller("anonymous", signed_in=False),
    Caller("viewer", role_in_a="viewer"),
    Caller("member", role_in_a="member"),
    Caller("admin", role_in_a="admin"),
    Caller("other-tenant-admin"),
    Caller("operator", operates=True),
)
TOKEN_CALLERS = (
    Caller("expired-token", signed_in=False),
    Caller("viewer", role_in_a="viewer"),
    Caller("member", role_in_a="member"),
    Caller("admin", role_in_a="admin"),
    # A token never carries more than its own role, whatever its owner's membership.
    Caller("admin-with-viewer-token", role_in_a="viewer"),
    Caller("other-tenant-admin"),
    # An operator's token (for a tenant they belong to) carries no operator powers.
    Caller("operator"),
)
CALLERS = {"cookie": COOKIE_CALLERS, "token": TOKEN_CALLERS}


# Spelled out, not taken from console.tenancy.roles, so the app cannot agree with itself.
RANK = {"viewer": 0, "member": 1, "admin": 2}


def expected_status(policy: str, caller: Caller, success: int) -> int:
    if policy == PUBLIC:
        return 200
    if policy == SIGNED:
        return success
    if not caller.signed_in:
        return 401
    if policy == USER:
        return success
    if policy == OPERATOR:
        return success if caller.operates else 403
    if caller.role_in_a is None:
        return 404  # another tenant's resource, or an operator who is not a member: no such tenant
    allowed = RANK[caller.role_in_a] >= RANK[policy.removeprefix("tenant:")]
    return success if allowed else 403


@pytest.fixture(scope="module", autouse=True)
def recorded_jobs(app: FastAPI) -> Any:
    """Jobs the matrix creates ring a recorder, not a broker."""
    with dispatcher_of(app, RecordingDispatcher()):
        yield


@dataclass
class World:
    """Tenant A (under test), tenant B (the other tenant) and everyone's request headers."""

    a: Tenant
    b: Tenant
    a_admin: Actor
    headers: dict[tuple[str, str], dict[str, str]]  # (mode, caller name) → headers
    users: dict[str, User]  # caller name → the user behind the cookie or token (if any)


@pytest.fixture(scope="module")
async def world(app: FastAPI, factory: Factory) -> World:
    a, b, c = await factory.tenant(), await factory.tenant(), await factory.tenant()
    viewer = await factory.actor(a, "viewer")
    member = await factory.actor(a, "member")
    admin = await factory.actor(a, "admin")
    other = await factory.actor(b, "admin")
    # An operator who is a member of a third tenant only: not of A, and with a token for C.
    operator = await factory.actor(c, "admin", operator=True)
    narrowed = await factory.token(a, admin.user, "viewer")
    expired = await factory.token(a, admin.user, "admin", expires_in=timedelta(seconds=-1))
    headers: dict[tuple[str, str], dict[str, str]] = {
        ("cookie", "anonymous"): {},
        ("token", "expired-token"): {"Authorization": f"Bearer {expired}"},
        ("token", "admin-with-viewer-token"): {"Authorization": f"Bearer {narrowed}"},
    }
    users = {"expired-token": admin.user, "admin-with-viewer-token": admin.user}
    for name, actor in [
        ("viewer", viewer),
        ("member", member),
        ("admin", admin),
        ("other-tenant-admin", other),
        ("operator", operator),
    ]:
        headers["cookie", name] = as_cookie(actor, app)
        headers["token", name] = as_token(actor)
        users[name] = actor.user
    # One of everything in both tenants, including audit events (written by the API).
    async with AsyncClient(transport=ASGITransport(app=app), base_url=ORIGIN) as client:
        for tenant, actor in ((a, admin), (b, other)):
            await factory.project(tenant)
            await factory.invitation(tenant)
            created = await client.post(
                f"{API}/tenants/{tenant.slug}/projects",
                json={"key": unique("SEED"), "name": "Seed"},
                headers=as_token(actor),
            )
            assert created.status_code == 201, created.text
            configured = await client.put(
                f"{API}/tenants/{tenant.slug}/identity-provider",
                json=provider_settings(unique(f"seed-client-{tenant.slug}")),
                headers=as_token(actor),
            )
            assert configured.status_code == 200, configured.text
            await make_job(factory.db, tenant.id, status="failed", created_by=actor.id)
    return World(a=a, b=b, a_admin=admin, headers=headers, users=users)


@dataclass
class Fresh:
    """Fresh resources of tenant A for one call's path parameters (and the headers they need)."""

    params: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str] = field(default_factory=dict)  # added to the caller's
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # replaces BODIES' for this call
    session: str | None = None  # replaces a cookie caller's session cookie


async def fresh_session(factory: Factory, user: User) -> tuple[str, uuid.UUID]:
    """A new browser session of `user`: its cookie value and id."""
    async with factory.db.system_session() as s:
        value, session = await identity_service.start_session(s, user, timedelta(hours=1))
    return value, session.id


async def completed_sign_in(app: FastAPI, factory: Factory, binding: str) -> dict[str, str]:
    """The provider's answer to a sign-in started in a browser with `binding` (an operator's,
    through the platform's development provider): the callback's query."""
    operator = await factory.user(operator=True)
    async with AsyncClient(transport=ASGITransport(app=app), base_url=ORIGIN) as http:
        browser = Browser(app, http)
        http.cookies.set(app.state.settings.binding_cookie_name, binding)
        location = await browser.approve(await browser.authorization_url(None), operator.email)
    return query_of(location)


async def fresh_targets(
    app: FastAPI, factory: Factory, world: World, route: Route, mode: str = "", caller: str = ""
) -> Fresh:
    """New resources per call, so deleting, suspending or removing never disturbs later calls;
    and what a browser route needs from a browser."""
    _, path = route
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    fresh = Fresh(params, headers)
    if route in (SIGN_IN, CALLBACK):
        binding = new_secret()
        fresh.cookies[app.state.settings.binding_cookie_name] = binding
        headers["Origin"] = ORIGIN
        if route == CALLBACK:
            fresh.query = await completed_sign_in(app, factory, binding)
    user = world.users.get(caller)
    if route == SIGN_OUT and mode == "cookie" and user is not None:
        fresh.session, _ = await fresh_session(factory, user)  # the caller's own is kept
    for name in path_params(path):
        if name == "tenant":
            params[name] = world.a.slug
        elif name == "project_id":
            status = "archived" if path.endswith("/restore") else "active"
            project = await factory.project(world.a, status=status)
            params[name] = str(project.id)
            headers["If-Match"] = f'"{project.version}"'
        elif name == "user_id":
            user = await factory.member(world.a, "viewer")
            await factory.cookie(user)  # a live session, so revoking sessions has an effect
            params[name] = str(user.id)
        elif name == "invitation_id":
            params[name] = str((await factory.invitation(world.a)).id)
        elif name == "token_id":
            token, _ = await factory.api_token(world.a, world.a_admin.user, "viewer")
            params[name] = str(token.id)
        elif name == "job_id":
            params[name] = await fresh_job(app, factory, world, route, user or world.a_admin.user)
            if path.endswith("/download"):
                fresh.query = signed_download(app, world, params[name], user or world.a_admin.user)
        elif name == "upload_id":
            upload_id = uuid.uuid4()
            params[name] = str(upload_id)
            fresh.query = {"token": upload_token(app, world, upload_id)}
        elif name == "tenant_id":
            status = "suspended" if path.endswith("/resume") else "active"
            params[name] = str((await factory.tenant(status=status)).id)
        elif name == "session_id":
            # Another session of the caller (of a stranger's, for callers that are nobody).
            owner = user or await factory.user()
            _, session_id = await fresh_session(factory, owner)
            params[name] = str(session_id)
        else:
            pytest.fail(f"{route}: no fresh target for {{{name}}}; teach fresh_targets about it")
    if route == IMPORTS:
        fresh.body = {"upload_id": str(completed_upload(app, world))}
    return fresh


async def fresh_job(app: FastAPI, factory: Factory, world: World, route: Route, user: User) -> str:
    """A job of tenant A in the state the route acts on, started by the caller."""
    _, path = route
    if path.endswith(("/download", "/download-link")):
        job = await finished_export(factory.db, app.state.settings, world.a.id, created_by=user.id)
    else:
        status = "failed" if path.endswith("/retry") else "queued"
        job = await make_job(factory.db, world.a.id, status=status, created_by=user.id)
    return str(job.id)


def signed_download(app: FastAPI, world: World, job_id: str, user: User) -> dict[str, str]:
    """What download-link would have given `user` for the job's export."""
    expires = int(job_service.utcnow().timestamp()) + 600
    signer = download_signer(app.state.settings.secret_key.get_secret_value())
    signature = signer.sign(world.a.id, uuid.UUID(job_id), "export", user.id, expires)
    return {"file": "export", "expires": str(expires), "signature": signature}


def upload_token(app: FastAPI, world: World, upload_id: uuid.UUID) -> str:
    """An upload ticket's token of tenant A's admin, for `upload_id`."""
    expires = int(job_service.utcnow().timestamp()) + 600
    return upload_signer(app.state.settings.secret_key.get_secret_value()).dumps(
        {
            "t": str(world.a.id),
            "u": str(world.a_admin.id),
            "i": str(upload_id),
            "m": 1024,
            "e": expires,
            "f": "matrix.csv",
        }
    )


def completed_upload(app: FastAPI, world: World) -> uuid.UUID:
    """A file uploaded to tenant A, ready to import."""
    upload_id = uuid.uuid4()
    path = upload_path(app.state.settings, world.a.id, upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"key,name\r\nM1,Matrix\r\n")
    return upload_id


def request_headers(caller_headers: dict[str, str], fresh: Fresh, session_cookie: str) -> dict:
    """The caller's headers with the call's own; cookies are merged into one header."""
    jar: dict[str, str] = {}
    for pair in filter(None, caller_headers.get("Cookie", "").split("; ")):
        name, _, value = pair.partition("=")
        jar[name] = value
    if fresh.session is not None:
        jar[session_cookie] = fresh.session
    jar |= fresh.cookies
    headers = {**fresh.headers, **caller_headers}
    headers.pop("Cookie", None)
    if jar:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
    return headers


async def call(
    client: AsyncClient,
    route: Route,
    params: dict[str, str],
    headers: dict[str, str],
    query: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Response:
    make_body = BODIES.get(route)
    return await client.request(
        route[0],
        url_of(route, params),
        params=query,
        json=body if body is not None else make_body() if make_body else None,
        headers=headers,
    )


def _matrix_cases() -> list[Any]:
    return [
        pytest.param(mode, route, caller, id=f"{mode}-{route[0]} {route[1]}-{caller.name}")
        for mode, callers in CALLERS.items()
        for route in ROUTES
        for caller in callers
    ]


async def test_policy_names_every_route_and_nothing_else(app: FastAPI) -> None:
    served = served_routes(app)
    assert served.keys() == ROUTES.keys(), "the app under test serves other routes than the code"
    missing = sorted(served.keys() - POLICY.keys())
    stale = sorted(POLICY.keys() - served.keys())
    assert (missing, stale) == ([], []), (
        f"routes without a POLICY entry (decide who may call them): {missing}; "
        f"POLICY entries for routes that no longer exist: {stale}"
    )


@pytest.mark.parametrize(("mode", "route", "caller"), _matrix_cases())
async def test_role_matrix(
    app: FastAPI,
    client: AsyncClient,
    factory: Factory,
    world: World,
    mode: str,
    route: Route,
    caller: Caller,
) -> None:
    policy = POLICY.get(route)
    if policy is None:
        pytest.fail(f"{route[0]} {route[1]} has no POLICY entry: decide who may call it")
    want = expected_status(policy, caller, ROUTES[route])
    fresh = await fresh_targets(app, factory, world, route, mode, caller.name)
    session_cookie = app.state.settings.session_cookie_name
    headers = request_headers(world.headers[mode, caller.name], fresh, session_cookie)
    response = await call(client, route, fresh.params, headers, fresh.query, fresh.body)
    assert response.status_code == want, (
        f"{route[0]} {url_of(route, fresh.params)} ({policy}) as {caller.name} via {mode}: "
        f"expected {want}, got {response.status_code}: {response.text[:300]}"
    )


# ---- the cross-tenant probe --------------------------------------------------------------------

RESOURCE_ROUTES = [r for r in ROUTES if is_tenant_route(r) and set(path_params(r[1])) - {"tenant"}]
# Counts only, no ids to leak or to prove anything with: tests/overview checks they are B's own.
COUNT_ROUTES = {("GET", T + "/overview")}
LIST_ROUTES = [
    r
    for r in ROUTES
    if is_tenant_route(r)
    and r[0] == "GET"
    and path_params(r[1]) == ["tenant"]
    and r not in COUNT_ROUTES
]


async def snapshot(factory: Factory, world: World, fresh: Fresh) -> list[Any]:
    """The state of tenant A's targeted resources, and how many audit events A has."""
    state: list[Any] = []
    async with factory.db.system_session() as s:
        for name, value in fresh.params.items():
            target = None if name == "tenant" else uuid.UUID(value)
            if name == "project_id":
                project = await s.get(Project, target)
                assert project is not None
                state.append((project.tenant_id, project.name, project.status, project.version))
            elif name == "user_id":
                membership = await s.scalar(
                    select(Membership.role).where(
                        Membership.tenant_id == world.a.id, Membership.user_id == target
                    )
                )
                live_sessions = await s.scalar(
                    select(func.count())
                    .select_from(UserSession)
                    .where(UserSession.user_id == target, UserSession.revoked_at.is_(None))
                )
                state.append((membership, live_sessions))
            elif name == "invitation_id":
                invitation = await s.get(Invitation, target)
                assert invitation is not None
                state.append((invitation.tenant_id, invitation.revoked_at, invitation.accepted_at))
            elif name == "token_id":
                token = await s.get(ApiToken, target)
                assert token is not None
                state.append((token.tenant_id, token.revoked_at))
            elif name == "job_id":
                job = await s.get(Job, target)
                assert job is not None
                state.append((job.tenant_id, job.status, job.cancel_requested_at))
        # No job of A was added (a retry's new row, say).
        state.append(
            await s.scalar(select(func.count()).select_from(Job).where(Job.tenant_id == world.a.id))
        )
        state.append(
            await s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.tenant_id == world.a.id)
            )
        )
    return state


async def ids_of(factory: Factory, tenant: Tenant) -> set[str]:
    """Every id that belongs to the tenant: its rows, its members, its audit events' targets."""
    ids: set[uuid.UUID | str] = {tenant.id}
    async with factory.db.system_session() as s:
        for column, tenant_column in [
            (Project.id, Project.tenant_id),
            (Membership.user_id, Membership.tenant_id),
            (Invitation.id, Invitation.tenant_id),
            (ApiToken.id, ApiToken.tenant_id),
            (Job.id, Job.tenant_id),
            (AuditEvent.id, AuditEvent.tenant_id),
            (IdentityProvider.id, IdentityProvider.tenant_id),
            # Settings carry no id; their client ids are unique per tenant here.
            (IdentityProvider.client_id, IdentityProvider.tenant_id),
        ]:
            ids.update((await s.scalars(select(column).where(tenant_column == tenant.id))).all())
    return {str(i) for i in ids}


def _modes_x(routes: list[Route]) -> list[Any]:
    return [
        pytest.param(mode, route, id=f"{mode}-{route[0]} {route[1]}")
        for mode in CALLERS
        for route in routes
    ]


@pytest.mark.parametrize(("mode", "route"), _modes_x(RESOURCE_ROUTES))
async def test_other_tenant_reaches_no_resource_of_a_through_its_own_tenant(
    app: FastAPI, client: AsyncClient, factory: Factory, world: World, mode: str, route: Route
) -> None:
    fresh = await fresh_targets(app, factory, world, route)
    before = await snapshot(factory, world, fresh)
    response = await call(
        client,
        route,
        {**fresh.params, "tenant": world.b.slug},
        {**fresh.headers, **world.headers[mode, "other-tenant-admin"]},
        fresh.query,  # e.g. a download link of A's, leaked
        fresh.body,
    )
    assert response.status_code == 404, (
        f"{route[0]} {route[1]} with tenant B's slug and tenant A's ids via {mode}: "
        f"expected 404, got {response.status_code}: {response.text[:300]}"
    )
    assert await snapshot(factory, world, fresh) == before, "tenant A's resource changed"


@pytest.mark.parametrize(("mode", "route"), _modes_x(LIST_ROUTES))
async def test_other_tenant_lists_show_nothing_of_a(
    client: AsyncClient, factory: Factory, world: World, mode: str, route: Route
) -> None:
    response = await call(
        client, route, {"tenant": world.b.slug}, world.headers[mode, "other-tenant-admin"]
    )
    assert response.status_code == 200, response.text
    leaked = sorted(i for i in await ids_of(factory, world.a) if i in response.text)
    assert not leaked, f"{route[0]} {route[1]} of tenant B shows tenant A's ids {leaked}"
    assert any(i in response.text for i in await ids_of(factory, world.b)), (
        f"{route[0]} {route[1]} of tenant B shows none of B's own ids: the probe proves nothing"
    )
