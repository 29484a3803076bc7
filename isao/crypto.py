"""Encryption of secrets at rest (Fernet) and the keyed hashes used for API keys."""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from isao.config import Settings, get_settings


def _load_or_create_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


@lru_cache
def _fernet() -> Fernet:
    return Fernet(_load_or_create_key(get_settings()))


def active_key() -> str:
    """The key this process encrypts with, to hand to a worker process it starts (``ISAO_SECRET_KEY``)."""
    return _load_or_create_key(get_settings()).decode()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong ISAO_SECRET_KEY: say so rather than return garbage
        raise RuntimeError(
            "cannot decrypt a stored secret: is ISAO_SECRET_KEY the one it was written with?"
        ) from exc


def hash_token(token: str) -> str:
    """SHA-256: a slow KDF adds nothing to 240 random bits and would cost every request."""
    return hashlib.sha256(token.encode()).hexdigest()


def derived_key(purpose: str) -> bytes:
    """A key for ``purpose`` (e.g. signing dashboard cookies) derived from the secrets key, so
    there is one secret to keep and rotating it also ends every session."""
    return hmac.new(_load_or_create_key(get_settings()), purpose.encode(), hashlib.sha256).digest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
