"""Machine API keys at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key from the config.

MACHINE_CREDENTIALS_KEY: one or more keys, comma-separated, the first encrypting and all
decrypting (so a key can be rotated: put the new one first, re-save, drop the old). Each is a
Fernet key or any long secret (hashed into one). Unset: derived from SECRET_KEY, so rotating
SECRET_KEY then means entering the machines' keys again (docs/machines.md).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import current_app


def _fernet_key(secret: str) -> bytes:
    raw = secret.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(b"folkeverksted-machines:" + raw).digest())


def _box() -> Any:
    # cryptography (6 MB) is loaded when a machine's key is first read or written
    from cryptography.fernet import Fernet, MultiFernet

    configured = current_app.config.get("MACHINE_CREDENTIALS_KEY") or ""
    secrets = [part for part in str(configured).split(",") if part.strip()]
    if not secrets:
        secrets = [str(current_app.config["SECRET_KEY"])]
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


def encrypt(api_key: str) -> str:
    return _box().encrypt(api_key.encode()).decode()


def decrypt(stored: str | None) -> str | None:
    """The key, or None when there is none or it cannot be read (the key changed)."""
    if not stored:
        return None
    from cryptography.fernet import InvalidToken

    try:
        return _box().decrypt(stored.encode()).decode()
    except InvalidToken:
        return None
