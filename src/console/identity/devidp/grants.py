"""The authorization code grant and its extensions: PKCE S256, OpenID Connect, RFC 9207."""

from __future__ import annotations

import hmac
import time
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge, create_s256_code_challenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import RSAKey

from console.identity.devidp.keys import ALGORITHM, SigningKey
from console.identity.devidp.models import DevUser
from console.identity.devidp.storage import (
    AccessToken,
    AuthorizationCode,
    MemoryStore,
    RegisteredClient,
)

ID_TOKEN_TTL_SECONDS = 600


def _compare_s256(code_verifier: str, code_challenge: str) -> bool:
    expected = create_s256_code_challenge(code_verifier)
    return hmac.compare_digest(expected.encode(), code_challenge.encode())


class S256CodeChallenge(CodeChallenge):
    """PKCE required for every client, S256 only (an absent method would mean `plain`)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": _compare_s256}

    def validate_code_challenge(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE is required.")
        if not data.get("code_challenge_method"):
            raise InvalidRequestError("Missing 'code_challenge_method': only S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def store(self) -> MemoryStore:
        return self.server.store

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.store.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                user=request.user,
                nonce=data["nonce"],
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                auth_time=int(time.time()),
            )
        )

    def query_authorization_code(
        self, code: str, client: RegisteredClient
    ) -> AuthorizationCode | None:
        return self.store.take_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: `take_code` consumed it."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> DevUser:
        return authorization_code.user


def user_info(user: DevUser, scope: str) -> UserInfo:
    """Claims for the id_token and /userinfo, filtered by scope (`sub` always)."""
    claims = UserInfo(sub=user.subject, email=user.email, email_verified=True, name=user.name)
    return claims.filter(scope)


class DevOpenIDCode(OpenIDCode):
    """id_token signed RS256 with the startup key; nonce required, refused once redeemed."""

    def __init__(self, issuer: str, key: SigningKey, store: MemoryStore) -> None:
        super().__init__(require_nonce=True)
        self.issuer = issuer
        self.key = key
        self.store = store

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return self.store.nonce_seen(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: RegisteredClient) -> RSAKey:
        return self.key.private

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return ALGORITHM

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self.key.kid, "typ": "JWT"}

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": client.client_id,
            "azp": client.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_TTL_SECONDS,
        }

    def generate_user_info(self, user: DevUser, scope: str) -> UserInfo:
        return user_info(user, scope)


class DevIssuerParameter(IssuerParameter):
    """RFC 9207: `iss` on every authorization response redirect, errors included."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class TokenValidator(BearerTokenValidator):
    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return self.store.find_token(token_string)
