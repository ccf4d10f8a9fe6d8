"""Abuse limits: sign-in, callback and failed-authentication attempts are limited per client and
per account (429 with Retry-After), shared across processes through Redis, failing open."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpx
import pytest
import structlog
from fastapi import FastAPI, Request
from redis.asyncio import Redis

from console.kit import ratelimit
from console.kit.errors import Forbidden, Unauthorized, install_error_handlers
from console.kit.ratelimit import (
    CALLBACK_FAILURE_CLIENT,
    KEY_PREFIX,
    RULES,
    SIGNIN_CLIENT,
    ConsoleLimits,
    MemoryBackend,
    RateLimiter,
    RedisBackend,
    Rule,
    TooManyRequests,
    guard_authentication,
)

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/13"
DOWN_URL = "redis://127.0.0.1:1/13"
REQUIRE_REDIS = os.environ.get("CONSOLE_TEST_REQUIRE_REDIS") == "1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def require_redis() -> None:
    """Skip (or fail, with CONSOLE_TEST_REQUIRE_REDIS=1) when Redis is unreachable."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        await client.ping()
    except Exception as exc:
        reason = f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__})"
        if REQUIRE_REDIS:
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        await client.aclose()


@pytest.fixture
def rule_name() -> Callable[[str], str]:
    """Rule names unique to this test, so parallel runs and leftovers never collide."""
    tag = uuid.uuid4().hex[:8]
    return lambda name: f"test-{tag}-{name}"


@pytest.fixture
async def redis_db(rule_name: Callable[[str], str]) -> AsyncIterator[Redis]:
    """The test Redis database; this test's keys are deleted afterwards."""
    await require_redis()
    client = Redis.from_url(REDIS_URL)
    yield client
    async for key in client.scan_iter(match=KEY_PREFIX + rule_name("*")):
        await client.delete(key)
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(
    request: pytest.FixtureRequest, rule_name: Callable[[str], str]
) -> AsyncIterator[Callable[[], RateLimiter]]:
    """Builds limiters on the parametrized backend; several Redis ones share one store."""
    url = None
    if request.param == "redis":
        await require_redis()
        url = REDIS_URL
    made: list[RateLimiter] = []

    def build() -> RateLimiter:
        made.append(RateLimiter.from_url(url))
        return made[-1]

    yield build
    if url is not None:
        cleaner = Redis.from_url(url)
        async for key in cleaner.scan_iter(match=KEY_PREFIX + rule_name("*")):
            await cleaner.delete(key)
        await cleaner.aclose()
    for limiter in made:
        await limiter.aclose()


async def refused(call: Awaitable[None]) -> TooManyRequests:
    with pytest.raises(TooManyRequests) as caught:
        await call
    return caught.value


# --- both backends ---------------------------------------------------------------------------


async def test_the_limit_is_reached_with_retry_after_within_the_period(make_limiter, rule_name):
    limiter = make_limiter()
    rule = Rule(rule_name("signin"), 3, 60)
    for _ in range(3):
        await limiter.hit(rule, "198.51.100.7")
    error = await refused(limiter.hit(rule, "198.51.100.7"))
    assert error.status == 429
    assert 1 <= error.retry_after <= 60
    assert error.headers["Retry-After"] == str(error.retry_after)
    assert error.extensions["retry_after"] == error.retry_after


async def test_check_refuses_a_locked_key_and_counts_nothing(make_limiter, rule_name):
    limiter = make_limiter()
    rule = Rule(rule_name("auth"), 2, 60)
    for _ in range(5):
        await limiter.check(rule, "client")
    await limiter.hit(rule, "client")
    await limiter.hit(rule, "client")
    assert 1 <= (await refused(limiter.check(rule, "client"))).retry_after <= 60


async def test_access_returns_when_the_window_has_passed(make_limiter, rule_name):
    limiter = make_limiter()
    rule = Rule(rule_name("short"), 2, 0.2)
    await limiter.hit(rule, "k")
    await limiter.hit(rule, "k")
    error = await refused(limiter.hit(rule, "k"))
    assert error.retry_after == 1
    assert 0 < error.wait <= 0.2 + 1e-6
    await anyio.sleep(error.wait + 0.05)
    await limiter.hit(rule, "k")  # the wait told is enough for the next event
    await anyio.sleep(0.3)  # a quiet period restores the whole burst, despite the refused hit
    await limiter.hit(rule, "k")
    await limiter.hit(rule, "k")


async def test_keys_are_isolated_per_rule_and_per_key(make_limiter, rule_name):
    limiter = make_limiter()
    signin, callback = Rule(rule_name("signin"), 1, 60), Rule(rule_name("callback"), 1, 60)
    await limiter.hit(signin, "203.0.113.1")
    await refused(limiter.hit(signin, "203.0.113.1"))
    await limiter.hit(signin, "203.0.113.2")
    await limiter.hit(callback, "203.0.113.1")


async def test_reset_forgives_a_key(make_limiter, rule_name):
    limiter = make_limiter()
    rule = Rule(rule_name("signin-account"), 1, 60)
    await limiter.hit(rule, "email:ada@example.com")
    await refused(limiter.check(rule, "email:ada@example.com"))
    await limiter.reset(rule, "email:ada@example.com")
    await limiter.hit(rule, "email:ada@example.com")


async def test_429_renders_as_problem_json_with_retry_after(make_limiter, rule_name):
    limiter = make_limiter()
    rule = Rule(rule_name("http"), 1, 30)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/sign-in")
    async def sign_in() -> dict[str, bool]:
        await limiter.hit(rule, "client")
        return {"ok": True}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/sign-in")).status_code == 200
        response = await client.post("/sign-in")
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 30
    body = response.json()
    assert body["type"].endswith("/too-many-requests")
    assert body["title"] == "Too many attempts"
    assert body["status"] == 429
    assert body["retry_after"] == retry_after


# --- Redis: shared, private, failing open -----------------------------------------------------


async def test_two_limiters_on_one_redis_share_counts(redis_db, rule_name):
    """What two web processes see: events counted by one are refused by the other."""
    first, second = RateLimiter.from_url(REDIS_URL), RateLimiter.from_url(REDIS_URL)
    rule = Rule(rule_name("shared"), 2, 60)
    try:
        await first.hit(rule, "198.51.100.9")
        await second.hit(rule, "198.51.100.9")
        await refused(first.check(rule, "198.51.100.9"))
        await refused(second.hit(rule, "198.51.100.9"))
    finally:
        await first.aclose()
        await second.aclose()


async def test_memory_limiters_do_not_share_counts(rule_name):
    first, second = RateLimiter.memory(), RateLimiter.memory()
    rule = Rule(rule_name("local"), 1, 60)
    await first.hit(rule, "k")
    await second.hit(rule, "k")


async def test_redis_keys_are_prefixed_hashed_and_expire(redis_db, rule_name):
    limiter = RateLimiter.from_url(REDIS_URL, key_secret="app-secret")
    rule = Rule(rule_name("signin-account"), 5, 60)
    try:
        await limiter.hit(rule, "email:ada.secret@example.com")
        await limiter.hit(rule, "token:abcdefghijkl")
    finally:
        await limiter.aclose()
    keys = [key.decode() async for key in redis_db.scan_iter(match=KEY_PREFIX + rule.name + "*")]
    assert len(keys) == 2
    for key in keys:
        assert key.startswith(f"{KEY_PREFIX}{rule.name}:")
        assert "ada" not in key
        assert "abcdefghijkl" not in key
        assert 0 < await redis_db.pttl(key) <= 60_000


def test_hashing_with_a_secret_changes_the_key():
    rule = Rule("signin-account", 5, 60)
    plain = RateLimiter.memory().storage_key(rule, "email:ada@example.com")
    keyed = RateLimiter.memory(key_secret="s").storage_key(rule, "email:ada@example.com")
    assert plain != keyed
    assert len(plain) == len(keyed) == len("signin-account:") + 32


async def test_redis_down_degrades_to_per_process_limits_with_one_warning(monkeypatch, rule_name):
    captured = structlog.testing.CapturingLogger()
    monkeypatch.setattr(ratelimit, "log", captured)
    limiter = RateLimiter.from_url(DOWN_URL)
    rule = Rule(rule_name("outage"), 3, 60)
    try:
        for _ in range(3):
            await limiter.hit(rule, "k")  # no crash, nobody locked out
        await refused(limiter.hit(rule, "k"))  # ...but this process still limits
        await limiter.check(rule, "other")
    finally:
        await limiter.aclose()
    warnings = [call for call in captured.calls if call.method_name == "warning"]
    assert len(warnings) == 1
    assert warnings[0].args == ("ratelimit_store_unavailable",)
    assert warnings[0].kwargs["degraded_to"] == "memory"


async def test_redis_down_without_fallback_allows_everything(monkeypatch, rule_name):
    monkeypatch.setattr(ratelimit, "log", structlog.testing.CapturingLogger())
    limiter = RateLimiter.from_url(DOWN_URL, degrade_to_memory=False)
    rule = Rule(rule_name("open"), 1, 60)
    try:
        for _ in range(10):
            await limiter.hit(rule, "k")
    finally:
        await limiter.aclose()


async def test_outage_warnings_are_rate_limited_and_redis_is_retried_after_a_cooldown(
    monkeypatch, rule_name
):
    captured = structlog.testing.CapturingLogger()
    monkeypatch.setattr(ratelimit, "log", captured)
    client = Redis.from_url(DOWN_URL, socket_connect_timeout=0.5)
    backend = RedisBackend(client, fallback=None, cooldown=0.0, log_every=60.0)
    limiter = RateLimiter(backend)
    attempts = 0
    original = backend._script

    async def counting_script(**kwargs: object) -> object:
        nonlocal attempts
        attempts += 1
        return await original(**kwargs)

    monkeypatch.setattr(backend, "_script", counting_script)
    try:
        for _ in range(5):
            await limiter.hit(Rule(rule_name("retry"), 1, 60), "k")
    finally:
        await limiter.aclose()
    assert attempts == 5  # no cooldown: every call tries Redis again
    warnings = [call for call in captured.calls if call.method_name == "warning"]
    assert len(warnings) == 1


# --- memory backend, on a fake clock -----------------------------------------------------------


async def test_gcra_releases_one_event_per_interval_and_caps_the_lockout():
    clock = FakeClock()
    limiter = RateLimiter.memory(clock=clock)
    rule = Rule("signin-client", 10, 60)  # a burst of 10, then one every 6 s
    for _ in range(10):
        await limiter.hit(rule, "k")
    assert (await refused(limiter.check(rule, "k"))).retry_after == 6
    clock.now += 6
    await limiter.hit(rule, "k")
    await refused(limiter.check(rule, "k"))
    for _ in range(1000):  # hammering counts, but never locks out beyond one period
        error = await refused(limiter.hit(rule, "k"))
        assert error.retry_after <= 60
    assert error.retry_after == 60
    clock.now += 60
    await limiter.hit(rule, "k")


@pytest.mark.parametrize("now", [1000.0, 4042.45005480397])
async def test_a_fresh_key_is_allowed_whatever_the_clock_reads(now):
    """At some clock readings `now + 60 - 60 - now` is a positive rounding error; not a refusal."""
    clock = FakeClock()
    clock.now = now
    limiter = RateLimiter.memory(clock=clock)
    rule = Rule("signin-client", 1, 60)
    await limiter.hit(rule, "k")
    assert (await refused(limiter.hit(rule, "k"))).retry_after == 60


async def test_memory_store_is_bounded_and_drops_expired_entries():
    clock = FakeClock()
    backend = MemoryBackend(clock=clock, max_entries=3)
    limiter = RateLimiter(backend)
    rule = Rule("auth-failure-client", 5, 10)
    for ip in range(5):
        await limiter.hit(rule, f"10.0.0.{ip}")
    assert len(backend) == 3
    clock.now += 10
    await limiter.hit(rule, "10.0.0.9")
    assert len(backend) == 1


# --- failed authentication --------------------------------------------------------------------


class Attempts:
    """A credential check that fails or succeeds on demand, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def failing(self, error: Exception | None = None) -> Callable[[], Awaitable[str]]:
        async def attempt() -> str:
            self.calls += 1
            raise error or Unauthorized("The bearer token is not valid.")

        return attempt

    def succeeding(self) -> Callable[[], Awaitable[str]]:
        async def attempt() -> str:
            self.calls += 1
            return "principal"

        return attempt


@pytest.fixture
def guard(rule_name):
    limiter = RateLimiter.memory()
    rules = {
        "client_rule": Rule(rule_name("auth-client"), 3, 60),
        "account_rule": Rule(rule_name("auth-account"), 2, 60),
    }

    async def run(client: str | None, account: str | None, attempt) -> str:
        return await guard_authentication(limiter, client, account, attempt, **rules)

    return run


async def test_a_locked_out_client_gets_429_without_its_credential_being_checked(guard):
    attempts = Attempts()
    assert await guard("198.51.100.1", None, attempts.succeeding()) == "principal"
    for n in range(3):
        with pytest.raises(Unauthorized):
            await guard("198.51.100.1", f"token:prefix{n}", attempts.failing())
    calls = attempts.calls
    error = await refused(guard("198.51.100.1", None, attempts.succeeding()))
    assert 1 <= error.retry_after <= 60
    assert attempts.calls == calls
    assert await guard("198.51.100.2", None, attempts.succeeding()) == "principal"


async def test_account_limits_count_failures_but_never_lock_out_a_valid_credential(guard):
    attempts = Attempts()
    for n in range(2):
        with pytest.raises(Unauthorized):
            await guard(f"203.0.113.{n}", "token:victimprefix", attempts.failing())
    error = await refused(guard("203.0.113.50", "token:victimprefix", attempts.failing()))
    assert isinstance(error.__cause__, Unauthorized)
    assert await guard("192.0.2.1", "token:victimprefix", attempts.succeeding()) == "principal"


async def test_only_unauthorized_counts_as_a_failure(guard):
    attempts = Attempts()
    for _ in range(10):
        with pytest.raises(Forbidden):
            await guard("198.51.100.3", "token:p", attempts.failing(Forbidden("no")))
    assert await guard("198.51.100.3", "token:p", attempts.succeeding()) == "principal"


async def test_an_unknown_client_is_not_limited_as_one_shared_bucket(guard):
    attempts = Attempts()
    for _ in range(10):
        with pytest.raises(Unauthorized):
            await guard(None, None, attempts.failing())
    assert attempts.calls == 10


# --- the facade the routes call (app.state.limits) --------------------------------------------


def limits_app(limits: ConsoleLimits) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/sign-in/{tenant}")
    async def sign_in(tenant: str, request: Request) -> dict[str, bool]:
        await limits.signin_attempt(request, tenant)
        return {"ok": True}

    @app.get("/callback")
    async def callback(request: Request) -> dict[str, bool]:
        await limits.check_callback(request)
        await limits.callback_failed(request)  # every callback here fails
        return {"ok": False}

    @app.get("/me")
    async def me(request: Request) -> dict[str, str]:
        async def attempt() -> str:
            if request.headers.get("authorization") != "Bearer good":
                raise Unauthorized("The bearer token is not valid.")
            return "ada"

        return {"user": await limits.authenticate(request, "token:prefix", attempt)}

    return app


async def call(app: FastAPI, method: str, path: str, ip: str, **kwargs) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(ip, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


async def test_sign_in_starts_are_limited_per_client():
    app = limits_app(ConsoleLimits(RateLimiter.memory()))
    for _ in range(SIGNIN_CLIENT.limit):
        assert (await call(app, "POST", "/sign-in/acme", "198.51.100.1")).status_code == 200
    response = await call(app, "POST", "/sign-in/acme", "198.51.100.1")
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= SIGNIN_CLIENT.period
    assert (await call(app, "POST", "/sign-in/acme", "198.51.100.2")).status_code == 200


async def test_callback_failures_lock_the_client_out():
    app = limits_app(ConsoleLimits(RateLimiter.memory()))
    for _ in range(CALLBACK_FAILURE_CLIENT.limit):
        assert (await call(app, "GET", "/callback", "203.0.113.5")).status_code == 200
    response = await call(app, "GET", "/callback", "203.0.113.5")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) <= CALLBACK_FAILURE_CLIENT.period


async def test_failed_token_authentication_is_limited_per_client():
    app = limits_app(ConsoleLimits(RateLimiter.memory()))
    bad, good = {"Authorization": "Bearer bad"}, {"Authorization": "Bearer good"}
    statuses = [
        (await call(app, "GET", "/me", f"192.0.2.{n}", headers=bad)).status_code
        for n in range(1, 11)
    ]
    assert statuses == [401] * 10  # 10 clients, one failure each: the account limit is 10
    assert (await call(app, "GET", "/me", "192.0.2.99", headers=bad)).status_code == 429
    assert (await call(app, "GET", "/me", "192.0.2.99", headers=good)).json() == {"user": "ada"}


# --- the error and the rules ------------------------------------------------------------------


@pytest.mark.parametrize(("wait", "header"), [(0.0, "1"), (0.2, "1"), (59.9999, "60"), (60, "60")])
def test_retry_after_is_whole_seconds_at_least_one(wait: float, header: str):
    assert TooManyRequests(wait).headers["Retry-After"] == header


def test_rules_are_valid_and_named_uniquely():
    assert len({rule.name for rule in RULES}) == len(RULES)
    with pytest.raises(ValueError, match="limit"):
        Rule("bad", 0, 60)


def test_from_url_refuses_a_non_redis_store():
    with pytest.raises(ValueError, match="redis"):
        RateLimiter.from_url("filesystem:///tmp/broker")
