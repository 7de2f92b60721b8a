"""JSON shapes of conversations and messages."""

from __future__ import annotations

from typing import Any

from hydronet.kernel.jsonio import iso
from hydronet.models import Conversation, Message


def conversation_dict(c: Conversation) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "title": c.title,
        "archived": c.archived,
        "channel": c.channel,
        "message_count": c.message_count,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def message_dict(m: Message) -> dict[str, Any]:
    meta = m.meta or {}
    return {
        "id": str(m.id),
        "conversation_id": str(m.conversation_id),
        "role": m.role,
        "content": m.content,
        "model": m.model,
        "input_tokens": m.input_tokens,
        "output_tokens": m.output_tokens,
        "tool_calls": meta.get("tool_calls", []),
        "interrupted": bool(meta.get("interrupted")),
        "offline": bool(meta.get("offline")),
        "metadata": {k: v for k, v in meta.items() if k not in ("tool_calls", "turn_messages")},
        "created_at": iso(m.created_at),
    }
