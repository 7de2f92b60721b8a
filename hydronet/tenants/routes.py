"""/api/tenant: the caller's organisation, its users and usage."""

from __future__ import annotations

from flask import Blueprint

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.auth.serialize import api_key_dict, tenant_dict, user_dict
from hydronet.kernel.contracts import contract
from hydronet.kernel.responses import ok
from hydronet.tenants import apikeys, audit_params
from hydronet.tenants import members as tenant_service
from hydronet.tenants import usage as usage_service
from hydronet.tenants.plans import effective_quotas
from hydronet.tenants.schemas import (
    AUDIT_CSV,
    ApiKeyCreated,
    ApiKeys,
    AuditPage,
    AuditQuery,
    CreateApiKeyBody,
    CreateUserBody,
    OneApiKey,
    OneUser,
    TenantAnswer,
    TenantInfo,
    TenantUpdateBody,
    TenantUsage,
    UpdateUserBody,
    UserCreated,
    Users,
)

bp = Blueprint("tenant", __name__, url_prefix="/api/tenant")


@bp.get("/info")
@require("tenant:read")
@contract(ok={200: TenantInfo})
def info():
    """The caller's tenant with its plan, quotas and the caller's role."""
    p = current_principal()
    return ok(tenant=tenant_dict(p.tenant), quotas=effective_quotas(p.tenant), role=p.user.role, user=user_dict(p.user))


@bp.patch("")
@bp.patch("/info")
@require("tenant:update")
@contract(body=TenantUpdateBody, ok={200: TenantAnswer})
def update(body: TenantUpdateBody):
    """Rename the tenant or change its settings."""
    tenant = tenant_service.update_tenant(current_actor(), current_principal().tenant, body.name, body.settings)
    return ok(tenant=tenant_dict(tenant))


@bp.get("/usage")
@require("usage:read")
@contract(ok={200: TenantUsage})
def usage():
    """Quotas with use and reset times, and the last 30 days of usage."""
    report = usage_service.report(current_principal().tenant)
    return ok(usage=report, **_legacy_usage_fields(report))


def _legacy_usage_fields(report: dict) -> dict:
    """Flat fields the guide's curl examples show next to the detailed report."""
    month = report["totals_this_month"]
    return {
        "plan": report["plan"],
        "conversations": report["quotas"]["conversations"]["used"],
        "messages_this_month": month["messages"],
        "tokens_this_month": month["tokens"],
    }


@bp.get("/users")
@require("users:read")
@contract(ok={200: Users})
def list_users():
    """The tenant's users."""
    return ok(users=[user_dict(u) for u in tenant_service.list_users()])


@bp.post("/users")
@require("users:manage")
@contract(body=CreateUserBody, ok={201: UserCreated}, errors=(409,))
def create_user(body: CreateUserBody):
    """Add a user with an initial password, or get a one-time invitation link."""
    user, invite = tenant_service.create_user(
        current_actor(), body.email, body.name or "", body.role or "member", body.password
    )
    body = {"user": user_dict(user)}
    if invite:
        body["invitation"] = {"token": invite, "accept_url": f"/accept-invite?token={invite}", "expires_in_days": 7}
    return ok(201, **body)


@bp.get("/users/<user_id>")
@require("users:read")
@contract(ok={200: OneUser})
def get_user(user_id: str):
    """One user of the tenant."""
    return ok(user=user_dict(tenant_service.get_user(user_id)))


@bp.patch("/users/<user_id>")
@require("users:manage")
@contract(body=UpdateUserBody, ok={200: OneUser}, errors=(409,))
def update_user(user_id: str, body: UpdateUserBody):
    """Change a user's role or deactivate them (``{"role": …}`` / ``{"is_active": false}``)."""
    role, active = body.role, body.is_active
    user = tenant_service.get_user(user_id)
    actor = current_actor()
    if role is not None:
        user = tenant_service.change_role(actor, user, role)
    if active is False:
        user = tenant_service.deactivate_user(actor, user)
    return ok(user=user_dict(user))


@bp.delete("/users/<user_id>")
@require("users:manage")
@contract(ok={200: OneUser}, errors=(409,))
def deactivate_user(user_id: str):
    """Deactivate a user (kept for the audit trail, cannot sign in)."""
    user = tenant_service.deactivate_user(current_actor(), tenant_service.get_user(user_id))
    return ok(user=user_dict(user))


@bp.get("/audit-logs")
@require("audit:read")
@contract(query=AuditQuery, ok={200: AuditPage}, also=AUDIT_CSV)
def audit_logs(query: AuditQuery):
    """The tenant's audit log (filters: user_id, action, since, until; format=csv)."""
    flt = audit_params.parse_filter(query, current_principal().tenant.id, all_tenants=False)
    return audit_params.respond(query, flt)


@bp.get("/api-keys")
@require("apikeys:manage", allow_api_key=False)
@contract(ok={200: ApiKeys})
def list_api_keys():
    """The tenant's API keys (never the secret)."""
    return ok(api_keys=[api_key_dict(k) for k in apikeys.list_keys()])


@bp.post("/api-keys")
@require("apikeys:manage", allow_api_key=False)
@contract(body=CreateApiKeyBody, ok={201: ApiKeyCreated})
def create_api_key(body: CreateApiKeyBody):
    """Create an API key; the key itself is shown once in this answer."""
    key, raw = apikeys.create(current_actor(), body.name, list(body.scopes), body.expires_at)
    return ok(201, api_key=api_key_dict(key), key=raw)


@bp.delete("/api-keys/<key_id>")
@require("apikeys:manage", allow_api_key=False)
@contract(ok={200: OneApiKey})
def revoke_api_key(key_id: str):
    """Revoke an API key at once."""
    return ok(api_key=api_key_dict(apikeys.revoke(current_actor(), apikeys.get(key_id))))
