"""/api/admin: the platform operator's API (platform admins only, every call audited)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, request

from hydronet.auth.principal import current_actor, require
from hydronet.auth.serialize import tenant_dict, user_dict
from hydronet.kernel import audit
from hydronet.kernel.contracts import contract
from hydronet.kernel.db import db
from hydronet.kernel.health import check_dependencies
from hydronet.kernel.jobs import queue_depth
from hydronet.kernel.responses import ok
from hydronet.kernel.tenancy import all_tenants
from hydronet.tenants import admin as admin_service
from hydronet.tenants import audit_archive, audit_params
from hydronet.tenants import usage as usage_service
from hydronet.tenants.plans import effective_quotas
from hydronet.tenants.schemas import (
    AUDIT_CSV,
    ActiveBody,
    AdminAuditQuery,
    AdminTenantBody,
    AuditPage,
    ChainCheck,
    ChainQuery,
    CreateTenantBody,
    OneUser,
    PasswordReset,
    PlatformHealth,
    Stats,
    TenantAndQuotas,
    TenantAnswer,
    TenantList,
    TenantSearch,
    TenantUsageReport,
    UserList,
    UserSearch,
)

bp = Blueprint("admin", __name__, url_prefix="/api/admin")


def platform_admin(view: Callable[..., Any]) -> Callable[..., Any]:
    """Platform admins only; reads are audited here, changes by their services."""

    @require("platform:admin", allow_api_key=False)
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        resp = view(*args, **kwargs)
        if request.method == "GET":
            audit.record(
                current_actor(),
                "admin.read",
                target_type="endpoint",
                target_id=request.endpoint,
                details={"path": request.path, "query": request.args.to_dict()},
            )
            db.session.commit()
        return resp

    wrapper.required_permission = "platform:admin"  # type: ignore[attr-defined]
    return wrapper


@bp.get("/tenants")
@platform_admin
@contract(query=TenantSearch, ok={200: TenantList})
def list_tenants(query: TenantSearch):
    """Tenants with search (?q), ?status, paging (?limit, ?offset) and a usage summary."""
    rows, total = admin_service.list_tenants(query.q, query.status or None, query.limit, query.offset)
    return ok(
        total=total,
        tenants=[
            {**tenant_dict(r["tenant"]), "users": r["users"], "usage_this_month": r["usage_this_month"]} for r in rows
        ],
    )


@bp.post("/tenants")
@platform_admin
@contract(body=CreateTenantBody, ok={201: TenantAnswer})
def create_tenant(body: CreateTenantBody):
    """Create a tenant."""
    tenant = admin_service.create_tenant(current_actor(), body.name, body.plan or "free", body.slug)
    return ok(201, tenant=tenant_dict(tenant))


@bp.get("/tenants/<tenant_id>")
@platform_admin
@contract(ok={200: TenantAndQuotas})
def get_tenant(tenant_id: str):
    """One tenant with its effective quotas."""
    tenant = admin_service.get_tenant(tenant_id)
    return ok(tenant=tenant_dict(tenant), quotas=effective_quotas(tenant))


@bp.patch("/tenants/<tenant_id>")
@platform_admin
@contract(body=AdminTenantBody, ok={200: TenantAndQuotas})
def update_tenant(tenant_id: str, body: AdminTenantBody):
    """Change plan, quota overrides, status (suspending needs a reason) or name."""
    tenant = admin_service.update_tenant(
        current_actor(),
        admin_service.get_tenant(tenant_id),
        plan=body.plan,
        quotas_in=body.quotas,
        status=body.status,
        reason=body.reason,
        name=body.name,
    )
    return ok(tenant=tenant_dict(tenant), quotas=effective_quotas(tenant))


@bp.get("/tenants/<tenant_id>/usage")
@platform_admin
@contract(ok={200: TenantUsageReport})
def tenant_usage(tenant_id: str):
    """The same usage report a tenant sees."""
    tenant = admin_service.get_tenant(tenant_id)
    with all_tenants(db.session):
        return ok(tenant=tenant_dict(tenant), usage=usage_service.report(tenant))


@bp.get("/users")
@platform_admin
@contract(query=UserSearch, ok={200: UserList}, errors=(404,))
def list_users(query: UserSearch):
    """Users across tenants: ?q (email/name), ?tenant_id, ?limit, ?offset."""
    users, total = admin_service.search_users(query.q, query.tenant_id or None, query.limit, query.offset)
    return ok(total=total, users=[user_dict(u) for u in users])


@bp.patch("/users/<user_id>")
@platform_admin
@contract(body=ActiveBody, ok={200: OneUser})
def update_user(user_id: str, body: ActiveBody):
    """Deactivate or reactivate a user (``{"is_active": false}``)."""
    user = admin_service.get_user(user_id)
    return ok(user=user_dict(admin_service.set_user_active(current_actor(), user, body.is_active)))


@bp.post("/users/<user_id>/reset-password")
@platform_admin
@contract(ok={200: PasswordReset}, errors=(409,))  # 409: a WeChat follower's account has no password
def reset_password(user_id: str):
    """Force a password reset: sessions end, a one-time reset token is returned."""
    token = admin_service.force_password_reset(current_actor(), admin_service.get_user(user_id))
    return ok(reset_token=token, reset_url=f"/reset-password?token={token}", expires_in_hours=24)


@bp.get("/stats")
@platform_admin
@contract(ok={200: Stats})
def stats():
    """Platform totals and today's activity."""
    return ok(stats=admin_service.stats())


@bp.get("/health")
@platform_admin
@contract(ok={200: PlatformHealth})
def health():
    """Dependencies, versions and the job queue."""
    deps = check_dependencies()
    return ok(
        dependencies=deps,
        version=current_app.config["VERSION"],
        assistant="qwen" if current_app.config["ALIYUN_API_KEY"] else "offline",
        store=current_app.extensions["hydronet_store"].kind,
        database=db.engine.dialect.name,
        job_queue_depth=queue_depth(current_app),
    )


@bp.get("/audit-logs")
@platform_admin
@contract(query=AdminAuditQuery, ok={200: AuditPage}, also=AUDIT_CSV)
def audit_logs(query: AdminAuditQuery):
    """The audit log across tenants (filters: tenant_id, user_id, action, since, until; format=csv)."""
    return audit_params.respond(query, audit_params.parse_filter(query, None, all_tenants=True))


@bp.get("/audit-logs/verify")
@platform_admin
@contract(query=ChainQuery, ok={200: ChainCheck}, errors=(404,))
def verify_audit(query: ChainQuery):
    """Verify a tenant's hash chain (?tenant_id; none = the platform chain)."""
    tenant_id = admin_service.get_tenant(query.tenant_id).id if query.tenant_id else None
    return ok(tenant_id=str(tenant_id) if tenant_id else None, **audit_archive.verify_chain(tenant_id))
