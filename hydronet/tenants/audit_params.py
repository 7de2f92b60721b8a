"""Parsing audit-log query parameters shared by the tenant and admin endpoints."""
from __future__ import annotations

import uuid

from flask import Response, request, stream_with_context

from hydronet.kernel.errors import ValidationError
from hydronet.kernel.responses import ok
from hydronet.kernel.validation import Fields, query_int
from hydronet.tenants import audit_query

MAX_EXCLUDED = 10


def _uuid_arg(name: str) -> uuid.UUID | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationError({name: "must be a UUID"}) from None


def parse_filter(tenant_id: uuid.UUID | None, all_tenants: bool) -> audit_query.AuditFilter:
    """Filters from ?user_id, ?action, ?exclude_action (comma-separated), ?since, ?until (and ?tenant_id for admins)."""
    f = Fields(dict(request.args))
    since = f.datetime("since")
    until = f.datetime("until")
    f.done()
    action = (request.args.get("action") or "").strip()[:80] or None
    excluded = tuple(a.strip()[:80] for a in (request.args.get("exclude_action") or "").split(",") if a.strip())
    if len(excluded) > MAX_EXCLUDED:
        raise ValidationError({"exclude_action": f"at most {MAX_EXCLUDED} actions"})
    return audit_query.AuditFilter(
        tenant_id=_uuid_arg("tenant_id") if all_tenants else tenant_id,
        all_tenants=all_tenants, user_id=_uuid_arg("user_id"), action=action, since=since, until=until,
        exclude_actions=excluded,
    )


def respond(flt: audit_query.AuditFilter):
    """JSON page, or the whole filtered log as CSV with ?format=csv."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ValidationError({"format": "must be json or csv"})
    if fmt == "csv":
        headers = {"Content-Disposition": "attachment; filename=audit-log.csv"}
        rows = stream_with_context(audit_query.to_csv(audit_query.iter_all(flt)))
        return Response(rows, mimetype="text/csv", headers=headers)
    limit = query_int("limit", 50, 1, 200)
    rows, cursor = audit_query.page(flt, limit, audit_query.parse_cursor(request.args.get("cursor")))
    names = audit_query.target_names(rows, flt)
    return ok(logs=[audit_query.as_dict(e, names) for e in rows], next_cursor=cursor)
