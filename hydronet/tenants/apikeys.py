"""Managing a tenant's API keys: created by owners/admins within the plan's quota, listed, revoked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from hydronet.auth.actor import Actor
from hydronet.auth.apikeys import forget_use, key_hash, new_key
from hydronet.auth.permissions import SCOPES
from hydronet.kernel import audit
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import ValidationError
from hydronet.kernel.lookup import get_or_404
from hydronet.models import ApiKey
from hydronet.tenants import quotas


def create(actor: Actor, name: str, scopes: list[str], expires_at: datetime | None) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored."""
    assert actor.user is not None and actor.tenant is not None
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationError({"scopes": f"choose one or more of: {', '.join(sorted(SCOPES))}"})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError({"expires_at": "must be in the future"})
    quotas.check_count(
        actor.tenant,
        "api_keys",
        lambda: db.session.execute(
            select(func.count(ApiKey.id)).where(ApiKey.tenant_id == actor.tenant.id, ApiKey.revoked_at.is_(None))
        ).scalar_one(),
    )
    prefix, raw = new_key()
    key = ApiKey(
        tenant_id=actor.tenant.id,
        user_id=actor.user.id,
        name=name,
        prefix=prefix,
        key_hash=key_hash(raw),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        actor,
        "api_key.create",
        target_type="api_key",
        target_id=key.id,
        details={"name": name, "scopes": key.scopes, "prefix": prefix},
    )
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
        forget_use(key)
    return key
