"""Tenant API keys: created by owners/admins, shown once, stored as SHA-256 hashes."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

from sqlalchemy import func, select

from ..errors import Unauthorized, ValidationError
from ..extensions import db, get_store
from ..models import ApiKey, User, utcnow
from ..security.permissions import SCOPES
from ..tenancy import all_tenants, bind_tenant
from . import audit, quotas
from .context import Actor
from .lookup import get_or_404

KEY_PREFIX = "hn_"
LAST_USED_EVERY_S = 60


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(actor: Actor, name: str, scopes: list[str], expires_at: datetime | None) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored."""
    assert actor.user is not None and actor.tenant is not None
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationError({"scopes": f"choose one or more of: {', '.join(sorted(SCOPES))}"})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError({"expires_at": "must be in the future"})
    quotas.check_count(actor.tenant, "api_keys", lambda: db.session.execute(
        select(func.count(ApiKey.id)).where(ApiKey.tenant_id == actor.tenant.id, ApiKey.revoked_at.is_(None))
    ).scalar_one())
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(tenant_id=actor.tenant.id, user_id=actor.user.id, name=name, prefix=prefix, key_hash=_hash(raw),
                 scopes=sorted(set(scopes)), expires_at=expires_at)
    db.session.add(key)
    db.session.flush()
    audit.record(actor, "api_key.create", target_type="api_key", target_id=key.id,
                 details={"name": name, "scopes": key.scopes, "prefix": prefix})
    db.session.commit()
    return key, raw


def list_keys() -> list[ApiKey]:
    """The tenant's keys (scoped by the session), newest first."""
    return list(db.session.execute(select(ApiKey).order_by(ApiKey.created_at.desc())).scalars())


def get(key_id: str) -> ApiKey:
    """One of the tenant's keys, or 404."""
    return get_or_404(ApiKey, key_id, "API key")


def revoke(actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke a key at once."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(actor, "api_key.revoke", target_type="api_key", target_id=key.id, details={"name": key.name})
        db.session.commit()
        get_store().delete(f"apikey:used:{key.id}")
    return key


def authenticate_api_key(raw: str) -> tuple[ApiKey, User]:
    """The key and its creator for a presented bearer key; 401 when unusable."""
    with all_tenants(db.session):
        key = db.session.execute(select(ApiKey).where(ApiKey.key_hash == _hash(raw))).scalar_one_or_none()
        if key is None or key.revoked_at is not None:
            raise Unauthorized("The API key is invalid or revoked", code="invalid_api_key")
        if key.expires_at is not None and _aware(key.expires_at) <= utcnow():
            raise Unauthorized("The API key has expired", code="api_key_expired")
        user = db.session.get(User, key.user_id)
    if user is None:
        raise Unauthorized("The API key's owner no longer exists", code="invalid_api_key")
    _touch(key)
    return key, user


def _touch(key: ApiKey) -> None:
    """Record last use at most once a minute (a Redis NX key gates the write)."""
    if not get_store().set(f"apikey:used:{key.id}", "1", ttl=LAST_USED_EVERY_S, nx=True):
        return
    bind_tenant(db.session, key.tenant_id)
    key.last_used_at = utcnow()
    db.session.commit()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
