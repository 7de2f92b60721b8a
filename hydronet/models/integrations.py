"""Tenant integrations: MCP servers and WeChat official accounts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hydronet.kernel.db import Base, IdMixin, TenantOwnedMixin


class McpServer(IdMixin, TenantOwnedMixin, Base):
    """A tenant's streamable-HTTP MCP server; header values encrypted at rest."""

    __tablename__ = "mcp_servers"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_mcp_servers_tenant_name"),)

    name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(1000))
    headers_encrypted: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_tools: Mapped[list | None] = mapped_column()
    timeout_s: Mapped[float] = mapped_column(default=20.0)
    tools_cache: Mapped[list | None] = mapped_column()
    last_tested_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))


class WechatAccount(IdMixin, TenantOwnedMixin, Base):
    """A WeChat official account configured by a tenant admin."""

    __tablename__ = "wechat_accounts"

    app_id: Mapped[str] = mapped_column(String(64))
    token_encrypted: Mapped[str] = mapped_column(Text)
    app_secret_encrypted: Mapped[str] = mapped_column(Text)
    aes_key_encrypted: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    deliver_mode: Mapped[str] = mapped_column(String(20), default="next_message")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class WechatFollower(IdMixin, TenantOwnedMixin, Base):
    """A follower (openid) mapped to a HydroNet user of the tenant."""

    __tablename__ = "wechat_followers"
    __table_args__ = (UniqueConstraint("tenant_id", "openid", name="uq_wechat_followers_openid"),)

    openid: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)


class WechatBindCode(IdMixin, TenantOwnedMixin, Base):
    """A one-time code a signed-in user sends to the account to bind their openid."""

    __tablename__ = "wechat_bind_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
