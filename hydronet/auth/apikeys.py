"""Tenant API keys as credentials: their format, how they are stored, and checking a presented key.

Keys are shown once when created (tenants/apikeys.py) and stored as SHA-256
hashes; a request presents one as ``Authorization: Bearer hn_…``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

from sqlalchemy import select

from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import Unauthorized
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import ApiKey, User

KEY_PREFIX = "hn_"
LAST_USED_EVERY_S = 60


def is_api_key(credential: str) -> bool:
    """True when a bearer credential is an API key rather than a JWT."""
    return credential.startswith(KEY_PREFIX)


def key_hash(raw: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key: (its public prefix, the raw key shown once)."""
    prefix = secrets.token_hex(4)
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def forget_use(key: ApiKey) -> None:
    """Drop the last-use gate of a revoked key."""
    get_store().delete(_used_key(key))


def authenticate_api_key(raw: str) -> tuple[ApiKey, User]:
    """The key and its creator for a presented bearer key; 401 when unusable."""
    with all_tenants(db.session):
        key = db.session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash(raw))).scalar_one_or_none()
        if key is None or key.revoked_at is not None:
            raise Unauthorized("The API key is invalid or revoked", code="invalid_api_key")
        if key.expires_at is not None and _aware(key.expires_at) <= utcnow():
            raise Unauthorized("The API key has expired", code="api_key_expired")
        user = db.session.get(User, key.user_id)
    if user is None:
        raise Unauthorized("The API key's owner no longer exists", code="invalid_api_key")
    _touch(key)
    return key, user


def _used_key(key: ApiKey) -> str:
    return f"apikey:used:{key.id}"


def _touch(key: ApiKey) -> None:
    """Record last use at most once a minute (a Redis NX key gates the write)."""
    if not get_store().set(_used_key(key), "1", ttl=LAST_USED_EVERY_S, nx=True):
        return
    bind_tenant(db.session, key.tenant_id)
    key.last_used_at = utcnow()
    db.session.commit()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
