"""Reading a provider's discovery document and token-endpoint answers."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote

from console.identity.oidc.models import OIDCError, ProviderConfig
from console.identity.oidc.transport import check_url, is_local

ISS_PARAMETER_SUPPORTED = "authorization_response_iss_parameter_supported"  # RFC 9207
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
_TOKEN_ERRORS = {
    "invalid_grant": "The sign-in code was expired or already used; please sign in again",
    "invalid_client": "The identity provider rejected the console's client credentials",
    "unauthorized_client": "The identity provider does not allow this client to sign users in",
    "invalid_request": "The identity provider rejected the sign-in request",
    "unsupported_grant_type": "The identity provider does not support the authorization code flow",
    "invalid_scope": "The identity provider rejected the requested scopes",
}
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def check_issuer(issuer: str) -> None:
    check_url(issuer, allow_http=is_local(issuer), what="issuer")


def check_metadata(issuer: str, document: dict[str, Any]) -> dict[str, Any]:
    """The discovery document, if it is this issuer's (exactly) and its endpoints are safe."""
    if document.get("issuer") != issuer:
        raise OIDCError(
            "The identity provider's discovery document names a different issuer",
            reason="issuer_mismatch",
        )
    allow_http = is_local(issuer)
    for name in ENDPOINTS:
        check_url(document.get(name), allow_http=allow_http, what=name.replace("_", " "))
    if document.get("userinfo_endpoint") is not None:
        check_url(document["userinfo_endpoint"], allow_http=allow_http, what="userinfo endpoint")
    return document


def token_auth_method(provider: ProviderConfig, metadata: dict[str, Any]) -> str:
    """client_secret_basic when offered (the default), else client_secret_post; none if public."""
    if provider.client_secret is None:
        return "none"
    supported = metadata.get("token_endpoint_auth_methods_supported")
    if not isinstance(supported, list) or "client_secret_basic" in supported:
        return "client_secret_basic"
    return "client_secret_post"


def basic_authorization(client_id: str, client_secret: str) -> str:
    """RFC 6749 2.3.1: both parts form-encoded before base64 (%20 rather than +)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _clean(value: object, limit: int, secrets: tuple[str, ...]) -> str:
    text = _UNPRINTABLE.sub(" ", value if isinstance(value, str) else "").strip()
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text[:limit]


def token_error(status: int, body: object, *, secrets: tuple[str, ...]) -> OIDCError:
    """A readable OIDCError for a token endpoint's refusal; echoes of `secrets` are redacted."""
    fields = body if isinstance(body, dict) else {}
    code = _clean(fields.get("error"), 64, secrets)
    if not code:
        return OIDCError(
            f"The identity provider's token endpoint answered HTTP {status}",
            reason="token_error",
            status=502,
        )
    message = _TOKEN_ERRORS.get(code, "The identity provider refused the sign-in")
    description = _clean(fields.get("error_description"), 200, secrets)
    detail = f"{message} ({code}: {description})" if description else f"{message} ({code})"
    return OIDCError(detail, reason=code if code in _TOKEN_ERRORS else "token_error")


def check_iss_param(issuer: str, meta: dict[str, Any], iss_param: str | None) -> None:
    """RFC 9207: an `iss` response parameter must name our issuer, and is mandatory when the
    provider advertises it."""
    if iss_param is None:
        if meta.get(ISS_PARAMETER_SUPPORTED) is True:
            raise OIDCError(
                "The sign-in response did not say which identity provider sent it",
                reason="iss_param_missing",
            )
        return
    if iss_param != issuer:
        raise OIDCError(
            "The sign-in response came from a different identity provider",
            reason="iss_param_mismatch",
        )


def configuration_warnings(config: ProviderConfig, meta: dict[str, Any]) -> list[str]:
    """Things an admin should know that do not stop a sign-in."""
    notes: list[str] = []
    if not isinstance(meta.get("code_challenge_methods_supported"), list):
        notes.append("PKCE support is not advertised; sign-in sends S256 anyway.")
    methods = meta.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list):
        if config.client_secret is None and "none" not in methods:
            notes.append("The provider does not advertise public clients; set a client secret.")
        if config.client_secret is not None and not {
            "client_secret_basic",
            "client_secret_post",
        } & set(methods):
            notes.append("The provider advertises neither client_secret_basic nor _post.")
    scopes = meta.get("scopes_supported")
    if isinstance(scopes, list):
        unknown = [s for s in config.scopes if s not in scopes]
        if unknown:
            notes.append(f"Scopes not advertised by the provider: {', '.join(unknown)}.")
    if not meta.get("userinfo_endpoint"):
        notes.append("No userinfo endpoint: email and name come from the ID token only.")
    return notes
