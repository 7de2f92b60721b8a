"""JSON Schemas (OpenAPI 3.1) of the API's resources, success envelopes and the one error shape."""
from __future__ import annotations

from typing import Any, Iterable

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
OBJ: Schema = {"type": "object", "additionalProperties": True}
UUID_STR: Schema = {"type": "string", "description": "UUID"}
TIMESTAMP: Schema = {"type": "string", "description": "ISO-8601 timestamp (UTC)"}
EMAIL: Schema = {"type": "string", "format": "email", "maxLength": 254}
ROLE: Schema = {"type": "string", "enum": ["owner", "admin", "member", "viewer"]}


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """The schema, or null."""
    if "type" in schema and "$ref" not in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        out = {**schema, "type": [*types, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema, **extra: Any) -> Schema:
    """A JSON array of ``items``."""
    return {"type": "array", "items": items, **extra}


def string(max_len: int | None = None, *, min_len: int | None = None, **extra: Any) -> Schema:
    """A string with length bounds."""
    out: Schema = {"type": "string", **extra}
    if max_len is not None:
        out["maxLength"] = max_len
    if min_len is not None:
        out["minLength"] = min_len
    return out


def obj(props: dict[str, Schema], required: Iterable[str] | str = (), *, additional: bool = True,
        **extra: Any) -> Schema:
    """An object; ``required="all"`` requires every listed property."""
    names = list(props) if required == "all" else list(required)
    out: Schema = {"type": "object", "properties": props, "additionalProperties": additional, **extra}
    if names:
        out["required"] = names
    return out


def envelope(props: dict[str, Schema] | None = None, required: Iterable[str] | str = "all") -> Schema:
    """A success body: ``{"success": true, ...props}``."""
    props = props or {}
    names = list(props) if required == "all" else list(required)
    return obj({"success": {"const": True}, **props}, ["success", *names])


def _quota_item() -> Schema:
    return obj({"limit": nullable(NUM), "unlimited": BOOL, "used": nullable(NUM), "remaining": nullable(NUM),
                "resets_at": nullable(TIMESTAMP)}, "all")


_ERROR = obj(
    {"code": string(description="snake_case error code, e.g. validation_error, not_found, quota_exceeded"),
     "message": STR,
     "fields": {"type": "object", "additionalProperties": STR, "description": "per-field messages (validation_error)"},
     "quota": STR, "limit": INT, "used": INT, "resets_at": nullable(STR), "retry_after": INT,
     "permission": STR, "reason": STR, "detail": STR},
    ["code", "message"],
)

COMPONENTS: dict[str, Schema] = {
    "Error": obj({"success": {"const": False}, "error": _ERROR}, "all",
                 description="The one error shape of every /api failure"),
    "Tenant": obj({
        "id": UUID_STR, "name": STR, "slug": STR, "plan": STR, "status": STR, "status_reason": nullable(STR),
        "settings": OBJ, "quota_overrides": OBJ, "created_at": nullable(TIMESTAMP), "updated_at": nullable(TIMESTAMP),
    }, "all"),
    "User": obj({
        "id": UUID_STR, "email": STR, "name": nullable(STR), "role": ROLE, "tenant_id": UUID_STR, "is_active": BOOL,
        "is_platform_admin": BOOL, "last_login_at": nullable(TIMESTAMP), "created_at": nullable(TIMESTAMP),
        "password_change_required": BOOL,
    }, "all"),
    "Quotas": {**obj({"models": array(STR)}, ["models"]), "additionalProperties": nullable(NUM),
               "description": "Effective quotas: plan defaults with overrides (-1 = unlimited)"},
    "TokenPair": obj({"access_token": STR, "refresh_token": STR, "token_type": {"const": "Bearer"},
                      "expires_in": INT}, "all"),
    "Conversation": obj({
        "id": UUID_STR, "title": nullable(STR), "archived": BOOL, "channel": STR, "message_count": INT,
        "created_at": nullable(TIMESTAMP), "updated_at": nullable(TIMESTAMP),
    }, "all"),
    "Message": obj({
        "id": UUID_STR, "conversation_id": UUID_STR, "role": STR, "content": nullable(STR), "model": nullable(STR),
        "input_tokens": nullable(INT), "output_tokens": nullable(INT), "tool_calls": array(OBJ),
        "interrupted": BOOL, "offline": BOOL, "metadata": OBJ, "created_at": nullable(TIMESTAMP),
    }, "all"),
    "TurnUsage": {**OBJ, "description": "Token counts of one chat turn"},
    "ApiKey": obj({
        "id": UUID_STR, "name": STR, "prefix": STR, "scopes": array(STR), "expires_at": nullable(TIMESTAMP),
        "last_used_at": nullable(TIMESTAMP), "revoked_at": nullable(TIMESTAMP), "created_at": nullable(TIMESTAMP),
        "user_id": UUID_STR,
    }, "all"),
    "AuditEntry": obj({
        "id": INT, "tenant_id": nullable(UUID_STR), "actor_id": nullable(UUID_STR), "actor_email": nullable(STR),
        "action": STR, "target_type": nullable(STR), "target_id": nullable(STR), "ip": nullable(STR),
        "user_agent": nullable(STR), "request_id": nullable(STR), "details": nullable(OBJ), "created_at": TIMESTAMP,
        "prev_hash": nullable(STR), "hash": nullable(STR),
        "target_name": {**nullable(STR), "description": "the target's email or name, when it has one"},
    }, "all"),
    "QuotaUsage": _quota_item(),
    "UsageReport": obj({
        "plan": STR, "models": array(STR),
        "quotas": {"type": "object", "additionalProperties": ref("QuotaUsage")},
        "daily": array(obj({"date": STR, "messages": INT, "offline_messages": INT, "input_tokens": INT, "output_tokens": INT, "tokens": INT,
                            "tool_runs": INT, "cost_cny": NUM}, "all")),
        "totals_this_month": obj({"messages": INT, "offline_messages": INT, "input_tokens": INT, "output_tokens": INT, "tokens": INT,
                                  "cost_cny": NUM}, "all"),
    }, "all"),
    "McpTool": obj({"name": STR, "description": STR, "input_schema": OBJ}, ["name"]),
    "McpServer": obj({
        "id": UUID_STR, "name": STR, "url": STR, "headers": {"type": "object", "additionalProperties": nullable(STR)},
        "headers_unreadable": BOOL, "enabled": BOOL, "allowed_tools": nullable(array(STR)), "timeout_s": NUM,
        "tools": nullable(array(obj({"name": nullable(STR), "chat_name": STR, "description": STR, "allowed": BOOL},
                                    "all"))),
        "last_tested_at": nullable(TIMESTAMP), "last_error": nullable(STR), "created_at": nullable(TIMESTAMP),
    }, "all"),
    "WechatConfig": obj({
        "configured": BOOL, "callback_path": STR, "callback_url": STR, "app_id": STR, "verified": BOOL,
        "deliver_mode": STR, "enabled": BOOL, "has_aes_key": BOOL, "can_push": BOOL, "created_at": nullable(TIMESTAMP),
    }, ["configured", "callback_path", "callback_url"]),
    "WechatFollower": obj({
        "id": UUID_STR, "openid": STR, "subscribed": BOOL, "messages": INT, "bound": BOOL,
        "conversation_id": nullable(UUID_STR),
        "user": nullable(obj({"id": UUID_STR, "email": STR, "name": nullable(STR)}, "all")),
        "created_at": nullable(TIMESTAMP),
    }, "all"),
    "Network": obj({
        "id": UUID_STR, "name": STR, "filename": STR, "source": {"type": "string", "enum": ["upload", "example"]},
        "size_bytes": INT, "content_hash": STR,
        "summary": {**OBJ, "description": "counts, lengths, time settings (SI)"},
        "created_by": nullable(UUID_STR), "created_at": nullable(TIMESTAMP),
    }, "all", description="A stored EPANET network (never its .inp text)"),
    "Job": obj({
        "id": UUID_STR, "network_id": UUID_STR, "kind": STR, "params": OBJ,
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed", "cancelled"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1}, "created_at": nullable(TIMESTAMP),
        "finished_at": nullable(TIMESTAMP),
        "result": {**nullable(OBJ), "description": "when done"},
        "findings": {**array(OBJ), "description": "when done: {severity, code, elements, value, unit, time_h, "
                                                    "message: {zh, en}}, most severe first"},
        "next_steps": {**array(OBJ), "description": "when done: suggested analyses, {zh, en}"},
        "kpis": {**array(OBJ), "description": "when done: key figures {key, label: {zh, en}, value, unit, detail}"},
        "tables": {**array(OBJ), "description": "when done: element tables, worst first {key, title, columns, rows}"},
        "settings": {**array(OBJ), "description": "when done: run settings {name, label, unit, value, source}"},
        "error": {**nullable(STR), "description": "when failed"},
    }, ["id", "network_id", "kind", "params", "status", "progress", "created_at", "finished_at"],
        description="A background analysis job"),
    "ChatEvent": obj({"type": string(description="start, delta, tool_call, tool_result, done or error")}, ["type"],
                     description="One server-sent event (data: JSON) of a streamed chat turn"),
}
