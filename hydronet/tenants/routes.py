"""/api/tenant: the caller's organisation, its users and usage."""
from __future__ import annotations

from flask import Blueprint

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.auth.serialize import api_key_dict, tenant_dict, user_dict
from hydronet.kernel.responses import ok
from hydronet.kernel.validation import Fields, json_body
from hydronet.models import ROLES
from hydronet.tenants import apikeys, audit_params
from hydronet.tenants import members as tenant_service
from hydronet.tenants import usage as usage_service
from hydronet.tenants.plans import effective_quotas

bp = Blueprint("tenant", __name__, url_prefix="/api/tenant")


@bp.get("/info")
@require("tenant:read")
def info():
    """The caller's tenant with its plan, quotas and the caller's role."""
    p = current_principal()
    return ok(tenant=tenant_dict(p.tenant), quotas=effective_quotas(p.tenant), role=p.user.role,
              user=user_dict(p.user))


@bp.patch("")
@bp.patch("/info")
@require("tenant:update")
def update():
    """Rename the tenant or change its settings."""
    f = Fields(json_body())
    name = f.str("name", required=False, max_len=120)
    settings = f.dict("settings")
    f.done()
    tenant = tenant_service.update_tenant(current_actor(), current_principal().tenant, name, settings)
    return ok(tenant=tenant_dict(tenant))


@bp.get("/usage")
@require("usage:read")
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
def list_users():
    """The tenant's users."""
    return ok(users=[user_dict(u) for u in tenant_service.list_users()])


@bp.post("/users")
@require("users:manage")
def create_user():
    """Add a user with an initial password, or get a one-time invitation link."""
    f = Fields(json_body())
    email = f.email()
    name = f.str("name", required=False, max_len=120, default="")
    role = f.str("role", required=False, max_len=20, default="member", choices=ROLES)
    password = f.data.get("password")
    if password is not None and not isinstance(password, str):
        f.error("password", "must be a string")
    f.done()
    user, invite = tenant_service.create_user(current_actor(), email, name or "", role or "member", password)
    body = {"user": user_dict(user)}
    if invite:
        body["invitation"] = {"token": invite, "accept_url": f"/accept-invite?token={invite}", "expires_in_days": 7}
    return ok(201, **body)


@bp.get("/users/<user_id>")
@require("users:read")
def get_user(user_id: str):
    """One user of the tenant."""
    return ok(user=user_dict(tenant_service.get_user(user_id)))


@bp.patch("/users/<user_id>")
@require("users:manage")
def update_user(user_id: str):
    """Change a user's role or deactivate them (``{"role": …}`` / ``{"is_active": false}``)."""
    f = Fields(json_body())
    role = f.str("role", required=False, max_len=20, choices=ROLES)
    active = f.bool("is_active")
    f.done()
    user = tenant_service.get_user(user_id)
    actor = current_actor()
    if role is not None:
        user = tenant_service.change_role(actor, user, role)
    if active is False:
        user = tenant_service.deactivate_user(actor, user)
    return ok(user=user_dict(user))


@bp.delete("/users/<user_id>")
@require("users:manage")
def deactivate_user(user_id: str):
    """Deactivate a user (kept for the audit trail, cannot sign in)."""
    user = tenant_service.deactivate_user(current_actor(), tenant_service.get_user(user_id))
    return ok(user=user_dict(user))


@bp.get("/audit-logs")
@require("audit:read")
def audit_logs():
    """The tenant's audit log (filters: user_id, action, since, until; format=csv)."""
    return audit_params.respond(audit_params.parse_filter(current_principal().tenant.id, all_tenants=False))


@bp.get("/api-keys")
@require("apikeys:manage", allow_api_key=False)
def list_api_keys():
    """The tenant's API keys (never the secret)."""
    return ok(api_keys=[api_key_dict(k) for k in apikeys.list_keys()])


@bp.post("/api-keys")
@require("apikeys:manage", allow_api_key=False)
def create_api_key():
    """Create an API key; the key itself is shown once in this answer."""
    f = Fields(json_body())
    name = f.str("name", max_len=120)
    scopes = f.list_of_str("scopes", default=None, max_items=10)
    if scopes is None:
        f.error("scopes", "is required")
    expires_at = f.datetime("expires_at")
    f.done()
    key, raw = apikeys.create(current_actor(), name, scopes, expires_at)
    return ok(201, api_key=api_key_dict(key), key=raw)


@bp.delete("/api-keys/<key_id>")
@require("apikeys:manage", allow_api_key=False)
def revoke_api_key(key_id: str):
    """Revoke an API key at once."""
    return ok(api_key=api_key_dict(apikeys.revoke(current_actor(), apikeys.get(key_id))))
