"""The console as an OpenID Connect relying party (authorization code + PKCE S256 + nonce)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import structlog
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.jwk import Key

from console.identity.oidc import idtoken
from console.identity.oidc import provider as idp
from console.identity.oidc.models import (
    AuthorizationRequest,
    OIDCError,
    ProviderConfig,
    VerifiedIdentity,
)
from console.identity.oidc.transport import ProviderHTTP

log = structlog.get_logger(__name__)

STATE_LENGTH = 43  # 62 symbols: ~256 bits, for state and nonce alike
VERIFIER_LENGTH = 64  # RFC 7636: 43..128 unreserved characters


class OIDCClient:
    """Discovery and JWKS are cached per issuer / key set URL for `metadata_ttl` seconds."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        metadata_ttl: float = 300,
        leeway: int = 60,
        request_timeout: float = 10.0,
    ) -> None:
        self._http = ProviderHTTP(http, request_timeout)
        self._ttl = metadata_ttl
        self._leeway = leeway
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks: dict[str, tuple[float, list[Key]]] = {}

    async def metadata(self, issuer: str) -> dict[str, Any]:
        """The issuer's discovery document, checked (exact issuer, https endpoints) and cached."""
        cached = self._metadata.get(issuer)
        if cached and cached[0] > time.monotonic():
            return dict(cached[1])
        return dict(await self._fetch_metadata(issuer))

    async def authorization_request(
        self, provider: ProviderConfig, redirect_uri: str
    ) -> AuthorizationRequest:
        """A fresh state, nonce and PKCE verifier, and the URL that carries them to the IdP."""
        meta = await self.metadata(provider.issuer)
        methods = meta.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise OIDCError("The identity provider does not support PKCE", reason="no_pkce")
        scopes = provider.scopes
        if "openid" not in scopes:
            scopes = ("openid", *scopes)
        state, nonce = generate_token(STATE_LENGTH), generate_token(STATE_LENGTH)
        verifier = generate_token(VERIFIER_LENGTH)
        url = add_params_to_uri(
            meta["authorization_endpoint"],
            [
                ("response_type", "code"),
                ("client_id", provider.client_id),
                ("redirect_uri", redirect_uri),
                ("scope", " ".join(scopes)),
                ("state", state),
                ("nonce", nonce),
                ("code_challenge", create_s256_code_challenge(verifier)),
                ("code_challenge_method", "S256"),
            ],
        )
        return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def complete(
        self,
        provider: ProviderConfig,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        nonce: str,
        iss_param: str | None = None,
    ) -> VerifiedIdentity:
        """Redeem the code and return who signed in, or raise OIDCError. The caller has already
        matched `state` to the browser that started the sign-in."""
        try:
            meta = await self.metadata(provider.issuer)
            idp.check_iss_param(provider.issuer, meta, iss_param)
            tokens = await self._redeem(provider, meta, code, redirect_uri, code_verifier)
            id_token, access_token = tokens.get("id_token"), tokens.get("access_token")
            if not isinstance(id_token, str):
                raise OIDCError("The identity provider returned no ID token", reason="no_id_token")
            if not isinstance(access_token, str):
                access_token = None
            claims = await self._verify(provider, meta, id_token, nonce, access_token)
            claims = await self._with_userinfo(provider, meta, claims, access_token)
        except OIDCError as exc:
            log.warning("oidc_sign_in_failed", issuer=provider.issuer, reason=exc.reason)
            raise
        return idtoken.identity(provider.issuer, claims)

    async def check_configuration(self, provider: ProviderConfig) -> dict[str, Any]:
        """Fetch discovery and JWKS afresh and report what a sign-in would use. Client credentials
        are only checked by a real sign-in."""
        meta = await self._fetch_metadata(provider.issuer)
        algorithms = idtoken.allowed_algorithms(meta)
        if not algorithms:
            raise OIDCError(
                "The identity provider signs ID tokens with no algorithm the console accepts "
                f"(it accepts {', '.join(idtoken.ALLOWED_ALGORITHMS)})",
                reason="no_usable_algorithm",
            )
        keys = [
            key
            for key in await self._keys(meta["jwks_uri"], refresh=True)
            if any(key.key_type == idtoken.key_type(alg) for alg in algorithms)
        ]
        if not keys:
            raise OIDCError(
                "The identity provider publishes no key for the algorithms it signs with",
                reason="no_usable_key",
            )
        pkce = meta.get("code_challenge_methods_supported")
        if isinstance(pkce, list) and "S256" not in pkce:
            raise OIDCError("The identity provider does not support PKCE", reason="no_pkce")
        response_types = meta.get("response_types_supported")
        if isinstance(response_types, list) and "code" not in response_types:
            raise OIDCError(
                "The identity provider does not offer the authorization code flow",
                reason="no_code_flow",
            )
        return {
            "issuer": meta["issuer"],
            "authorization_endpoint": meta["authorization_endpoint"],
            "token_endpoint": meta["token_endpoint"],
            "userinfo_endpoint": meta.get("userinfo_endpoint"),
            "jwks_uri": meta["jwks_uri"],
            "signing_algorithms": list(algorithms),
            "keys": [{"kid": key.kid, "kty": key.key_type, "alg": key.get("alg")} for key in keys],
            "token_endpoint_auth_method": idp.token_auth_method(provider, meta),
            "iss_parameter_supported": meta.get(idp.ISS_PARAMETER_SUPPORTED) is True,
            "warnings": idp.configuration_warnings(provider, meta),
        }

    async def _fetch_metadata(self, issuer: str) -> dict[str, Any]:
        idp.check_issuer(issuer)
        document = await self._http.get_json(idp.discovery_url(issuer), what="discovery document")
        idp.check_metadata(issuer, document)
        self._metadata[issuer] = (time.monotonic() + self._ttl, document)
        return document

    async def _keys(self, jwks_uri: str, *, refresh: bool = False) -> list[Key]:
        cached = self._jwks.get(jwks_uri)
        if cached and not refresh and cached[0] > time.monotonic():
            return cached[1]
        keys = idtoken.signing_keys(await self._http.get_json(jwks_uri, what="key set"))
        self._jwks[jwks_uri] = (time.monotonic() + self._ttl, keys)
        return keys

    async def _redeem(
        self,
        config: ProviderConfig,
        meta: dict[str, Any],
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> dict[str, Any]:
        """Exchange the code at the token endpoint (client auth per `token_auth_method`)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        method = idp.token_auth_method(config, meta)
        if method == "client_secret_basic" and config.client_secret is not None:
            headers["Authorization"] = idp.basic_authorization(
                config.client_id, config.client_secret
            )
        elif method == "client_secret_post" and config.client_secret is not None:
            form |= {"client_id": config.client_id, "client_secret": config.client_secret}
        else:
            form["client_id"] = config.client_id
        reply = await self._http.send("POST", meta["token_endpoint"], data=form, headers=headers)
        body = reply.json()
        if reply.status != 200:
            secrets = (code, code_verifier, config.client_secret or "")
            raise idp.token_error(reply.status, body, secrets=secrets)
        if not isinstance(body, dict):
            raise OIDCError(
                "The identity provider's token response is not JSON", reason="bad_response"
            )
        return body

    async def _verify(
        self,
        config: ProviderConfig,
        meta: dict[str, Any],
        id_token: str,
        nonce: str,
        access_token: str | None,
    ) -> dict[str, Any]:
        algorithms = idtoken.allowed_algorithms(meta)
        alg, kid = idtoken.read_header(id_token)
        if alg not in algorithms:
            raise OIDCError(
                "The sign-in token is signed with an algorithm the console does not accept",
                reason="algorithm_not_allowed",
            )
        key = idtoken.select_key(await self._keys(meta["jwks_uri"]), alg, kid)
        if key is None:  # the provider may have rotated its keys since we cached them
            key = idtoken.select_key(await self._keys(meta["jwks_uri"], refresh=True), alg, kid)
        if key is None:
            raise OIDCError(
                "The sign-in token is signed with a key the identity provider does not publish",
                reason="unknown_key",
            )
        return idtoken.verify(
            id_token,
            key,
            alg,
            issuer=config.issuer,
            client_id=config.client_id,
            nonce=nonce,
            access_token=access_token,
            leeway=self._leeway,
        )

    async def _with_userinfo(
        self,
        config: ProviderConfig,
        meta: dict[str, Any],
        claims: dict[str, Any],
        access_token: str | None,
    ) -> dict[str, Any]:
        """Fill a missing email or name from the userinfo endpoint (same subject only)."""
        want_email = "email" in config.scopes and not isinstance(claims.get("email"), str)
        want_name = "profile" in config.scopes and not idtoken.display_name(claims)
        endpoint = meta.get("userinfo_endpoint")
        if not (want_email or want_name) or access_token is None or not endpoint:
            return claims
        reply = await self._http.send(
            "GET",
            endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        info = reply.json()
        if reply.status != 200 or not isinstance(info, dict):
            raise OIDCError(
                "The identity provider did not return the user's profile",
                reason="userinfo_failed",
                status=502,
            )
        if info.get("sub") != claims["sub"]:
            raise OIDCError(
                "The identity provider's profile is for a different user",
                reason="userinfo_subject_mismatch",
            )
        merged = {**info, **claims}
        if want_email:  # email and email_verified only ever come as a pair from one source
            merged.pop("email_verified", None)
            merged |= {k: info[k] for k in ("email", "email_verified") if k in info}
        return merged
