"""Verifying audit chains and archiving old entries without breaking them."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from hydronet.kernel.audit import AuditAnchor, AuditLog, anchor_hash, entry_hash, tenant_key
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.jsonio import iso
from hydronet.kernel.tenancy import all_tenants


def _chain_query(tenant_id: uuid.UUID | None):
    cond = AuditLog.tenant_id.is_(None) if tenant_id is None else AuditLog.tenant_id == tenant_id
    return select(AuditLog).where(cond).order_by(AuditLog.id)


def verify_chain(tenant_id: uuid.UUID | None) -> dict[str, Any]:
    """Walk a tenant's chain; report the first entry whose hash or link is wrong."""
    with all_tenants(db.session):  # platform-admin check of any tenant's chain
        return _verify(tenant_id)


def _verify(tenant_id: uuid.UUID | None) -> dict[str, Any]:
    expected_prev = anchor_hash(tenant_id)
    checked = 0
    for entry in db.session.execute(_chain_query(tenant_id).execution_options(yield_per=500)).scalars():
        problem = None
        if entry.prev_hash != expected_prev:
            problem = "prev_hash does not match the previous entry (an entry was removed or reordered)"
        elif entry_hash(entry) != entry.hash:
            problem = "content does not match its hash (the entry was modified)"
        if problem:
            return {
                "valid": False,
                "checked": checked,
                "first_broken": {
                    "id": entry.id,
                    "action": entry.action,
                    "created_at": iso(entry.created_at),
                    "reason": problem,
                },
            }
        expected_prev = entry.hash
        checked += 1
    return {"valid": True, "checked": checked, "first_broken": None}


def archive_before(cutoff: datetime, directory: Path) -> dict[str, Any]:
    """Move entries older than ``cutoff`` to gzipped JSON-lines files, keeping anchors."""
    with all_tenants(db.session):  # an operator command over every tenant's chain
        return _archive(cutoff, directory)


def _archive(cutoff: datetime, directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    tenants = (
        db.session.execute(select(AuditLog.tenant_id).where(AuditLog.created_at < cutoff).distinct()).scalars().all()
    )
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    total = 0
    files: list[str] = []
    for tid in tenants:
        rows = db.session.execute(_chain_query(tid).where(AuditLog.created_at < cutoff)).scalars().all()
        if not rows:
            continue
        path = directory / f"audit-{tenant_key(tid)}-{stamp}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            for e in rows:
                fh.write(json.dumps(entry_dict(e), ensure_ascii=False, default=str) + "\n")
        anchor = db.session.get(AuditAnchor, tenant_key(tid)) or AuditAnchor(
            tenant_key=tenant_key(tid), archived_count=0
        )
        anchor.last_archived_id = rows[-1].id
        anchor.last_hash = rows[-1].hash
        anchor.archived_count = (anchor.archived_count or 0) + len(rows)
        anchor.updated_at = utcnow()
        db.session.add(anchor)
        db.session.execute(delete(AuditLog).where(AuditLog.id.in_([e.id for e in rows])))
        total += len(rows)
        files.append(str(path))
    db.session.commit()
    return {"archived": total, "files": files}


def entry_dict(e: AuditLog) -> dict[str, Any]:
    return {
        "id": e.id,
        "tenant_id": e.tenant_id,
        "actor_id": e.actor_id,
        "actor_email": e.actor_email,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "ip": e.ip,
        "user_agent": e.user_agent,
        "request_id": e.request_id,
        "details": e.details,
        "created_at": e.created_at.isoformat(),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }
