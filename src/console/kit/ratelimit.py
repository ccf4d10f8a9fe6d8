"""Abuse limits: per-client and per-account rate limits, in memory or shared through Redis.

The algorithm is GCRA (a leaky bucket kept as one timestamp per key, the "theoretical arrival
time"): `limit` events may come in a burst, after which one more is allowed every
`period / limit` seconds. Every hit counts, refused ones too, so hammering keeps a key locked,
but the debt is capped so a key is never refused for longer than one `period` after its last hit
(hence Retry-After <= period). The Redis backend runs the same arithmetic in one Lua script on
Redis's own clock, so processes with skewed clocks agree. Keys are hashed before storage.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.requests import Request

from console.kit.errors import ConsoleError, Unauthorized

log = structlog.get_logger(__name__)
T = TypeVar("T")

KEY_PREFIX = "console:rl:"
REDIS_TIMEOUT = 0.5  # seconds; a slow store must not stall sign-in for long
OUTAGE_COOLDOWN = 5.0  # after a Redis error, skip Redis for this long
OUTAGE_LOG_EVERY = 60.0  # at most one outage warning per this many seconds

REFUSED = Counter("console_ratelimit_refused_total", "Events refused by a rate limit", ["rule"])
STORE_ERRORS = Counter("console_ratelimit_store_errors_total", "Rate-limit store failures")


class TooManyRequests(ConsoleError):
    status, slug, title = 429, "too-many-requests", "Too many attempts"

    def __init__(self, wait: float, detail: str | None = None, **extensions: Any) -> None:
        self.wait = max(wait, 0.0)
        # Whole seconds, rounded up (after dropping float noise), never 0.
        self.retry_after = max(1, math.ceil(round(self.wait, 3)))
        super().__init__(
            detail or f"Too many attempts; try again in {self.retry_after} seconds.",
            retry_after=self.retry_after,
            **extensions,
        )
        self.headers["Retry-After"] = str(self.retry_after)


@dataclass(frozen=True, slots=True)
class Rule:
    """`limit` events per `period` seconds, per key."""

    name: str
    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period <= 0:
            raise ValueError(f"rule {self.name!r} needs limit >= 1 and period > 0")

    @property
    def interval(self) -> float:
        """Seconds that one event adds to the key's debt."""
        return self.period / self.limit


# The console's defaults. Failed authentication counts only failures; sign-in counts attempts.
AUTH_FAILURE_CLIENT = Rule("auth-failure-client", 20, 60)
AUTH_FAILURE_ACCOUNT = Rule("auth-failure-account", 10, 60)
SIGNIN_CLIENT = Rule("signin-client", 10, 60)
# Sign-in is OIDC: the only account known when it starts is the tenant. Generous, so that it
# caps floods of pending sign-ins without becoming a cheap way to lock a tenant out.
SIGNIN_TENANT = Rule("signin-tenant", 300, 60)
CALLBACK_FAILURE_CLIENT = Rule("callback-failure-client", 10, 600)
RULES = (
    AUTH_FAILURE_CLIENT,
    AUTH_FAILURE_ACCOUNT,
    SIGNIN_CLIENT,
    SIGNIN_TENANT,
    CALLBACK_FAILURE_CLIENT,
)


def tenant_key(slug: str) -> str:
    return "tenant:" + slug.strip().lower()


def token_key(prefix: str) -> str:
    """The account key of an API token: its public lookup prefix (never the secret)."""
    return "token:" + prefix


def gcra(tat: float | None, now: float, rule: Rule, count: bool) -> tuple[float | None, float]:
    """(new TAT to store or None, seconds until an event would be allowed; 0 = allowed now)."""
    tat = now if tat is None else max(tat, now)
    # Differences of clock readings first: `now + 60 - 60 - now` is not always 0.0 in floats.
    wait = _settle((tat - now) + (rule.interval - rule.period))
    if not count:
        return None, wait
    new_tat = min(tat + rule.interval, now + 2 * rule.period - rule.interval)
    # A refused event counts too, so the honest wait is the one after counting it.
    return new_tat, 0.0 if wait == 0 else _settle((new_tat - now) + (rule.interval - rule.period))


def _settle(wait: float) -> float:
    """A wait below a microsecond is rounding noise, not a refusal."""
    return wait if wait > 1e-6 else 0.0


class Backend(Protocol):
    async def acquire(self, rule: Rule, key: str, count: bool) -> float: ...
    async def reset(self, rule: Rule, key: str) -> None: ...
    async def aclose(self) -> None: ...


class MemoryBackend:
    """Per-process store: TATs in update order; expired ones dropped as met, size bounded."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000
    ) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._tats: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tats)

    async def acquire(self, rule: Rule, key: str, count: bool) -> float:
        now = self.clock()
        self._prune(now)
        new_tat, wait = gcra(self._tats.get(key), now, rule, count)
        if new_tat is not None:
            self._tats[key] = new_tat
            self._tats.move_to_end(key)
            if len(self._tats) > self.max_entries:
                self._tats.popitem(last=False)
        return wait

    def _prune(self, now: float) -> None:
        # Amortised O(1): each entry is popped at most once.
        while self._tats:
            key, tat = next(iter(self._tats.items()))
            if tat > now:
                return
            del self._tats[key]

    async def reset(self, rule: Rule, key: str) -> None:
        self._tats.pop(key, None)

    async def aclose(self) -> None:
        self._tats.clear()


# KEYS[1]; ARGV: interval, period (microseconds), "1" to count. Returns the wait in microseconds.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local wait = tat + interval - period - now
if wait < 0 then wait = 0 end
if ARGV[3] == '1' then
  local new_tat = math.min(tat + interval, now + 2 * period - interval)
  local ttl = math.max(1, math.ceil((new_tat - now) / 1000))
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl)
  if wait > 0 then wait = new_tat + interval - period - now end
end
return wait
"""


class RedisBackend:
    """Shared store. On a Redis error it logs (rate-limited), then for `cooldown` seconds
    answers from `fallback` (per-process limits) or, without one, allows everything."""

    def __init__(
        self,
        client: Redis,
        fallback: MemoryBackend | None,
        cooldown: float = OUTAGE_COOLDOWN,
        log_every: float = OUTAGE_LOG_EVERY,
    ) -> None:
        self.client = client
        self.fallback = fallback
        self.cooldown = cooldown
        self.log_every = log_every
        self._script = client.register_script(_GCRA_LUA)
        self._down_until = 0.0
        self._logged_at = -math.inf
        self._suppressed = 0

    async def acquire(self, rule: Rule, key: str, count: bool) -> float:
        if time.monotonic() < self._down_until:
            return await self._degraded(rule, key, count)
        args = [round(rule.interval * 1e6), round(rule.period * 1e6), int(count)]
        try:
            wait_us = await self._script(keys=[KEY_PREFIX + key], args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._outage(exc)
            return await self._degraded(rule, key, count)
        return int(wait_us) / 1e6

    async def _degraded(self, rule: Rule, key: str, count: bool) -> float:
        return 0.0 if self.fallback is None else await self.fallback.acquire(rule, key, count)

    def _outage(self, exc: Exception) -> None:
        STORE_ERRORS.inc()
        now = time.monotonic()
        self._down_until = now + self.cooldown
        if now - self._logged_at < self.log_every:
            self._suppressed += 1
            return
        log.warning(
            "ratelimit_store_unavailable",
            error_type=type(exc).__name__,
            error=str(exc)[:200],
            degraded_to="allow" if self.fallback is None else "memory",
            suppressed=self._suppressed,
        )
        self._logged_at, self._suppressed = now, 0

    async def reset(self, rule: Rule, key: str) -> None:
        if self.fallback is not None:
            await self.fallback.reset(rule, key)
        try:
            await self.client.delete(KEY_PREFIX + key)
        except (RedisError, OSError, TimeoutError) as exc:
            self._outage(exc)

    async def aclose(self) -> None:
        await self.client.aclose()


class RateLimiter:
    """`check` (is the key locked out?) and `hit` (count an event) against named rules."""

    def __init__(self, backend: Backend, key_secret: str | bytes | None = None) -> None:
        self.backend = backend
        secret = key_secret.encode() if isinstance(key_secret, str) else key_secret
        self._key_secret = secret or None

    @classmethod
    def memory(cls, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> RateLimiter:
        return cls(MemoryBackend(clock=clock), **kwargs)

    @classmethod
    def from_url(
        cls,
        redis_url: str | None,
        *,
        key_secret: str | bytes | None = None,
        degrade_to_memory: bool = True,
        timeout: float = REDIS_TIMEOUT,
    ) -> RateLimiter:
        """None or memory:// → per process; redis://, rediss://, unix:// → shared.

        `key_secret` (e.g. the app's secret key) turns key hashing into an HMAC, so emails in
        Redis cannot be recovered by hashing guesses. With `degrade_to_memory`, a Redis outage
        falls back to per-process limits; otherwise it allows everything until Redis is back.
        """
        if redis_url is None or redis_url.startswith("memory://"):
            return cls.memory(key_secret=key_secret)
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("the rate-limit store must be a redis://, rediss:// or unix:// URL")
        client = Redis.from_url(
            redis_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        fallback = MemoryBackend() if degrade_to_memory else None
        return cls(RedisBackend(client, fallback), key_secret=key_secret)

    def storage_key(self, rule: Rule, key: str) -> str:
        """`<rule>:<hash>`: no secret or personal data is stored, and the length is bounded."""
        if self._key_secret is None:
            digest = hashlib.sha256(key.encode()).hexdigest()
        else:
            digest = hmac.new(self._key_secret, key.encode(), hashlib.sha256).hexdigest()
        return f"{rule.name}:{digest[:32]}"

    async def check(self, rule: Rule, key: str) -> None:
        """Raise TooManyRequests if a hit now would be refused; counts nothing."""
        wait = await self.backend.acquire(rule, self.storage_key(rule, key), count=False)
        if wait > 0:
            REFUSED.labels(rule.name).inc()
            raise TooManyRequests(wait)

    async def hit(self, rule: Rule, key: str) -> None:
        """Count one event; raise TooManyRequests if it is over the limit (it still counts)."""
        wait = await self.backend.acquire(rule, self.storage_key(rule, key), count=True)
        if wait > 0:
            REFUSED.labels(rule.name).inc()
            raise TooManyRequests(wait)

    async def reset(self, rule: Rule, key: str) -> None:
        await self.backend.reset(rule, self.storage_key(rule, key))

    async def aclose(self) -> None:
        await self.backend.aclose()


async def guard_authentication(
    limiter: RateLimiter,
    client_key: str | None,
    account_key: str | None,
    attempt: Callable[[], Awaitable[T]],
    *,
    client_rule: Rule = AUTH_FAILURE_CLIENT,
    account_rule: Rule = AUTH_FAILURE_ACCOUNT,
) -> T:
    """Run `attempt` (a token/session/callback check) under the failed-authentication limits.

    A client over its limit gets 429 before its credential is looked at. Account limits only
    count failures: a valid credential still works (so nobody can lock an owner out), while a
    failure beyond the account's limit is answered 429 instead of 401. Only Unauthorized counts
    as a failure; successes do not forgive earlier failures. A None key is not limited.
    """
    if client_key is not None:
        await limiter.check(client_rule, client_key)
    try:
        return await attempt()
    except Unauthorized as failure:
        refusals: list[TooManyRequests] = []
        for rule, key in ((client_rule, client_key), (account_rule, account_key)):
            if key is None:
                continue
            try:
                await limiter.hit(rule, key)
            except TooManyRequests as refused:
                refusals.append(refused)
        if refusals:
            raise max(refusals, key=lambda r: r.wait) from failure
        raise


def request_client_key(request: Request) -> str | None:
    """The caller's address as the server sees it (behind a proxy, run uvicorn with
    --proxy-headers and --forwarded-allow-ips so this is the real client)."""
    return "ip:" + request.client.host if request.client else None


class ConsoleLimits:
    """The console's abuse limits in the shape its routes call them (`app.state.limits`)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def signin_attempt(self, request: Request, tenant: str | None) -> None:
        """Count a sign-in start; 429 when the client or the tenant is over its limit."""
        client = request_client_key(request)
        if client is not None:
            await self.limiter.hit(SIGNIN_CLIENT, client)
        if tenant is not None:
            await self.limiter.hit(SIGNIN_TENANT, tenant_key(tenant))

    async def check_callback(self, request: Request) -> None:
        """429 if this client has failed too many sign-in callbacks lately."""
        client = request_client_key(request)
        if client is not None:
            await self.limiter.check(CALLBACK_FAILURE_CLIENT, client)

    async def callback_failed(self, request: Request) -> None:
        """Count a failed callback; the caller is already answering it, so this never raises."""
        client = request_client_key(request)
        if client is not None:
            with contextlib.suppress(TooManyRequests):
                await self.limiter.hit(CALLBACK_FAILURE_CLIENT, client)

    async def authenticate(
        self, request: Request, account_key: str | None, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """`guard_authentication` for a request: a token's `token_key(prefix)` or None."""
        return await guard_authentication(
            self.limiter, request_client_key(request), account_key, attempt
        )

    async def aclose(self) -> None:
        await self.limiter.aclose()


class NoLimits(ConsoleLimits):
    """Limits switched off (CONSOLE_RATE_LIMIT_ENABLED=false): every check passes."""

    def __init__(self) -> None:
        super().__init__(RateLimiter.memory())

    async def signin_attempt(self, request: Request, tenant: str | None) -> None:
        return None

    async def check_callback(self, request: Request) -> None:
        return None

    async def callback_failed(self, request: Request) -> None:
        return None

    async def authenticate(
        self, request: Request, account_key: str | None, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        return await attempt()
