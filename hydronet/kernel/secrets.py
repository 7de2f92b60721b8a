"""Secrets at rest (WeChat secrets, MCP headers): Fernet with key rotation.

SECRETS_ENCRYPTION_KEYS is a comma-separated list of Fernet keys, newest
first: new values are encrypted with the first, every key still decrypts.
Without configured keys a key is derived from SECRET_KEY (so embedded mode
works); production sets its own keys and rotates them with
`flask hydronet reencrypt-secrets`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

PREFIX = "enc1:"


class SecretDecryptError(RuntimeError):
    """No configured key decrypts the stored value."""


def _fernet() -> MultiFernet:
    keys = list(current_app.config.get("SECRETS_ENCRYPTION_KEYS") or [])
    if not keys:
        derived = hashlib.sha256(("hydronet-secrets:" + current_app.config["SECRET_KEY"]).encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def encrypt(value: str) -> str:
    """Encrypt a string with the newest key ('' stays '')."""
    if not value:
        return ""
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a value written by `encrypt` with any configured key."""
    if not token:
        return ""
    if not token.startswith(PREFIX):
        raise SecretDecryptError("value is not an encrypted secret")
    try:
        return _fernet().decrypt(token[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretDecryptError("no configured key decrypts this secret") from None


def rotate(token: str) -> str:
    """Re-encrypt a stored value with the newest key."""
    if not token:
        return ""
    return PREFIX + _fernet().rotate(token[len(PREFIX) :].encode()).decode()


def encrypt_json(value: Any) -> str:
    """Encrypt a JSON-serialisable value."""
    return encrypt(json.dumps(value, ensure_ascii=False)) if value else ""


def decrypt_json(token: str, default: Any = None) -> Any:
    """Decrypt a value written by `encrypt_json`."""
    return json.loads(decrypt(token)) if token else default


def mask(value: str, keep: int = 4) -> str:
    """A display form that never reveals the whole secret."""
    if not value:
        return ""
    return "•" * 8 + (value[-keep:] if len(value) > keep * 3 else "")
