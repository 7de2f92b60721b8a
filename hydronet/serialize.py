"""JSON shapes of the API's resources (one place, so every endpoint agrees)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .models import ApiKey, Conversation, Message, Network, Tenant, User


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with an explicit UTC offset, or None (SQLite hands back naive UTC datetimes)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def tenant_dict(t: Tenant) -> dict[str, Any]:
    return {
        "id": str(t.id), "name": t.name, "slug": t.slug, "plan": t.plan, "status": t.status,
        "status_reason": t.status_reason, "settings": t.settings or {}, "quota_overrides": t.quota_overrides or {},
        "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
    }


def user_dict(u: User) -> dict[str, Any]:
    return {
        "id": str(u.id), "email": u.email, "name": u.name, "role": u.role, "tenant_id": str(u.tenant_id),
        "is_active": u.is_active, "is_platform_admin": u.is_platform_admin,
        "last_login_at": iso(u.last_login_at), "created_at": iso(u.created_at),
        "password_change_required": u.password_change_required,
    }


def conversation_dict(c: Conversation) -> dict[str, Any]:
    return {
        "id": str(c.id), "title": c.title, "archived": c.archived, "channel": c.channel,
        "message_count": c.message_count, "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
    }


def message_dict(m: Message) -> dict[str, Any]:
    meta = m.meta or {}
    return {
        "id": str(m.id), "conversation_id": str(m.conversation_id), "role": m.role, "content": m.content,
        "model": m.model, "input_tokens": m.input_tokens, "output_tokens": m.output_tokens,
        "tool_calls": meta.get("tool_calls", []), "interrupted": bool(meta.get("interrupted")),
        "offline": bool(meta.get("offline")),
        "metadata": {k: v for k, v in meta.items() if k not in ("tool_calls", "turn_messages")}, "created_at": iso(m.created_at),
    }


def api_key_dict(k: ApiKey) -> dict[str, Any]:
    return {
        "id": str(k.id), "name": k.name, "prefix": k.prefix, "scopes": k.scopes or [],
        "expires_at": iso(k.expires_at), "last_used_at": iso(k.last_used_at), "revoked_at": iso(k.revoked_at),
        "created_at": iso(k.created_at), "user_id": str(k.user_id),
    }


def network_dict(n: Network) -> dict[str, Any]:
    """A network without its .inp text."""
    return {
        "id": str(n.id), "name": n.name, "filename": n.filename, "source": n.source, "size_bytes": n.size_bytes,
        "content_hash": n.content_hash, "summary": n.summary or {},
        "created_by": str(n.created_by) if n.created_by else None, "created_at": iso(n.created_at),
    }
