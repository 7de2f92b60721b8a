"""Metered usage: one record per model call or tool run, plus daily aggregates."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hydronet.kernel.db import Base, IdMixin, TenantOwnedMixin


class UsageRecord(IdMixin, TenantOwnedMixin, Base):
    """One billable event: a model call, a tool run or an analysis."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_tenant_created", "tenant_id", "created_at"),)

    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(20), default="chat")
    model: Mapped[str | None] = mapped_column(String(80))
    tool: Mapped[str | None] = mapped_column(String(120))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    cost_cny: Mapped[float] = mapped_column(Numeric(14, 6), default=0)
    status: Mapped[str] = mapped_column(String(20), default="ok")


class UsageDaily(TenantOwnedMixin, Base):
    """Per tenant, user and day totals, upserted with each record."""

    __tablename__ = "usage_daily"
    __table_args__ = (UniqueConstraint("tenant_id", "user_key", "day", name="uq_usage_daily_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    # user_key is the user id as text, or "" for usage without a user (keeps the unique key simple).
    user_key: Mapped[str] = mapped_column(String(36), default="")
    day: Mapped[date] = mapped_column(Date)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    # Of ``messages``, those the offline assistant answered (no model tokens, no cost).
    offline_messages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    tool_runs: Mapped[int] = mapped_column(Integer, default=0)
    cost_cny: Mapped[float] = mapped_column(Numeric(14, 6), default=0)
