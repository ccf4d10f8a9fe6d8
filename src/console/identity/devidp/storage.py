"""In-memory clients, authorization codes, access tokens and spent nonces (dev only)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, scope_to_list
from authlib.oidc.core import AuthorizationCodeMixin

from console.identity.devidp.models import DevClient, DevUser

CODE_TTL_SECONDS = 60
ACCESS_TOKEN_TTL_SECONDS = 3600
SUPPORTED_SCOPES = ("openid", "email", "profile")
# A spent code or nonce is remembered this long, to detect replays and revoke tokens.
REPLAY_MEMORY_SECONDS = 600


class RegisteredClient(ClientMixin):
    """Authlib's view of a `DevClient`: code flow, confidential, exact redirect URIs."""

    def __init__(self, client: DevClient) -> None:
        self.client_id = client.client_id
        self.redirect_uris = client.redirect_uris
        self._secret = client.client_secret

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # redirect_uri is required in every authorization request

    def get_allowed_scope(self, scope: str | None) -> str | None:
        requested = scope_to_list(scope) or []
        if "openid" not in requested:
            return None  # an OpenID Connect request or nothing
        return " ".join(s for s in dict.fromkeys(requested) if s in SUPPORTED_SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self._secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: DevUser
    nonce: str
    code_challenge: str
    code_challenge_method: str
    auth_time: int
    expires_at: float = 0.0

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class AccessToken(TokenMixin):
    access_token: str
    client: RegisteredClient
    user: DevUser
    scope: str
    code: str
    expires_at: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    revoked: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        return self.client.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return ACCESS_TOKEN_TTL_SECONDS

    def is_expired(self) -> bool:
        return self.clock() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> DevUser:
        return self.user

    def get_client(self) -> RegisteredClient:
        return self.client


@dataclass
class MemoryStore:
    """Everything the provider remembers; lost on restart. `clock` is monotonic seconds."""

    clients: dict[str, RegisteredClient]
    clock: Callable[[], float] = time.monotonic
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    spent_codes: dict[str, float] = field(default_factory=dict)
    spent_nonces: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def for_clients(cls, clients: Iterable[DevClient]) -> MemoryStore:
        return cls({c.client_id: RegisteredClient(c) for c in clients})

    def save_code(self, code: AuthorizationCode) -> None:
        self._forget_expired()
        now = self.clock()
        code.expires_at = now + CODE_TTL_SECONDS
        self.codes[code.code] = code

    def take_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """Consume a code on first presentation; a replay revokes what it was exchanged for.

        Its nonce is spent only now, so a double-submitted sign-in (two codes, one nonce) still
        works for the one code the client redeems.
        """
        now = self.clock()
        if code in self.spent_codes:
            for token in self.tokens.values():
                if token.code == code:
                    token.revoked = True
            return None
        found = self.codes.pop(code, None)
        if found is None:
            return None
        self.spent_codes[code] = now + REPLAY_MEMORY_SECONDS
        nonce = (client_id, found.nonce)
        if found.client_id != client_id or now >= found.expires_at or nonce in self.spent_nonces:
            return None
        self.spent_nonces[nonce] = now + REPLAY_MEMORY_SECONDS
        return found

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        return (client_id, nonce) in self.spent_nonces

    def save_token(self, token: AccessToken) -> None:
        token.clock = self.clock
        self.tokens[token.access_token] = token

    def find_token(self, access_token: str) -> AccessToken | None:
        return self.tokens.get(access_token)

    def _forget_expired(self) -> None:
        now = self.clock()
        for mapping in (self.spent_codes, self.spent_nonces):
            for key in [k for k, until in mapping.items() if until <= now]:
                del mapping[key]
        for code in [c for c, ac in self.codes.items() if ac.expires_at <= now]:
            del self.codes[code]
        for tok in [t for t, at in self.tokens.items() if at.expires_at <= now]:
            del self.tokens[tok]
