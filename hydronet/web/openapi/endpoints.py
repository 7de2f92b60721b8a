"""Registry of the core endpoints (health, auth, tenant, chat): request and response schemas by endpoint name."""
from __future__ import annotations

from hydronet.auth.passwords import MAX_LENGTH, MIN_LENGTH
from hydronet.auth.permissions import SCOPES
from hydronet.chat.conversations import TITLE_MAX
from hydronet.models import ROLES
from hydronet.tenants.members import TENANT_SETTING_KEYS
from hydronet.web.openapi.ops import CURSOR, JSON, Op, bounded_int, q
from hydronet.web.openapi.schemas import (
                    BOOL,
                    EMAIL,
                    INT,
                    OBJ,
                    STR,
                    TIMESTAMP,
                    array,
                    envelope,
                    nullable,
                    obj,
                    ref,
                    string,
)

SESSION = envelope({"access_token": STR, "refresh_token": STR, "token_type": {"const": "Bearer"},
                    "expires_in": INT, "user": ref("User"), "tenant": ref("Tenant")})
PASSWORD = string(1024, min_len=1)
NEW_PASSWORD = string(MAX_LENGTH, min_len=MIN_LENGTH, description="not a common password, not the email")
AUDIT_QUERY = (
    q("user_id", {"type": "string", "format": "uuid"}, "only entries by this user"),
    q("action", string(80), "an action, or a prefix ending in '*' (user.*)"),
    q("exclude_action", string(900), "actions to leave out, comma-separated (admin.read hides page views)"),
    q("since", {"type": "string", "format": "date-time"}, "entries at or after this time"),
    q("until", {"type": "string", "format": "date-time"}, "entries before this time"),
    q("format", {"type": "string", "enum": ["json", "csv"], "default": "json"}, "csv exports the whole filtered log"),
    q("limit", bounded_int(1, 200, 50), "page size (json)"),
    q("cursor", {"type": "string"}, "next_cursor of the previous page (an entry id)"),
)
AUDIT_PAGE = envelope({"logs": array(ref("AuditEntry")), "next_cursor": nullable(STR)})
AUDIT_CSV = {200: {"text/csv": {"type": "string", "description": "CSV export (with ?format=csv)"}}}
TENANT_INFO = envelope({"tenant": ref("Tenant"), "quotas": ref("Quotas"), "role": STR, "user": ref("User")})
USERS = envelope({"users": array(ref("User"))})
ONE_USER = envelope({"user": ref("User")})
CONVERSATION = envelope({"conversation": ref("Conversation")})
MESSAGES_PAGE = envelope({"messages": array(ref("Message")), "next_cursor": nullable(STR)})
TURN = envelope({"message": ref("Message"), "reply": ref("Message"), "usage": ref("TurnUsage"),
                 "conversation": ref("Conversation")})
SSE = {200: {"text/event-stream": obj(
    {"data": {"type": "string", "contentMediaType": JSON, "contentSchema": ref("ChatEvent"),
              "description": "a ChatEvent as JSON"},
     "event": STR, "id": STR, "retry": INT},
    ["data"],
    description="One server-sent event: start, text deltas, tool calls and results, then done (with the stored "
                "messages) or error; `: heartbeat` comments keep the connection open while the model is quiet.",
)}}

CORE: dict[str, Op] = {
    "health.health": Op(
        ok={200: obj({"status": {"const": "healthy"}, "success": BOOL, "database": STR, "redis": STR,
                      "version": STR, "assistant": STR}, ["status", "success", "version"])},
        errors=(503,), rate_limited=False,
        description="503 answers `{\"status\": \"unhealthy\", \"failed\": [...]}` naming the broken dependency.",
    ),
    "auth.register": Op(
        ok={201: SESSION},
        body=obj({"email": EMAIL, "password": NEW_PASSWORD, "tenant_name": string(120, min_len=1),
                  "name": string(120)}, ["email", "password", "tenant_name"]),
        errors=(409,),
    ),
    "auth.login": Op(
        ok={200: envelope({"access_token": STR, "refresh_token": STR, "token_type": {"const": "Bearer"},
                           "expires_in": INT, "user": ref("User"), "tenant": ref("Tenant"),
                           "password_change_required": BOOL})},
        body=obj({"email": string(254, min_len=1), "password": PASSWORD}, "all"),
        errors=(401, 403),
    ),
    "auth.refresh": Op(
        ok={200: SESSION},
        body=obj({"refresh_token": STR}), body_required=False,
        errors=(401, 403),
        description="The refresh token goes in the body or as `Authorization: Bearer <refresh token>`; "
                    "it rotates on every use and a reused one revokes its family.",
    ),
    "auth.logout": Op(
        ok={200: envelope({"message": STR})},
        body=obj({"refresh_token": STR}), body_required=False,
    ),
    "auth.me": Op(ok={200: envelope({"user": ref("User"), "tenant": ref("Tenant"), "permissions": array(STR)})}),
    "auth.change_password": Op(
        ok={200: envelope({"message": STR, "access_token": STR, "refresh_token": STR,
                           "token_type": {"const": "Bearer"}, "expires_in": INT})},
        body=obj({"old_password": PASSWORD, "new_password": NEW_PASSWORD}, "all"),
    ),
    "auth.reset_password": Op(
        ok={200: SESSION},
        body=obj({"token": string(200, min_len=1), "password": NEW_PASSWORD}, ["token", "password"]),
        errors=(403,),
    ),
    "tenant.info": Op(ok={200: TENANT_INFO}),
    "tenant.update": Op(
        ok={200: envelope({"tenant": ref("Tenant")})},
        body=obj({"name": string(120, min_len=1),
                  "settings": obj({k: STR for k in TENANT_SETTING_KEYS},
                                  description="allowed keys: " + ", ".join(TENANT_SETTING_KEYS))}),
    ),
    "tenant.usage": Op(ok={200: envelope({"usage": ref("UsageReport"), "plan": STR, "conversations": INT,
                                          "messages_this_month": INT, "tokens_this_month": INT})}),
    "tenant.list_users": Op(ok={200: USERS}),
    "tenant.create_user": Op(
        ok={201: envelope({"user": ref("User"),
                           "invitation": obj({"token": STR, "accept_url": STR, "expires_in_days": INT}, "all")},
                          ["user"])},
        body=obj({"email": EMAIL, "name": string(120), "role": {"type": "string", "enum": list(ROLES)},
                  "password": {**NEW_PASSWORD, "description": "initial password; omitted → an invitation link"}},
                 ["email"]),
        errors=(409,),
    ),
    "tenant.get_user": Op(ok={200: ONE_USER}),
    "tenant.update_user": Op(
        ok={200: ONE_USER},
        body=obj({"role": {"type": "string", "enum": list(ROLES)}, "is_active": BOOL}),
        errors=(409,),
    ),
    "tenant.deactivate_user": Op(ok={200: ONE_USER}, errors=(409,)),
    "tenant.audit_logs": Op(ok={200: AUDIT_PAGE}, query=AUDIT_QUERY, also=AUDIT_CSV),
    "tenant.list_api_keys": Op(ok={200: envelope({"api_keys": array(ref("ApiKey"))})}),
    "tenant.create_api_key": Op(
        ok={201: envelope({"api_key": ref("ApiKey"), "key": {"type": "string", "pattern": "^hn_"}})},
        body=obj({"name": string(120, min_len=1),
                  "scopes": array({"type": "string", "enum": sorted(SCOPES)}, minItems=1, maxItems=10),
                  "expires_at": {**TIMESTAMP, "format": "date-time"}}, ["name", "scopes"]),
    ),
    "tenant.revoke_api_key": Op(ok={200: envelope({"api_key": ref("ApiKey")})}),
    "chat.create_conversation": Op(
        ok={201: CONVERSATION},
        body=obj({"title": string(TITLE_MAX)}), body_required=False,
    ),
    "chat.list_conversations": Op(
        ok={200: envelope({"conversations": array(ref("Conversation")), "next_cursor": nullable(STR)})},
        query=(q("limit", bounded_int(1, 100, 20), "page size"), CURSOR,
               q("archived", {"type": "string", "enum": ["false", "true", "all"]}, "default: not archived"),
               q("q", string(100), "search in titles")),
    ),
    "chat.get_conversation": Op(
        ok={200: envelope({"conversation": ref("Conversation"), "messages": array(ref("Message"))})},
        query=(q("messages", bounded_int(0, 200, 50), "how many of the latest messages to include"),),
    ),
    "chat.update_conversation": Op(
        ok={200: CONVERSATION},
        body=obj({"title": string(TITLE_MAX), "archived": BOOL}),
    ),
    "chat.delete_conversation": Op(ok={200: envelope({"deleted": {"const": True}})}),
    "chat.list_messages": Op(ok={200: MESSAGES_PAGE}, query=(q("limit", bounded_int(1, 200, 50), "page size"), CURSOR)),
    "chat.send_message": Op(
        ok={200: TURN},
        body=obj({"message": string(min_len=1, description="the user's message (CHAT_MAX_MESSAGE_CHARS at most)"),
                  "stream": {"type": "boolean", "description": "answer as server-sent events"}}, ["message"]),
        also=SSE, errors=(502, 503, 504),
        description="With `\"stream\": true` or `Accept: text/event-stream` the answer is an SSE stream; "
                    "429 `quota_exceeded` when a plan quota is used up (nothing is stored); 404 "
                    "`conversation_deleted` (the SSE `error` event's code too) when the conversation was deleted "
                    "while the model answered (the answer is not kept, its usage is); 503 `store_unavailable` or "
                    "`database_unavailable` with Retry-After. A stored turn is always acknowledged (200, or `done`).",
    ),
    "openapi.document": Op(ok={200: {**OBJ, "description": "This OpenAPI 3.1 document"}}, rate_limited=False),
}
