"""/api/chat: conversations, message history, and chat turns (JSON or SSE)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.auth.ratelimit import limiter, tenant_key
from hydronet.chat import conversations as conv_service
from hydronet.chat import turns
from hydronet.chat.schemas import (
    SEND_MESSAGE_NOTE,
    ChatEvent,
    ConversationAnswer,
    ConversationChangeBody,
    ConversationList,
    ConversationQuery,
    ConversationsQuery,
    ConversationWithMessages,
    MessagePage,
    MessagesQuery,
    NewConversationBody,
    SendMessageBody,
    ServerSentEvent,
    Turn,
)
from hydronet.chat.serialize import conversation_dict, message_dict
from hydronet.chat.sse import stream_turn
from hydronet.kernel.contracts import Deleted, contract
from hydronet.kernel.responses import ok
from hydronet.tenants.quotas import chat_rate_limit

bp = Blueprint("chat", __name__, url_prefix="/api/chat")


@bp.post("/conversations")
@require("chat:write")
@contract(body=NewConversationBody, body_required=False, ok={201: ConversationAnswer})
def create_conversation(body: NewConversationBody):
    """Start a conversation (title optional: taken from the first message)."""
    conv = conv_service.create(current_actor(), body.title or "")
    return ok(201, conversation=conversation_dict(conv))


@bp.get("/conversations")
@require("chat:read")
@contract(query=ConversationsQuery, ok={200: ConversationList})
def list_conversations(query: ConversationsQuery):
    """The caller's conversations, newest first; ``limit``, ``cursor``, ``archived``, ``q``."""
    raw = query.archived
    archived = False if raw is None else None if raw in ("", "all") else raw.lower() in ("1", "true", "yes")
    rows, cursor = conv_service.list_own(
        current_principal().user, limit=query.limit, cursor=query.cursor, archived=archived, query=query.q
    )
    return ok(conversations=[conversation_dict(c) for c in rows], next_cursor=cursor)


@bp.get("/conversations/<conversation_id>")
@require("chat:read")
@contract(query=ConversationQuery, ok={200: ConversationWithMessages})
def get_conversation(conversation_id: str, query: ConversationQuery):
    """A conversation with its latest messages."""
    conv = conv_service.get_own(current_principal().user, conversation_id)
    limit = query.messages
    latest = conv_service.latest_messages(conv, limit) if limit else []
    return ok(conversation=conversation_dict(conv), messages=[message_dict(m) for m in latest])


@bp.patch("/conversations/<conversation_id>")
@require("chat:write")
@contract(body=ConversationChangeBody, ok={200: ConversationAnswer})
def update_conversation(conversation_id: str, body: ConversationChangeBody):
    """Rename or (un)archive."""
    conv = conv_service.get_own(current_principal().user, conversation_id)
    return ok(conversation=conversation_dict(conv_service.update(conv, body.title, body.archived)))


@bp.delete("/conversations/<conversation_id>")
@require("chat:write")
@contract(ok={200: Deleted})
def delete_conversation(conversation_id: str):
    """Delete a conversation and its messages."""
    conv_service.remove(conv_service.get_own(current_principal().user, conversation_id))
    return ok(deleted=True)


@bp.get("/conversations/<conversation_id>/messages")
@require("chat:read")
@contract(query=MessagesQuery, ok={200: MessagePage})
def list_messages(conversation_id: str, query: MessagesQuery):
    """Messages oldest first; ``limit`` and ``cursor``."""
    conv = conv_service.get_own(current_principal().user, conversation_id)
    rows, cursor = conv_service.messages_page(conv, limit=query.limit, cursor=query.cursor)
    return ok(messages=[message_dict(m) for m in rows], next_cursor=cursor)


@bp.post("/conversations/<conversation_id>/messages")
@limiter.limit(chat_rate_limit, key_func=tenant_key, per_method=True)
@require("chat:write")
@contract(
    body=SendMessageBody,
    ok={200: Turn},
    also={200: {"text/event-stream": ServerSentEvent}},
    models=(ChatEvent,),
    errors=(502, 503, 504),
    description=SEND_MESSAGE_NOTE,
)
def send_message(conversation_id: str, body: SendMessageBody):
    """One chat turn: JSON answer, or SSE with ``"stream": true`` / ``Accept: text/event-stream``."""
    p = current_principal()
    conv = conv_service.get_own(p.user, conversation_id)
    stream = body.stream is True or "text/event-stream" in request.headers.get("Accept", "")
    prep = turns.prepare(p.user, p.tenant, conv, body.message)
    if stream:
        return stream_turn(current_app._get_current_object(), prep)  # type: ignore[attr-defined]
    user_msg, reply, state = turns.complete(prep)
    # persist() updated this same object (the session's identity map): no need to read it again
    return ok(
        message=message_dict(user_msg),
        reply=message_dict(reply),
        usage=dict(state.usage),
        conversation=conversation_dict(conv),
    )
