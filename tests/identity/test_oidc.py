"""OpenID Connect sign-in against a tiny in-process identity provider: the good flow returns who
signed in; every forged, stale or misdirected answer is refused with a safe OIDCError."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import anyio
import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from console.identity.oidc import (
    AuthorizationRequest,
    OIDCClient,
    OIDCError,
    ProviderConfig,
    VerifiedIdentity,
)

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.test"
CLIENT_ID = "console"
CLIENT_SECRET = "s3cret:with/odd+chars%"  # survives RFC 6749 form-encoding in Basic auth
REDIRECT_URI = "https://console.test/dashboard/oauth_callback"
ADA = {"sub": "user-1", "email": "ada@example.com", "email_verified": True, "name": "Ada Lovelace"}

Header = dict[str, Any]
Claims = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def left_half_sha256(value: str) -> str:
    return b64(hashlib.sha256(value.encode()).digest()[:16])


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core 3.1.3.6 (EdDSA with Ed25519 hashes with SHA-512)."""
    digest = getattr(hashlib, "sha512" if alg.startswith("Ed") else f"sha{alg[-3:]}")
    full = digest(access_token.encode()).digest()
    return b64(full[: len(full) // 2])


class TinyIdP:
    """Discovery, JWKS, authorize (auto-approves `user`), token (checks client auth, redirect_uri,
    one-time code, PKCE S256) and userinfo; hooks let a test forge what it signs."""

    def __init__(self, key: Key, *, issuer: str = ISSUER, alg: str = "RS256") -> None:
        self.issuer, self.alg = issuer, alg
        self.published: list[Key] = [key]
        self.signing_key = key
        self.user = dict(ADA)
        self.meta_overrides: dict[str, Any] = {}
        self.id_token_omits: set[str] = set()
        self.userinfo_overrides: dict[str, Any] = {}
        self.tamper: Callable[[Header, Claims], None] = lambda header, claims: None
        self.mint: Callable[[Header, Claims], str] | None = None
        self.slow = False
        self.hits: dict[str, int] = {}
        self.token_requests: list[tuple[dict[str, str], str | None]] = []
        self.codes: dict[str, dict[str, str]] = {}
        self.access_tokens: set[str] = set()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
            ]
        )

    def count(self, request: Request) -> None:
        self.hits[request.url.path] = self.hits.get(request.url.path, 0) + 1

    async def discovery(self, request: Request) -> Response:
        self.count(request)
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [
                    "RS256",
                    "ES256",
                    "EdDSA",
                    "Ed25519",
                    "HS256",
                ],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "scopes_supported": ["openid", "email", "profile"],
                **self.meta_overrides,
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.count(request)
        return JSONResponse({"keys": [key.as_dict(private=False) for key in self.published]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        assert q["response_type"] == "code"
        assert q["code_challenge_method"] == "S256"
        assert "openid" in q["scope"].split()
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "client_id": q["client_id"],
            "redirect_uri": q["redirect_uri"],
            "challenge": q["code_challenge"],
            "nonce": q["nonce"],
        }
        query = urlencode({"code": code, "state": q["state"], "iss": self.issuer})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        if self.slow:
            await anyio.sleep(5)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        authorization = request.headers.get("authorization")
        self.token_requests.append((form, authorization))
        if authorization:
            client_id, _, secret = (
                base64.b64decode(authorization.split()[1]).decode().partition(":")
            )
            client_id, secret = unquote(client_id), unquote(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id != CLIENT_ID or secret not in ("", CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(form.get("code", ""), None)
        if (
            grant is None
            or grant["redirect_uri"] != form.get("redirect_uri")
            or grant["challenge"] != create_s256_code_challenge(form.get("code_verifier", ""))
        ):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Code is invalid or was used"},
                status_code=400,
            )
        access_token = secrets.token_urlsafe(24)
        self.access_tokens.add(access_token)
        now = int(time.time())
        claims: Claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            "at_hash": at_hash(access_token, self.alg),
            **self.user,
        }
        for name in self.id_token_omits:
            claims.pop(name, None)
        header: Header = {"alg": self.alg, "kid": self.signing_key.kid}
        self.tamper(header, claims)
        id_token = (self.mint or self.sign)(header, claims)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
            headers={"Cache-Control": "no-store"},
        )

    def sign(self, header: Header, claims: Claims) -> str:
        return jwt.encode(header, claims, self.signing_key, algorithms=[header["alg"]])

    async def userinfo(self, request: Request) -> Response:
        self.count(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.access_tokens:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({**self.user, **self.userinfo_overrides})


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": "rsa-1", "use": "sig"})


@pytest.fixture(scope="module")
def impostor_key() -> RSAKey:
    """Another RSA key claiming the IdP's kid."""
    return RSAKey.generate_key(2048, {"kid": "rsa-1"})


@pytest.fixture
def idp(rsa_key: RSAKey) -> TinyIdP:
    return TinyIdP(rsa_key)


@pytest.fixture
async def http(idp: TinyIdP) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idp.app)) as client:
        yield client


@pytest.fixture
def oidc(http: httpx.AsyncClient) -> OIDCClient:
    return OIDCClient(http)


@pytest.fixture
def provider(idp: TinyIdP) -> ProviderConfig:
    return ProviderConfig(issuer=idp.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


async def authorize(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig
) -> tuple[AuthorizationRequest, dict[str, str]]:
    """What the browser does: open the URL, let the IdP approve, come back with code/state/iss."""
    request = await oidc.authorization_request(provider, REDIRECT_URI)
    redirect = await http.get(request.url)
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["state"] == request.state
    return request, params


async def sign_in(
    oidc: OIDCClient,
    http: httpx.AsyncClient,
    provider: ProviderConfig,
    **overrides: Any,
) -> VerifiedIdentity:
    request, params = await authorize(oidc, http, provider)
    arguments: dict[str, Any] = {
        "code": params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": request.code_verifier,
        "nonce": request.nonce,
        "iss_param": params["iss"],
        **overrides,
    }
    return await oidc.complete(provider, **arguments)


async def refused(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, **overrides: Any
) -> OIDCError:
    with pytest.raises(OIDCError) as caught:
        await sign_in(oidc, http, provider, **overrides)
    message = caught.value.message
    assert CLIENT_SECRET not in message
    assert "eyJ" not in message  # no JWT fragment
    return caught.value


# --- the good flow -------------------------------------------------------------------------


async def test_sign_in_returns_the_verified_identity(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    identity = await sign_in(oidc, http, provider)

    assert identity.issuer == ISSUER
    assert identity.subject == "user-1"
    assert identity.email == "ada@example.com"
    assert identity.email_verified is True
    assert identity.name == "Ada Lovelace"
    assert identity.claims["aud"] == CLIENT_ID
    assert idp.hits.get("/userinfo") is None  # the id_token had everything
    assert idp.hits["/.well-known/openid-configuration"] == 1  # cached between the two calls
    form, authorization = idp.token_requests[-1]
    assert authorization is not None
    assert authorization.startswith("Basic ")
    assert "client_secret" not in form


async def test_authorization_url_carries_pkce_s256_and_fresh_secrets_each_time(
    oidc: OIDCClient, provider: ProviderConfig
):
    first = await oidc.authorization_request(provider, REDIRECT_URI)
    second = await oidc.authorization_request(provider, REDIRECT_URI)

    for request in (first, second):
        assert request.url.startswith(f"{ISSUER}/authorize?")
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        assert query["response_type"] == "code"
        assert query["client_id"] == CLIENT_ID
        assert query["redirect_uri"] == REDIRECT_URI
        assert query["scope"].split() == ["openid", "email", "profile"]
        assert query["code_challenge_method"] == "S256"
        assert query["code_challenge"] == create_s256_code_challenge(request.code_verifier)
        assert query["state"] == request.state
        assert query["nonce"] == request.nonce
        assert request.code_verifier not in request.url
        assert len(request.state) >= 22  # ≥ 128 bits over a 62-symbol alphabet
        assert 43 <= len(request.code_verifier) <= 128
        assert request.code_verifier not in repr(request)
    assert first.state != second.state
    assert first.nonce != second.nonce
    assert first.code_verifier != second.code_verifier


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # the IdP signing, not the client
@pytest.mark.parametrize(
    ("make_key", "alg"),
    [
        (lambda: ECKey.generate_key("P-256", {"kid": "ec-1"}), "ES256"),
        (lambda: OKPKey.generate_key("Ed25519", {"kid": "ed-1"}), "EdDSA"),
        (lambda: OKPKey.generate_key("Ed25519", {"kid": "ed-1"}), "Ed25519"),
    ],
    ids=["ES256", "EdDSA", "Ed25519"],
)
async def test_sign_in_with_elliptic_curve_keys(make_key: Callable[[], Key], alg: str):
    idp = TinyIdP(make_key(), alg=alg)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idp.app)) as http:
        config = ProviderConfig(ISSUER, CLIENT_ID, CLIENT_SECRET)
        identity = await sign_in(OIDCClient(http), http, config)
    assert identity.subject == "user-1"


async def test_a_local_development_provider_may_use_http(rsa_key: RSAKey):
    idp = TinyIdP(rsa_key, issuer="http://localhost:9400")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idp.app)) as http:
        config = ProviderConfig(idp.issuer, CLIENT_ID, CLIENT_SECRET)
        identity = await sign_in(OIDCClient(http), http, config)
    assert identity.issuer == "http://localhost:9400"


async def test_missing_email_and_name_come_from_userinfo(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.id_token_omits = {"email", "email_verified", "name"}
    idp.userinfo_overrides = {"email_verified": False}

    identity = await sign_in(oidc, http, provider)

    assert idp.hits["/userinfo"] == 1
    assert identity.email == "ada@example.com"
    assert identity.email_verified is False
    assert identity.name == "Ada Lovelace"


async def test_userinfo_for_another_subject_is_refused(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.id_token_omits = {"email", "name"}
    idp.userinfo_overrides = {"sub": "user-2", "email": "eve@example.com"}

    assert (await refused(oidc, http, provider)).reason == "userinfo_subject_mismatch"


async def test_client_secret_post_when_basic_is_not_offered(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.meta_overrides = {"token_endpoint_auth_methods_supported": ["client_secret_post"]}

    await sign_in(oidc, http, provider)

    form, authorization = idp.token_requests[-1]
    assert authorization is None
    assert form["client_id"] == CLIENT_ID
    assert form["client_secret"] == CLIENT_SECRET


async def test_a_public_client_sends_only_its_id(
    oidc: OIDCClient, http: httpx.AsyncClient, idp: TinyIdP
):
    await sign_in(oidc, http, ProviderConfig(ISSUER, CLIENT_ID, None))

    form, authorization = idp.token_requests[-1]
    assert authorization is None
    assert form["client_id"] == CLIENT_ID
    assert "client_secret" not in form
    assert form["code_verifier"]


async def test_rotated_keys_are_fetched_once_more(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    await sign_in(oidc, http, provider)
    assert idp.hits["/jwks"] == 1
    rotated = RSAKey.generate_key(2048, {"kid": "rsa-2"})
    idp.published, idp.signing_key = [rotated], rotated

    await sign_in(oidc, http, provider)

    assert idp.hits["/jwks"] == 2


# --- forged or misdirected ID tokens -------------------------------------------------------


def unsigned(header: Header, claims: Claims) -> str:
    header = {**header, "alg": "none"}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def hs256_with_public_key(public_pem: bytes) -> Callable[[Header, Claims], str]:
    """Alg confusion: an HMAC whose secret is the IdP's (public) RSA key."""

    def mint(header: Header, claims: Claims) -> str:
        header = {**header, "alg": "HS256"}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"

    return mint


def setting(name: str, value: Any) -> Callable[[Header, Claims], None]:
    return lambda header, claims: claims.__setitem__(name, value)


NOW = int(time.time())
FORGERIES: list[tuple[str, Callable[[Header, Claims], None], str]] = [
    ("wrong nonce", setting("nonce", "someone-elses-nonce"), "nonce_mismatch"),
    ("wrong audience", setting("aud", "another-app"), "audience_mismatch"),
    ("other issuer", setting("iss", "https://evil.test"), "issuer_mismatch"),
    ("expired", lambda h, c: c.update(exp=NOW - 3600, iat=NOW - 7200), "expired"),
    ("issued in the future", setting("iat", NOW + 3600), "issued_later"),
    ("missing sub", lambda h, c: c.pop("sub"), "missing_claim"),
    ("at_hash mismatch", setting("at_hash", left_half_sha256("other-token")), "at_hash_mismatch"),
    ("two audiences, no azp", setting("aud", [CLIENT_ID, "another-app"]), "audience_mismatch"),
    ("azp of another client", setting("azp", "another-app"), "audience_mismatch"),
]


@pytest.mark.parametrize(
    ("tamper", "reason"), [(t, r) for _, t, r in FORGERIES], ids=[n for n, _, _ in FORGERIES]
)
async def test_a_forged_id_token_is_refused(
    oidc: OIDCClient,
    http: httpx.AsyncClient,
    provider: ProviderConfig,
    idp: TinyIdP,
    tamper: Callable[[Header, Claims], None],
    reason: str,
):
    idp.tamper = tamper
    assert (await refused(oidc, http, provider)).reason == reason


async def test_two_audiences_pass_when_azp_names_the_console(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.tamper = lambda header, claims: claims.update(aud=[CLIENT_ID, "api"], azp=CLIENT_ID)
    assert (await sign_in(oidc, http, provider)).subject == "user-1"


async def test_a_signature_by_another_key_with_the_same_kid_is_refused(
    oidc: OIDCClient,
    http: httpx.AsyncClient,
    provider: ProviderConfig,
    idp: TinyIdP,
    impostor_key: RSAKey,
):
    idp.signing_key = impostor_key
    assert (await refused(oidc, http, provider)).reason == "bad_signature"


async def test_an_unsigned_alg_none_token_is_refused(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.meta_overrides = {"id_token_signing_alg_values_supported": ["none", "RS256"]}
    idp.mint = unsigned
    assert (await refused(oidc, http, provider)).reason == "algorithm_not_allowed"


async def test_hs256_keyed_with_the_public_rsa_key_is_refused(
    oidc: OIDCClient,
    http: httpx.AsyncClient,
    provider: ProviderConfig,
    idp: TinyIdP,
    rsa_key: RSAKey,
):
    idp.mint = hs256_with_public_key(rsa_key.as_pem(private=False))
    assert (await refused(oidc, http, provider)).reason == "algorithm_not_allowed"


async def test_an_algorithm_the_provider_does_not_advertise_is_refused(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.meta_overrides = {"id_token_signing_alg_values_supported": ["ES256"]}
    assert (await refused(oidc, http, provider)).reason == "algorithm_not_allowed"


async def test_an_unknown_kid_is_looked_up_once_more_then_refused(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.tamper = lambda header, claims: header.__setitem__("kid", "rsa-gone")
    assert (await refused(oidc, http, provider)).reason == "unknown_key"
    assert idp.hits["/jwks"] == 2


# --- misdirected responses and a misbehaving provider --------------------------------------


async def test_an_iss_parameter_of_another_issuer_is_refused(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig
):
    error = await refused(oidc, http, provider, iss_param="https://evil.test")
    assert error.reason == "iss_param_mismatch"


async def test_a_missing_iss_parameter_is_refused_when_the_provider_sends_one(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.meta_overrides = {"authorization_response_iss_parameter_supported": True}
    error = await refused(oidc, http, provider, iss_param=None)
    assert error.reason == "iss_param_missing"


async def test_discovery_naming_another_issuer_is_refused(
    oidc: OIDCClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.meta_overrides = {"issuer": ISSUER + "/"}  # exact match: even a trailing slash differs
    with pytest.raises(OIDCError) as caught:
        await oidc.authorization_request(provider, REDIRECT_URI)
    assert caught.value.reason == "issuer_mismatch"


async def test_plain_http_endpoints_of_a_remote_provider_are_refused(
    oidc: OIDCClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.meta_overrides = {"token_endpoint": "http://idp.test/token"}
    with pytest.raises(OIDCError) as caught:
        await oidc.metadata(provider.issuer)
    assert caught.value.reason == "insecure_endpoint"


async def test_a_reused_code_gets_a_readable_invalid_grant_error(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig
):
    request, params = await authorize(oidc, http, provider)
    arguments = {
        "code": params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": request.code_verifier,
        "nonce": request.nonce,
    }
    await oidc.complete(provider, **arguments)

    with pytest.raises(OIDCError) as caught:
        await oidc.complete(provider, **arguments)

    error = caught.value
    assert error.reason == "invalid_grant"
    assert "expired or already used" in error.message
    assert "Code is invalid or was used" in error.message
    for secret in (params["code"], request.code_verifier, CLIENT_SECRET):
        assert secret not in error.message


async def test_a_wrong_pkce_verifier_is_refused_by_the_provider(
    oidc: OIDCClient, http: httpx.AsyncClient, provider: ProviderConfig
):
    error = await refused(oidc, http, provider, code_verifier="x" * 64)
    assert error.reason == "invalid_grant"


async def test_rejected_client_credentials_read_clearly(oidc: OIDCClient, http: httpx.AsyncClient):
    wrong = ProviderConfig(ISSUER, CLIENT_ID, "not-the-secret")
    error = await refused(oidc, http, wrong)
    assert error.reason == "invalid_client"
    assert "client credentials" in error.message
    assert "not-the-secret" not in error.message


async def test_an_unreachable_provider_is_reported_without_details():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused to " + str(request.url))

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(OIDCError) as caught:
            await OIDCClient(http).metadata(ISSUER)
    assert caught.value.message == "The identity provider could not be reached"
    assert caught.value.__cause__ is None


async def test_a_hanging_token_endpoint_times_out(
    http: httpx.AsyncClient, provider: ProviderConfig, idp: TinyIdP
):
    oidc = OIDCClient(http, request_timeout=0.2)
    idp.slow = True
    started = time.monotonic()
    error = await refused(oidc, http, provider)
    assert error.reason == "unreachable"
    assert time.monotonic() - started < 2


# --- admin's configuration check and safe representations ----------------------------------


async def test_check_configuration_reports_what_sign_in_will_use(
    oidc: OIDCClient, provider: ProviderConfig
):
    report = await oidc.check_configuration(provider)

    assert report["issuer"] == ISSUER
    assert report["token_endpoint"] == f"{ISSUER}/token"
    assert report["signing_algorithms"] == ["RS256", "ES256", "EdDSA", "Ed25519"]  # HS256 never
    assert report["keys"] == [{"kid": "rsa-1", "kty": "RSA", "alg": None}]
    assert report["token_endpoint_auth_method"] == "client_secret_basic"
    assert report["warnings"] == []


async def test_check_configuration_explains_an_unusable_key_set(
    oidc: OIDCClient, provider: ProviderConfig, idp: TinyIdP
):
    idp.published = [ECKey.generate_key("P-256", {"kid": "ec-1"})]
    idp.meta_overrides = {"id_token_signing_alg_values_supported": ["RS256"]}
    with pytest.raises(OIDCError) as caught:
        await oidc.check_configuration(provider)
    assert caught.value.reason == "no_usable_key"


async def test_secrets_stay_out_of_reprs():
    config = ProviderConfig(ISSUER, CLIENT_ID, CLIENT_SECRET)
    assert CLIENT_SECRET not in repr(config)
