"""Conversations and their messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hydronet.kernel.db import Base, IdMixin, TenantOwnedMixin, utcnow


class Conversation(IdMixin, TenantOwnedMixin, Base):
    """A chat thread, private to its user inside the tenant."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_tenant_user", "tenant_id", "user_id"),
        Index("ix_conversations_listing", "tenant_id", "user_id", "updated_at", "id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(IdMixin, TenantOwnedMixin, Base):
    """One turn of a conversation: user, assistant or tool."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id", "conversation_id"),
        # Tenant first: with the tenant and the conversation both as equalities the planner
        # walks this index backwards for "the latest N" instead of sorting the conversation.
        # It also serves every tenant-wide lookup, so tenant_id has no index of its own here,
        # and there is none on created_at alone (the planner preferred it for deep pages).
        Index("ix_messages_page", "tenant_id", "conversation_id", "created_at", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)

    conversation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text, default="")
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str | None] = mapped_column(String(80))
    meta: Mapped[dict] = mapped_column("metadata", default=dict)
