"""Reading the audit log: filters, keyset pagination by id, CSV export."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db
from hydronet.kernel.errors import ValidationError
from hydronet.kernel.jsonio import iso
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import ApiKey, McpServer, Network, Tenant, User
from hydronet.tenants.audit_archive import entry_dict

CSV_COLUMNS = (
    "id",
    "created_at",
    "tenant_id",
    "actor_id",
    "actor_email",
    "action",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "request_id",
    "details",
)


@dataclass
class AuditFilter:
    """What to read: one tenant (or all), a user, an action (prefix with '*'), a time range."""

    tenant_id: uuid.UUID | None = None
    all_tenants: bool = False
    user_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    exclude_actions: tuple[str, ...] = ()


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
    if f.exclude_actions:
        stmt = stmt.where(AuditLog.action.not_in(f.exclude_actions))
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


# target_type → (model, the column that names it for a reader)
_NAMED_TARGETS = {
    "user": (User, User.email),
    "network": (Network, Network.name),
    "tenant": (Tenant, Tenant.name),
    "api_key": (ApiKey, ApiKey.name),
    "mcp_server": (McpServer, McpServer.name),
}


def target_names(entries: list[AuditLog], f: AuditFilter) -> dict[tuple[str, str], str]:
    """(target_type, target_id) → a readable name (email, network name …), one query per target type.

    Deleted targets keep the name the entry recorded in its details (name or email), if any.
    """
    wanted: dict[str, set[uuid.UUID]] = {}
    for e in entries:
        if e.target_type in _NAMED_TARGETS and e.target_id:
            try:
                wanted.setdefault(e.target_type, set()).add(uuid.UUID(str(e.target_id)))
            except ValueError:
                continue
    names: dict[tuple[str, str], str] = {}
    with _scope(f):
        for kind, ids in wanted.items():
            model, column = _NAMED_TARGETS[kind]
            for row_id, name in db.session.execute(select(model.id, column).where(model.id.in_(ids))).all():
                names[(kind, str(row_id))] = name
    for e in entries:
        key = (e.target_type or "", str(e.target_id or ""))
        details = e.details if isinstance(e.details, dict) else {}
        if key not in names and (details.get("name") or details.get("email")):
            names[key] = str(details.get("name") or details.get("email"))
    return names


def as_dict(e: AuditLog, names: dict[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """An entry as JSON (created_at with its UTC offset; target_name when the target has one)."""
    d = entry_dict(e)
    d["created_at"] = iso(e.created_at)
    d["tenant_id"] = str(d["tenant_id"]) if d["tenant_id"] else None
    d["actor_id"] = str(d["actor_id"]) if d["actor_id"] else None
    d["target_name"] = (names or {}).get((e.target_type or "", str(e.target_id or "")))
    return d
