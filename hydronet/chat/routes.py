"""/api/chat: conversations, message history, and chat turns (JSON or SSE)."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.auth.ratelimit import limiter, tenant_key
from hydronet.chat import conversations as conv_service
from hydronet.chat import turns
from hydronet.chat.serialize import conversation_dict, message_dict
from hydronet.chat.sse import stream_turn
from hydronet.kernel.responses import ok
from hydronet.kernel.validation import Fields, json_body, query_int
from hydronet.tenants.quotas import chat_rate_limit

bp = Blueprint("chat", __name__, url_prefix="/api/chat")


@bp.post("/conversations")
@require("chat:write")
def create_conversation():
    """Start a conversation (title optional: taken from the first message)."""
    f = Fields(json_body(required=False))
    title = f.str("title", required=False, max_len=conv_service.TITLE_MAX, default="")
    f.done()
    conv = conv_service.create(current_actor(), title)
    return ok(201, conversation=conversation_dict(conv))


@bp.get("/conversations")
@require("chat:read")
def list_conversations():
    """The caller's conversations, newest first; ``limit``, ``cursor``, ``archived``, ``q``."""
    limit = query_int("limit", 20, 1, 100)
    archived_raw = request.args.get("archived")
    archived = None if archived_raw in (None, "", "all") else archived_raw.lower() in ("1", "true", "yes")
    if archived_raw is None:
        archived = False
    query = (request.args.get("q") or "").strip()[:100] or None
    rows, cursor = conv_service.list_own(current_principal().user, limit=limit, cursor=request.args.get("cursor"),
                                         archived=archived, query=query)
    return ok(conversations=[conversation_dict(c) for c in rows], next_cursor=cursor)


@bp.get("/conversations/<conversation_id>")
@require("chat:read")
def get_conversation(conversation_id: str):
    """A conversation with its latest messages."""
    conv = conv_service.get_own(current_principal().user, conversation_id)
    limit = query_int("messages", 50, 0, 200)
    latest = conv_service.latest_messages(conv, limit) if limit else []
    return ok(conversation=conversation_dict(conv), messages=[message_dict(m) for m in latest])


@bp.patch("/conversations/<conversation_id>")
@require("chat:write")
def update_conversation(conversation_id: str):
    """Rename or (un)archive."""
    f = Fields(json_body())
    title = f.str("title", required=False, max_len=conv_service.TITLE_MAX)
    archived = f.bool("archived")
    f.done()
    conv = conv_service.get_own(current_principal().user, conversation_id)
    return ok(conversation=conversation_dict(conv_service.update(conv, title, archived)))


@bp.delete("/conversations/<conversation_id>")
@require("chat:write")
def delete_conversation(conversation_id: str):
    """Delete a conversation and its messages."""
    conv_service.remove(conv_service.get_own(current_principal().user, conversation_id))
    return ok(deleted=True)


@bp.get("/conversations/<conversation_id>/messages")
@require("chat:read")
def list_messages(conversation_id: str):
    """Messages oldest first; ``limit`` and ``cursor``."""
    conv = conv_service.get_own(current_principal().user, conversation_id)
    rows, cursor = conv_service.messages_page(conv, limit=query_int("limit", 50, 1, 200),
                                              cursor=request.args.get("cursor"))
    return ok(messages=[message_dict(m) for m in rows], next_cursor=cursor)


@bp.post("/conversations/<conversation_id>/messages")
@limiter.limit(chat_rate_limit, key_func=tenant_key, per_method=True)
@require("chat:write")
def send_message(conversation_id: str):
    """One chat turn: JSON answer, or SSE with ``"stream": true`` / ``Accept: text/event-stream``."""
    body = json_body()
    p = current_principal()
    conv = conv_service.get_own(p.user, conversation_id)
    stream = body.get("stream") is True or "text/event-stream" in request.headers.get("Accept", "")
    prep = turns.prepare(p.user, p.tenant, conv, body.get("message"))
    if stream:
        return stream_turn(current_app._get_current_object(), prep)  # type: ignore[attr-defined]
    user_msg, reply, state = turns.complete(prep)
    # persist() updated this same object (the session's identity map): no need to read it again
    return ok(message=message_dict(user_msg), reply=message_dict(reply), usage=dict(state.usage),
              conversation=conversation_dict(conv))
