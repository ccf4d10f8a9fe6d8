"""The signing key, generated once per process."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import RSAKey

ALGORITHM = "RS256"


class SigningKey:
    """An RSA key for RS256 id_tokens; its `kid` is its RFC 7638 thumbprint."""

    def __init__(self) -> None:
        self.private = RSAKey.generate_key(2048, {"use": "sig", "alg": ALGORITHM}, private=True)
        self.private.ensure_kid()

    @property
    def kid(self) -> str:
        return str(self.private.kid)  # ensure_kid() set it in __init__

    def jwks(self) -> dict[str, Any]:
        """The public JSON Web Key Set served at /jwks."""
        return {"keys": [self.private.as_dict(private=False)]}
