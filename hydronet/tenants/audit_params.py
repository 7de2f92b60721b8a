"""Audit-log filters and answers shared by the tenant and admin endpoints."""

from __future__ import annotations

import uuid

from flask import Response, stream_with_context

from hydronet.kernel.responses import ok
from hydronet.tenants import audit_query
from hydronet.tenants.schemas import AdminAuditQuery, AuditQuery


def parse_filter(query: AuditQuery, tenant_id: uuid.UUID | None, all_tenants: bool) -> audit_query.AuditFilter:
    """The filter of the parsed query string (a platform admin's ``tenant_id`` when ``all_tenants``)."""
    if all_tenants:
        tenant_id = query.tenant_id if isinstance(query, AdminAuditQuery) else None
    return audit_query.AuditFilter(
        tenant_id=tenant_id,
        all_tenants=all_tenants,
        user_id=query.user_id,
        action=query.action,
        since=query.since,
        until=query.until,
        exclude_actions=query.exclude_action,
    )


def respond(query: AuditQuery, flt: audit_query.AuditFilter):
    """JSON page, or the whole filtered log as CSV with ?format=csv."""
    if query.format == "csv":
        headers = {"Content-Disposition": "attachment; filename=audit-log.csv"}
        rows = stream_with_context(audit_query.to_csv(audit_query.iter_all(flt)))
        return Response(rows, mimetype="text/csv", headers=headers)
    rows, cursor = audit_query.page(flt, query.limit, audit_query.parse_cursor(query.cursor))
    names = audit_query.target_names(rows, flt)
    return ok(logs=[audit_query.as_dict(e, names) for e in rows], next_cursor=cursor)
