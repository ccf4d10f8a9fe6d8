"""Secrets: generation, one-way hashing for lookup, constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """SHA-256 hex of a high-entropy token; such tokens need no slow password hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SecretBox:
    """Encrypts secrets at rest (Fernet: AES-128-CBC + HMAC) with a key derived from the app
    secret; extra old secrets keep older ciphertexts readable after a key rotation."""

    def __init__(self, secret_key: str, *old_secret_keys: str) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        self._fernet = MultiFernet([Fernet(_derive_key(k)) for k in (secret_key, *old_secret_keys)])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return self._fernet.decrypt(ciphertext.encode()).decode()


def _derive_key(secret_key: str) -> bytes:
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"console secret box v1"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)
