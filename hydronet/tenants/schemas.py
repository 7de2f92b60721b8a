"""Contracts of /api/tenant and /api/admin: request bodies, query filters, quotas, usage and audit entries."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from hydronet.auth.permissions import SCOPES
from hydronet.auth.schemas import ApiKey, Tenant, User
from hydronet.kernel.contracts import (
    Answer,
    Body,
    Email,
    Id,
    Object,
    OneOf,
    Query,
    QueryInt,
    QueryText,
    QueryUuid,
    Resource,
    Text,
    Timestamp,
    When,
)
from hydronet.models import PLANS, ROLES, TENANT_STATUSES
from hydronet.tenants.members import TENANT_SETTING_KEYS
from hydronet.tenants.plans import QUOTA_NAMES

MAX_EXCLUDED = 10


# --- resources ---------------------------------------------------------------------------------------


class Quotas(Resource):
    """Effective quotas: plan defaults with overrides (-1 = unlimited)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float | None]
    models: list[str]


class QuotaUsage(Resource):
    limit: float | None
    unlimited: bool
    used: float | None
    remaining: float | None
    resets_at: When | None


class UsageDay(Resource):
    date: str
    messages: int
    offline_messages: int
    input_tokens: int
    output_tokens: int
    tokens: int
    tool_runs: int
    cost_cny: float


class UsageTotals(Resource):
    messages: int
    offline_messages: int
    input_tokens: int
    output_tokens: int
    tokens: int
    cost_cny: float


class UsageReport(Resource):
    plan: str
    models: list[str]
    quotas: dict[str, QuotaUsage]
    daily: list[UsageDay]
    totals_this_month: UsageTotals


class AuditEntry(Resource):
    id: int
    tenant_id: Id | None
    actor_id: Id | None
    actor_email: str | None
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: Object | None
    created_at: When
    prev_hash: str | None
    hash: str | None
    target_name: str | None = Field(description="the target's email or name, when it has one")


class Invitation(Resource):
    token: str
    accept_url: str
    expires_in_days: int


class TenantRow(Tenant):
    users: int
    usage_this_month: Object


class TenantCounts(Resource):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, int]
    total: int


class PlatformStats(Resource):
    tenants: TenantCounts
    users: int
    messages_today: int
    tokens_today: int
    model_calls_24h: int
    model_error_rate_24h: float


class BrokenLink(Resource):
    id: int
    action: str
    created_at: str
    reason: str


# --- request bodies ----------------------------------------------------------------------------------

Role = Annotated[str, OneOf(ROLES)]
Plan = Annotated[str, Text(20, enum=list(PLANS))]  # admin.update_tenant names an unknown plan
Status = Annotated[str, Text(20, enum=list(TENANT_STATUSES))]
SETTINGS_DOC = {
    "type": "object",
    "properties": {key: {"type": "string"} for key in TENANT_SETTING_KEYS},
    "description": "allowed keys: " + ", ".join(TENANT_SETTING_KEYS),
}
QUOTAS_DOC = {
    "type": "object",
    "additionalProperties": False,  # the admin service names unknown quotas
    "properties": {
        **{name: {"type": ["integer", "null"]} for name in QUOTA_NAMES},
        "models": {"type": ["array", "null"], "items": {"type": "string"}},
    },
    "description": "Per-tenant overrides of plan quotas: an integer ≥ 0, -1 for unlimited, null to remove",
}


class TenantUpdateBody(Body):
    name: Annotated[str, Text(120)] | None = None
    settings: Annotated[Object, WithJsonSchema(SETTINGS_DOC)] | None = None  # keys checked by members


class CreateUserBody(Body):
    email: Email
    name: Annotated[str, Text(120)] | None = None
    role: Role | None = None
    password: (
        Annotated[
            str,
            WithJsonSchema(
                {
                    "type": "string",
                    "description": "initial password (not a common one, not the email); omitted → an invitation link",
                }
            ),
        ]
        | None
    ) = None


class UpdateUserBody(Body):
    role: Role | None = None
    is_active: bool | None = None


Scope = Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(SCOPES)})]  # apikeys checks each


class CreateApiKeyBody(Body):
    name: Annotated[str, Text(120, min_len=1)]
    scopes: Annotated[list[Scope], Field(max_length=10, json_schema_extra={"minItems": 1})]
    expires_at: Timestamp | None = None


class CreateTenantBody(Body):
    name: Annotated[str, Text(120, min_len=1)]
    plan: Plan | None = None
    slug: Annotated[str, Text(80)] | None = None


class AdminTenantBody(Body):
    plan: Plan | None = None
    quotas: Annotated[Object, WithJsonSchema(QUOTAS_DOC)] | None = None
    status: Status | None = None
    reason: Annotated[str, Text(500, description="required to suspend or cancel")] | None = None
    name: Annotated[str, Text(120)] | None = None


class ActiveBody(Body):
    is_active: bool


# --- query strings -----------------------------------------------------------------------------------


def _excluded(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    actions = tuple(a.strip()[:80] for a in raw.split(",") if a.strip())
    if len(actions) > MAX_EXCLUDED:
        raise PydanticCustomError("too_many", f"at most {MAX_EXCLUDED} actions")
    return actions


class AuditQuery(Query):
    user_id: QueryUuid = Field(None, description="only entries by this user")
    action: Annotated[str | None, QueryText(80, description="an action, or a prefix ending in '*' (user.*)")] = None
    exclude_action: Annotated[
        tuple[str, ...], BeforeValidator(_excluded), WithJsonSchema({"type": "string", "maxLength": 900})
    ] = Field((), description="actions to leave out, comma-separated (admin.read hides page views)")
    since: Timestamp | None = Field(None, description="entries at or after this time")
    until: Timestamp | None = Field(None, description="entries before this time")
    format: Annotated[
        str, OneOf(("json", "csv"), message="must be json or csv", description="csv exports the whole filtered log")
    ] = "json"
    limit: Annotated[int, QueryInt(1, 200, "page size (json)")] = 50
    cursor: str | None = Field(None, description="next_cursor of the previous page (an entry id)")


class AdminAuditQuery(AuditQuery):
    tenant_id: QueryUuid = Field(None, description="only this tenant's entries")


class Paging(Query):
    limit: Annotated[int, QueryInt(1, 200, "page size")] = 50
    offset: Annotated[int, QueryInt(0, 1_000_000, "rows to skip")] = 0


class TenantSearch(Paging):
    q: Annotated[str | None, QueryText(100, "search in names and slugs")] = None
    status: Annotated[str | None, WithJsonSchema({"type": "string", "enum": list(TENANT_STATUSES)})] = None


class UserSearch(Paging):
    q: Annotated[str | None, QueryText(100, "search in emails and names")] = None
    tenant_id: str | None = Field(None, description="only this tenant's users (an unknown or malformed id answers 404)")


class ChainQuery(Query):
    tenant_id: str | None = Field(None, description="the tenant whose chain to verify (none: the platform chain)")


# --- answers -----------------------------------------------------------------------------------------


class TenantInfo(Answer):
    tenant: Tenant
    quotas: Quotas
    role: str
    user: User


class TenantAnswer(Answer):
    tenant: Tenant


class TenantUsage(Answer):
    usage: UsageReport
    plan: str
    conversations: int
    messages_this_month: int
    tokens_this_month: int


class Users(Answer):
    users: list[User]


class OneUser(Answer):
    user: User


class UserCreated(Answer):
    user: User
    invitation: Invitation | None = None


class AuditPage(Answer):
    logs: list[AuditEntry]
    next_cursor: str | None


AUDIT_CSV = {200: {"text/csv": {"type": "string", "description": "CSV export (with ?format=csv)"}}}


class ApiKeys(Answer):
    api_keys: list[ApiKey]


class ApiKeyCreated(Answer):
    api_key: ApiKey
    key: Annotated[str, Field(pattern="^hn_")]


class OneApiKey(Answer):
    api_key: ApiKey


class TenantList(Answer):
    total: int
    tenants: list[TenantRow]


class TenantAndQuotas(Answer):
    tenant: Tenant
    quotas: Quotas


class TenantUsageReport(Answer):
    tenant: Tenant
    usage: UsageReport


class UserList(Answer):
    total: int
    users: list[User]


class PasswordReset(Answer):
    reset_token: str
    reset_url: str
    expires_in_hours: int


class Stats(Answer):
    stats: PlatformStats


class PlatformHealth(Answer):
    dependencies: dict[str, str]
    version: str
    assistant: str
    store: str
    database: str
    job_queue_depth: int | None


class ChainCheck(Answer):
    tenant_id: str | None
    valid: bool
    checked: int
    first_broken: BrokenLink | None
