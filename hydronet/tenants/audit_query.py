"""Reading the audit log: filters, keyset pagination by id, CSV export."""
from __future__ import annotations

import csv
import io
import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db
from hydronet.kernel.errors import ValidationError
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.tenants.audit_archive import entry_dict

CSV_COLUMNS = ("id", "created_at", "tenant_id", "actor_id", "actor_email", "action", "target_type", "target_id",
               "ip", "user_agent", "request_id", "details")


@dataclass
class AuditFilter:
    """What to read: one tenant (or all), a user, an action (prefix with '*'), a time range."""

    tenant_id: uuid.UUID | None = None
    all_tenants: bool = False
    user_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def parse_cursor(raw: str | None) -> int | None:
    """Audit cursors are the last id seen."""
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({"cursor": "is not a valid cursor"}) from None
    if not 0 <= value < 2**63:
        raise ValidationError({"cursor": "is not a valid cursor"})
    return value


def _statement(f: AuditFilter):
    stmt = select(AuditLog)
    if not f.all_tenants:
        stmt = stmt.where(AuditLog.tenant_id == f.tenant_id)
    elif f.tenant_id is not None:
        stmt = stmt.where(AuditLog.tenant_id == f.tenant_id)
    if f.user_id is not None:
        stmt = stmt.where(AuditLog.actor_id == f.user_id)
    if f.action:
        if f.action.endswith("*"):
            stmt = stmt.where(AuditLog.action.startswith(f.action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditLog.action == f.action)
    if f.since is not None:
        stmt = stmt.where(AuditLog.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditLog.created_at < f.until)
    return stmt


def _scope(f: AuditFilter):
    """The platform admin reads across tenants through the explicit escape; tenants do not."""
    return all_tenants(db.session) if f.all_tenants else nullcontext()


def _streamed_scope(f: AuditFilter):
    """The scope of an export that runs after the view returned.

    By then the request's session has been removed with its tenant binding (a streamed body is
    produced after teardown), so the generator binds its own session again: without it the ORM
    filter is gone and, on PostgreSQL, Row-Level Security shows no rows at all.
    """
    if not f.all_tenants:
        bind_tenant(db.session, f.tenant_id)
    return _scope(f)


def page(f: AuditFilter, limit: int, cursor: int | None) -> tuple[list[AuditLog], str | None]:
    """Entries newest first, after the cursor."""
    stmt = _statement(f)
    if cursor is not None:
        stmt = stmt.where(AuditLog.id < cursor)
    with _scope(f):
        rows = db.session.execute(stmt.order_by(AuditLog.id.desc()).limit(limit + 1)).scalars().all()
    items = list(rows[:limit])
    next_cursor = str(items[-1].id) if len(rows) > limit and items else None
    return items, next_cursor


def iter_all(f: AuditFilter, max_rows: int = 100_000) -> Iterable[AuditLog]:
    """Every matching entry, newest first (for exports)."""
    stmt = _statement(f).order_by(AuditLog.id.desc()).limit(max_rows)
    with _streamed_scope(f):
        yield from db.session.execute(stmt.execution_options(yield_per=1000)).scalars()


def to_csv(entries: Iterable[AuditLog]) -> Iterable[str]:
    """CSV lines (header first), streamed."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for e in entries:
        buf.seek(0)
        buf.truncate()
        d = entry_dict(e)
        writer.writerow([_cell(d[c]) if c != "details" else json.dumps(d[c], ensure_ascii=False) for c in CSV_COLUMNS])
        yield buf.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Defuse spreadsheet formula injection in exported cells.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def as_dict(e: AuditLog) -> dict[str, Any]:
    """An entry as JSON."""
    d = entry_dict(e)
    d["tenant_id"] = str(d["tenant_id"]) if d["tenant_id"] else None
    d["actor_id"] = str(d["actor_id"]) if d["actor_id"] else None
    return d
