"""Writing the audit log: one entry per sensitive action, hash-chained per tenant."""
from __future__ import annotations

import hashlib
import json
import re
import uuid
import zlib
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text

from ..extensions import db
from ..models import AuditLog, utcnow
from ..tenancy import all_tenants
from .context import Actor

_SECRET_KEY_RE = re.compile(r"pass(word)?|token|secret|api[_-]?key|authorization|credential|aes|cookie", re.I)
REDACTED = "[redacted]"


def sanitize(details: Any) -> Any:
    """Drop secrets from audit details, recursively, by key name."""
    if isinstance(details, dict):
        return {
            k: (REDACTED if _SECRET_KEY_RE.search(str(k)) else sanitize(v)) for k, v in details.items()
        }
    if isinstance(details, (list, tuple)):
        return [sanitize(v) for v in details]
    if isinstance(details, (str, int, float, bool)) or details is None:
        return details
    return str(details)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def entry_hash(entry: AuditLog) -> str:
    """The SHA-256 over an entry's content and its predecessor's hash."""
    body = {
        "tenant_id": str(entry.tenant_id) if entry.tenant_id else None,
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_email": entry.actor_email,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "details": entry.details or {},
        "created_at": _iso(entry.created_at),
        "prev_hash": entry.prev_hash or "",
    }
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _chain_lock(tenant_id: uuid.UUID | None) -> None:
    """Serialise appends to one tenant's chain (PostgreSQL advisory lock, per transaction)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    key = zlib.crc32(str(tenant_id or "platform").encode()) & 0x7FFFFFFF
    db.session.execute(text("SELECT pg_advisory_xact_lock(728310, :k)"), {"k": key})


def last_hash(tenant_id: uuid.UUID | None) -> str:
    """The hash of the newest entry in a tenant's chain ('' for an empty chain)."""
    cond = AuditLog.tenant_id.is_(None) if tenant_id is None else AuditLog.tenant_id == tenant_id
    row = db.session.execute(select(AuditLog.hash).where(cond).order_by(AuditLog.id.desc()).limit(1)).first()
    if row:
        return row[0]
    from .audit_archive import anchor_hash

    return anchor_hash(tenant_id)


def record(
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: Any = None,
    details: dict[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
) -> AuditLog:
    """Add an audit entry to the current transaction (the caller commits)."""
    tid = tenant_id if tenant_id is not None else (actor.tenant.id if actor.tenant else None)
    db.session.flush()  # the change being audited is written under the caller's tenant scope
    with all_tenants(db.session):  # the chain is read and appended explicitly, whoever the caller is
        _chain_lock(tid)
        entry = _entry(actor, action, tid, target_type, target_id, details)
        db.session.add(entry)
        db.session.flush()
    return entry


def _entry(actor: Actor, action: str, tid: uuid.UUID | None, target_type: str | None, target_id: Any,
           details: dict[str, Any] | None) -> AuditLog:
    entry = AuditLog(
        tenant_id=tid,
        actor_id=actor.user.id if actor.user else None,
        actor_email=actor.email,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=actor.meta.ip,
        user_agent=(actor.meta.user_agent or "")[:300] or None,
        request_id=actor.meta.request_id,
        details=sanitize(details or {}),
        created_at=utcnow(),
        prev_hash=last_hash(tid),
    )
    entry.hash = entry_hash(entry)
    return entry
