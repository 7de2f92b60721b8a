"""The audit trail: one entry per sensitive action, hash-chained per tenant.

Every domain records its sensitive actions here (`record`); the chain of a
tenant can be verified and old entries archived (tenants/audit_archive.py)
without breaking it, because the hash of the last archived entry is kept as
the chain's anchor.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zlib
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import BigInteger, Index, Integer, String, Uuid, select, text
from sqlalchemy.orm import Mapped, mapped_column

from hydronet.kernel.db import Base, db, utcnow
from hydronet.kernel.tenancy import all_tenants


class AuditLog(Base):
    """One sensitive action; entries of a tenant form a hash chain.

    Not a TenantOwnedMixin: platform-level entries have no tenant, and the
    platform admin reads across tenants.  Tenant reads filter explicitly.
    """

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("ix_audit_logs_tenant_id_id", "tenant_id", "id"),
        Index("ix_audit_logs_action", "action"),
        Index("ix_audit_logs_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")


class AuditAnchor(Base):
    """Where a tenant's chain continues after older entries were archived."""

    __tablename__ = "audit_anchors"

    tenant_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_archived_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    archived_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class _Origin(Protocol):
    @property
    def ip(self) -> str | None: ...
    @property
    def user_agent(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...


class AuditActor(Protocol):
    """Who acted (auth.actor.Actor is one): the user and tenant rows, if any, and where from."""

    @property
    def user(self) -> Any: ...
    @property
    def tenant(self) -> Any: ...
    @property
    def meta(self) -> _Origin: ...

    @property
    def email(self) -> str | None: ...


def tenant_key(tenant_id: uuid.UUID | None) -> str:
    """The anchor key of a chain: the tenant id, or 'platform'."""
    return str(tenant_id) if tenant_id else "platform"


def anchor_hash(tenant_id: uuid.UUID | None) -> str:
    """Hash of the last archived entry of a chain ('' when nothing was archived)."""
    anchor = db.session.get(AuditAnchor, tenant_key(tenant_id))
    return anchor.last_hash if anchor else ""


_SECRET_KEY_RE = re.compile(r"pass(word)?|token|secret|api[_-]?key|authorization|credential|aes|cookie", re.I)
REDACTED = "[redacted]"


def sanitize(details: Any) -> Any:
    """Drop secrets from audit details, recursively, by key name."""
    if isinstance(details, dict):
        return {k: (REDACTED if _SECRET_KEY_RE.search(str(k)) else sanitize(v)) for k, v in details.items()}
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
    return row[0] if row else anchor_hash(tenant_id)


def record(
    actor: AuditActor,
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


def _entry(
    actor: AuditActor,
    action: str,
    tid: uuid.UUID | None,
    target_type: str | None,
    target_id: Any,
    details: dict[str, Any] | None,
) -> AuditLog:
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
