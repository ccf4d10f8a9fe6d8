"""ID token checks (OpenID Connect Core 3.1.3.7) with joserfc: key choice, signature, claims."""

from __future__ import annotations

import hashlib
import hmac
import warnings
from base64 import urlsafe_b64encode
from collections.abc import Callable
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    SecurityWarning,
)
from joserfc.jwk import JWKRegistry, Key

from console.identity.oidc.models import OIDCError, VerifiedIdentity

# Asymmetric only: "none" and HS* (which a public key could be abused to "verify") never pass.
ALLOWED_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA", "Ed25519",
)  # fmt: skip
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_HALF_HASH: dict[str, Callable[..., Any]] = {
    "256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512,
}  # fmt: skip
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "nonce")
_CLAIM_ERRORS = {
    "iss": ("The sign-in token was issued by a different identity provider", "issuer_mismatch"),
    "aud": ("The sign-in token was issued for a different application", "audience_mismatch"),
    "iat": ("The sign-in token was issued in the future; check the server clocks", "issued_later"),
    "nbf": ("The sign-in token is not valid yet; check the server clocks", "not_yet_valid"),
}
_INVALID = ("The sign-in token is invalid", "invalid_claim")


def _fail(message: str, reason: str) -> OIDCError:
    return OIDCError(message, reason=reason)


def allowed_algorithms(metadata: dict[str, Any]) -> tuple[str, ...]:
    """Our fixed list, narrowed to what the provider says it signs ID tokens with."""
    advertised = metadata.get("id_token_signing_alg_values_supported")
    if not isinstance(advertised, list):
        advertised = ["RS256"]  # the registration default
    return tuple(alg for alg in ALLOWED_ALGORITHMS if alg in advertised)


def signing_keys(jwks: dict[str, Any]) -> list[Key]:
    """The public signature keys of a JWKS; symmetric, encryption and unreadable ones skipped."""
    keys: list[Key] = []
    entries = jwks.get("keys")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") == "oct":
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys.append(JWKRegistry.import_key(entry))
        except (JoseError, ValueError, TypeError, KeyError):
            continue
    return keys


def read_header(id_token: str) -> tuple[str, str | None]:
    """The `alg` and `kid` of an ID token, before anything is trusted."""
    try:
        header = jws.extract_compact(id_token.encode()).headers()
    except (JoseError, ValueError, TypeError, KeyError, IndexError):
        raise _fail(
            "The identity provider returned a malformed sign-in token", "malformed_token"
        ) from None
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or (kid is not None and not isinstance(kid, str)):
        raise _fail("The identity provider returned a malformed sign-in token", "malformed_token")
    return alg, kid


def key_type(alg: str) -> str | None:
    return _KEY_TYPE.get(alg[:2]) if alg in ALLOWED_ALGORITHMS else None


def select_key(keys: list[Key], alg: str, kid: str | None) -> Key | None:
    """The key `kid` names; without a kid only an unambiguous key (Core 10.1)."""
    candidates = [k for k in keys if k.key_type == key_type(alg) and k.get("alg") in (None, alg)]
    if kid is not None:
        candidates = [k for k in candidates if k.kid == kid]
    elif len(candidates) != 1:
        return None
    return candidates[0] if candidates else None


def half_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: left half of the hash the signing algorithm uses, base64url."""
    digest = _HALF_HASH["512" if alg.startswith("Ed") else alg[-3:]](value.encode()).digest()
    return urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and hmac.compare_digest(a.encode(), b.encode())


def verify(
    id_token: str,
    key: Key,
    alg: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None,
    leeway: int,
) -> dict[str, Any]:
    """The ID token's claims once signature, iss, aud/azp, exp/iat, nonce and at_hash hold."""
    if alg not in ALLOWED_ALGORITHMS:  # callers narrow further; this is the floor
        raise _fail("The sign-in token's algorithm is not accepted", "algorithm_not_allowed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)  # "EdDSA" is merely deprecated
            claims = jwt.decode(id_token, key, algorithms=[alg]).claims
    except BadSignatureError:
        raise _fail("The sign-in token's signature is invalid", "bad_signature") from None
    except (JoseError, ValueError, TypeError):
        raise _fail("The sign-in token could not be verified", "invalid_token") from None

    missing = [name for name in REQUIRED_CLAIMS if claims.get(name) in (None, "", [])]
    if missing:
        names = ", ".join(missing)
        raise _fail(f"The sign-in token lacks required claims: {names}", "missing_claim")
    registry = jwt.JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise _fail("The sign-in token has expired; please sign in again", "expired") from None
    except InvalidClaimError as exc:
        message, reason = _CLAIM_ERRORS.get(exc.claim, _INVALID)
        raise _fail(message, reason) from None
    except JoseError:
        raise _fail("The sign-in token is invalid", "invalid_claim") from None

    audiences = [claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise _fail(*_CLAIM_ERRORS["aud"])
    if not _same(claims["nonce"], nonce):
        raise _fail("The sign-in response is not for this sign-in attempt", "nonce_mismatch")
    if "at_hash" in claims and (
        access_token is None or not _same(claims["at_hash"], half_hash(access_token, alg))
    ):
        raise _fail("The sign-in token does not match the access token", "at_hash_mismatch")
    return claims


def display_name(claims: dict[str, Any]) -> str:
    """name, else given + family name, else preferred_username, else empty."""
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [claims.get(k) for k in ("given_name", "family_name")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    username = claims.get("preferred_username")
    return joined or (username.strip() if isinstance(username, str) else "")


def identity(issuer: str, claims: dict[str, Any]) -> VerifiedIdentity:
    """email_verified counts only as true (or Cognito's "true"), and only with an email."""
    raw_email = claims.get("email")
    email = raw_email.strip() or None if isinstance(raw_email, str) else None
    verified = email is not None and claims.get("email_verified") in (True, "true")
    return VerifiedIdentity(
        issuer=issuer,
        subject=claims["sub"],
        email=email,
        email_verified=verified,
        name=display_name(claims) or email or claims["sub"],
        claims=claims,
    )
