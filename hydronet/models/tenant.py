"""Tenants (organisations) and their users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from hydronet.kernel.db import Base, IdMixin, TenantOwnedMixin, utcnow

PLANS = ("free", "basic", "pro", "enterprise")
TENANT_STATUSES = ("active", "trial", "suspended", "cancelled")
BLOCKED_STATUSES = ("suspended", "cancelled")  # a tenant in one of these cannot be used
SYNTHETIC_DOMAIN = (
    "wechat.hydronet.local"  # the placeholder email domain of WeChat followers' users (refused for people)
)
ROLES = ("owner", "admin", "member", "viewer")


class Tenant(IdMixin, Base):
    """An organisation: a water utility, a university lab."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    plan: Mapped[str] = mapped_column(String(20), default="free")
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    settings: Mapped[dict] = mapped_column(default=dict)
    quota_overrides: Mapped[dict] = mapped_column(default=dict)
    is_platform: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_usable(self) -> bool:
        """False while the tenant is suspended or cancelled: its users cannot sign in or act."""
        return self.status not in BLOCKED_STATUSES


class User(IdMixin, TenantOwnedMixin, Base):
    """A person who signs in; belongs to exactly one tenant."""

    __tablename__ = "users"
    # Emails are stored lower-cased (see normalize_email), so a plain unique
    # constraint makes them unique case-insensitively on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(20), default="member")
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column()
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    password_change_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # A WeChat follower's automatic account (no password, takes no seat); only followers.py sets it.
    is_wechat_follower: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    invite_token_hash: Mapped[str | None] = mapped_column(String(128), index=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    tenant: Mapped[Tenant] = relationship(lazy="joined", innerjoin=True)

    @validates("email")
    def normalize_email(self, _key: str, value: str) -> str:
        """Store emails trimmed and lower-cased."""
        return value.strip().lower()
