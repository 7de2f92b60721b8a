"""Registry of the platform-admin endpoints (/api/admin)."""
from __future__ import annotations

from hydronet.models import PLANS, TENANT_STATUSES
from hydronet.tenants.plans import QUOTA_NAMES
from hydronet.web.openapi.endpoints import AUDIT_CSV, AUDIT_PAGE, AUDIT_QUERY, ONE_USER
from hydronet.web.openapi.ops import Op, bounded_int, q
from hydronet.web.openapi.schemas import BOOL, INT, NUM, OBJ, STR, array, envelope, nullable, obj, ref, string

PAGING = (q("limit", bounded_int(1, 200, 50), "page size"), q("offset", bounded_int(0, 1_000_000, 0), "rows to skip"))
TENANT_ROW = {"allOf": [ref("Tenant"), obj({"users": INT, "usage_this_month": OBJ}, "all")]}
TENANT_AND_QUOTAS = envelope({"tenant": ref("Tenant"), "quotas": ref("Quotas")})
QUOTA_OVERRIDES = obj(
    {**{name: nullable(INT) for name in QUOTA_NAMES}, "models": nullable(array(STR))},
    additional=False,
    description="Per-tenant overrides of plan quotas: an integer ≥ 0, -1 for unlimited, null to remove",
)

ADMIN: dict[str, Op] = {
    "admin.list_tenants": Op(
        ok={200: envelope({"total": INT, "tenants": array(TENANT_ROW)})},
        query=(q("q", string(100), "search in names and slugs"),
               q("status", {"type": "string", "enum": list(TENANT_STATUSES)}), *PAGING),
    ),
    "admin.create_tenant": Op(
        ok={201: envelope({"tenant": ref("Tenant")})},
        body=obj({"name": string(120, min_len=1), "plan": {"type": "string", "enum": list(PLANS)},
                  "slug": string(80)}, ["name"]),
    ),
    "admin.get_tenant": Op(ok={200: TENANT_AND_QUOTAS}),
    "admin.update_tenant": Op(
        ok={200: TENANT_AND_QUOTAS},
        body=obj({"plan": {"type": "string", "enum": list(PLANS)}, "quotas": QUOTA_OVERRIDES,
                  "status": {"type": "string", "enum": list(TENANT_STATUSES)},
                  "reason": string(500, description="required to suspend or cancel"), "name": string(120)}),
    ),
    "admin.tenant_usage": Op(ok={200: envelope({"tenant": ref("Tenant"), "usage": ref("UsageReport")})}),
    "admin.list_users": Op(
        ok={200: envelope({"total": INT, "users": array(ref("User"))})},
        query=(q("q", string(100), "search in emails and names"),
               q("tenant_id", STR, "only this tenant's users (an unknown or malformed id answers 404)"), *PAGING),
        errors=(404,),
    ),
    "admin.update_user": Op(ok={200: ONE_USER}, body=obj({"is_active": BOOL}, "all")),
    "admin.reset_password": Op(
        ok={200: envelope({"reset_token": STR, "reset_url": STR, "expires_in_hours": INT})},
        errors=(409,),  # a WeChat follower's account has no password
    ),
    "admin.stats": Op(ok={200: envelope({"stats": obj({
        "tenants": obj({"total": INT}, ["total"], additionalProperties=INT), "users": INT, "messages_today": INT,
        "tokens_today": INT, "model_calls_24h": INT, "model_error_rate_24h": NUM}, "all")})}),
    "admin.health": Op(ok={200: envelope({
        "dependencies": {"type": "object", "additionalProperties": STR}, "version": STR, "assistant": STR,
        "store": STR, "database": STR, "job_queue_depth": nullable(INT)})}),
    "admin.audit_logs": Op(
        ok={200: AUDIT_PAGE},
        query=(q("tenant_id", {"type": "string", "format": "uuid"}, "only this tenant's entries"), *AUDIT_QUERY),
        also=AUDIT_CSV,
    ),
    "admin.verify_audit": Op(
        ok={200: envelope({"tenant_id": nullable(STR), "valid": BOOL, "checked": INT,
                           "first_broken": nullable(obj({"id": INT, "action": STR, "created_at": STR,
                                                         "reason": STR}, "all"))})},
        query=(q("tenant_id", STR, "the tenant whose chain to verify (none: the platform chain)"),),
        errors=(404,),
    ),
}
