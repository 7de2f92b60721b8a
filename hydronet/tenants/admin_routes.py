"""/api/admin: the platform operator's API (platform admins only, every call audited)."""
from __future__ import annotations

import functools
from typing import Any, Callable

from flask import Blueprint, current_app, request

from hydronet.auth.principal import current_actor, require
from hydronet.auth.serialize import tenant_dict, user_dict
from hydronet.kernel import audit
from hydronet.kernel.db import db
from hydronet.kernel.health import check_dependencies
from hydronet.kernel.jobs import queue_depth
from hydronet.kernel.responses import ok
from hydronet.kernel.tenancy import all_tenants
from hydronet.kernel.validation import Fields, json_body, query_int
from hydronet.tenants import admin as admin_service
from hydronet.tenants import audit_archive, audit_params
from hydronet.tenants import usage as usage_service
from hydronet.tenants.plans import effective_quotas

bp = Blueprint("admin", __name__, url_prefix="/api/admin")


def platform_admin(view: Callable[..., Any]) -> Callable[..., Any]:
    """Platform admins only; reads are audited here, changes by their services."""

    @require("platform:admin", allow_api_key=False)
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        resp = view(*args, **kwargs)
        if request.method == "GET":
            audit.record(current_actor(), "admin.read", target_type="endpoint", target_id=request.endpoint,
                         details={"path": request.path, "query": request.args.to_dict()})
            db.session.commit()
        return resp

    wrapper.required_permission = "platform:admin"  # type: ignore[attr-defined]
    return wrapper


@bp.get("/tenants")
@platform_admin
def list_tenants():
    """Tenants with search (?q), ?status, paging (?limit, ?offset) and a usage summary."""
    rows, total = admin_service.list_tenants(
        (request.args.get("q") or "").strip()[:100] or None, request.args.get("status") or None,
        query_int("limit", 50, 1, 200), query_int("offset", 0, 0, 1_000_000))
    return ok(total=total, tenants=[{**tenant_dict(r["tenant"]), "users": r["users"],
                                     "usage_this_month": r["usage_this_month"]} for r in rows])


@bp.post("/tenants")
@platform_admin
def create_tenant():
    """Create a tenant."""
    f = Fields(json_body())
    name = f.str("name", max_len=120)
    plan = f.str("plan", required=False, max_len=20, default="free")
    slug = f.str("slug", required=False, max_len=80)
    f.done()
    return ok(201, tenant=tenant_dict(admin_service.create_tenant(current_actor(), name, plan or "free", slug)))


@bp.get("/tenants/<tenant_id>")
@platform_admin
def get_tenant(tenant_id: str):
    """One tenant with its effective quotas."""
    tenant = admin_service.get_tenant(tenant_id)
    return ok(tenant=tenant_dict(tenant), quotas=effective_quotas(tenant))


@bp.patch("/tenants/<tenant_id>")
@platform_admin
def update_tenant(tenant_id: str):
    """Change plan, quota overrides, status (suspending needs a reason) or name."""
    f = Fields(json_body())
    plan = f.str("plan", required=False, max_len=20)
    quotas_in = f.dict("quotas")
    status = f.str("status", required=False, max_len=20)
    reason = f.str("reason", required=False, max_len=500)
    name = f.str("name", required=False, max_len=120)
    f.done()
    tenant = admin_service.update_tenant(current_actor(), admin_service.get_tenant(tenant_id), plan=plan,
                                         quotas_in=quotas_in, status=status, reason=reason, name=name)
    return ok(tenant=tenant_dict(tenant), quotas=effective_quotas(tenant))


@bp.get("/tenants/<tenant_id>/usage")
@platform_admin
def tenant_usage(tenant_id: str):
    """The same usage report a tenant sees."""
    tenant = admin_service.get_tenant(tenant_id)
    with all_tenants(db.session):
        return ok(tenant=tenant_dict(tenant), usage=usage_service.report(tenant))


@bp.get("/users")
@platform_admin
def list_users():
    """Users across tenants: ?q (email/name), ?tenant_id, ?limit, ?offset."""
    users, total = admin_service.search_users((request.args.get("q") or "").strip()[:100] or None,
                                              request.args.get("tenant_id") or None,
                                              query_int("limit", 50, 1, 200), query_int("offset", 0, 0, 1_000_000))
    return ok(total=total, users=[user_dict(u) for u in users])


@bp.patch("/users/<user_id>")
@platform_admin
def update_user(user_id: str):
    """Deactivate or reactivate a user (``{"is_active": false}``)."""
    f = Fields(json_body())
    active = f.bool("is_active")
    if active is None:
        f.error("is_active", "is required")
    f.done()
    return ok(user=user_dict(admin_service.set_user_active(current_actor(), admin_service.get_user(user_id), active)))


@bp.post("/users/<user_id>/reset-password")
@platform_admin
def reset_password(user_id: str):
    """Force a password reset: sessions end, a one-time reset token is returned."""
    token = admin_service.force_password_reset(current_actor(), admin_service.get_user(user_id))
    return ok(reset_token=token, reset_url=f"/reset-password?token={token}", expires_in_hours=24)


@bp.get("/stats")
@platform_admin
def stats():
    """Platform totals and today's activity."""
    return ok(stats=admin_service.stats())


@bp.get("/health")
@platform_admin
def health():
    """Dependencies, versions and the job queue."""
    deps = check_dependencies()
    return ok(dependencies=deps, version=current_app.config["VERSION"],
              assistant="qwen" if current_app.config["ALIYUN_API_KEY"] else "offline",
              store=current_app.extensions["hydronet_store"].kind,
              database=db.engine.dialect.name, job_queue_depth=queue_depth(current_app))


@bp.get("/audit-logs")
@platform_admin
def audit_logs():
    """The audit log across tenants (filters: tenant_id, user_id, action, since, until; format=csv)."""
    return audit_params.respond(audit_params.parse_filter(None, all_tenants=True))


@bp.get("/audit-logs/verify")
@platform_admin
def verify_audit():
    """Verify a tenant's hash chain (?tenant_id; none = the platform chain)."""
    raw = request.args.get("tenant_id")
    tenant_id = admin_service.get_tenant(raw).id if raw else None
    return ok(tenant_id=str(tenant_id) if tenant_id else None, **audit_archive.verify_chain(tenant_id))


