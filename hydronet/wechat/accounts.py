"""WeChat official accounts: the one configured by environment variables and the ones tenant admins configure.

Callbacks are unauthenticated (only signed), so `resolve` finds the tenant by slug through the explicit
`all_tenants` escape and then binds the session to it before any tenant data is read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from hydronet.auth.actor import Actor
from hydronet.kernel import audit
from hydronet.kernel import secrets as secret_box
from hydronet.kernel.db import db
from hydronet.kernel.errors import NotFound, ValidationError
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Tenant, WechatAccount
from hydronet.wechat.protocol import AccountConfig

Source = Literal["env", "tenant"]
DELIVER_MODES = ("push", "next_message")
APP_ID_RE = re.compile(r"^wx[0-9A-Za-z]{8,30}$")
TOKEN_RE = re.compile(r"^[0-9A-Za-z]{3,32}$")  # what the WeChat console accepts
_UNSET: Any = object()


@dataclass(frozen=True)
class ChannelAccount:
    """An account ready to serve: its credentials, its tenant and where its settings live."""

    config: AccountConfig
    tenant: Tenant
    source: Source
    api_base_url: str | None

    @property
    def kv_key(self) -> str:
        """Namespace of this account's delivery keys."""
        return self.config.account_key

    @property
    def session_prefix(self) -> str:
        """Redis prefix of this account's shared access_token."""
        return f"hydronet:wechat:{self.tenant.id}"


def tenant_by_slug(slug: str) -> Tenant:
    """The tenant named by a callback URL (the one cross-tenant lookup), then scope the session to it."""
    with all_tenants(db.session):
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant is None:
        raise NotFound("No WeChat account here")
    bind_tenant(db.session, tenant.id)
    return tenant


def get_account() -> WechatAccount | None:
    """The current tenant's configured account (the session is tenant-scoped)."""
    return db.session.execute(select(WechatAccount).order_by(WechatAccount.created_at)).scalars().first()


def resolve(slug: str | None, app_config: Mapping[str, Any]) -> ChannelAccount:
    """The account behind /api/wechat (slug None: the environment's) or /api/wechat/<slug>; 404 otherwise."""
    if slug is None:
        if not app_config.get("WECHAT_ENABLED"):
            raise NotFound("WeChat is not enabled on this server")
        return _env_account(app_config, tenant_by_slug(app_config.get("WECHAT_TENANT_SLUG") or "demo"))
    tenant = tenant_by_slug(slug)
    row = get_account()
    if row is None or not row.enabled:
        raise NotFound("No WeChat account here")
    return _tenant_account(app_config, tenant, row)


def load(tenant_id: uuid.UUID, source: Source, app_config: Mapping[str, Any]) -> ChannelAccount | None:
    """Rebuild an account inside a background job (None when it was removed or disabled meanwhile)."""
    bind_tenant(db.session, tenant_id)
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        return None
    if source == "env":
        return _env_account(app_config, tenant) if app_config.get("WECHAT_ENABLED") else None
    row = get_account()
    return _tenant_account(app_config, tenant, row) if row is not None and row.enabled else None


def _env_account(app_config: Mapping[str, Any], tenant: Tenant) -> ChannelAccount:
    verified = bool(app_config.get("WECHAT_VERIFIED"))
    cfg = AccountConfig(
        token=app_config["WECHAT_TOKEN"],
        app_id=app_config.get("WECHAT_APP_ID") or "",
        app_secret=app_config.get("WECHAT_APP_SECRET") or "",
        aes_key=app_config.get("WECHAT_AES_KEY") or None,
        tenant_slug=tenant.slug,
        tenant_id=tenant.id,
        verified=verified,
        deliver_mode="push" if verified else "next_message",
    )
    return ChannelAccount(cfg, tenant, "env", app_config.get("WECHAT_API_BASE_URL") or None)


def _tenant_account(app_config: Mapping[str, Any], tenant: Tenant, row: WechatAccount) -> ChannelAccount:
    cfg = AccountConfig(
        token=secret_box.decrypt(row.token_encrypted),
        app_id=row.app_id,
        app_secret=secret_box.decrypt(row.app_secret_encrypted),
        aes_key=secret_box.decrypt(row.aes_key_encrypted) or None,
        tenant_slug=tenant.slug,
        tenant_id=tenant.id,
        verified=row.verified,
        deliver_mode=row.deliver_mode,  # type: ignore[arg-type]
    )
    return ChannelAccount(cfg, tenant, "tenant", app_config.get("WECHAT_API_BASE_URL") or None)


def configure(
    actor: Actor,
    tenant: Tenant,
    *,
    token: str | None = None,
    app_id: str | None = None,
    app_secret: str | None = None,
    aes_key: Any = _UNSET,
    verified: bool | None = None,
    deliver_mode: str | None = None,
    enabled: bool | None = None,
) -> tuple[WechatAccount, bool]:
    """Create or update the tenant's account; omitted secrets are kept, aes_key None/'' removes it."""
    row = get_account()
    created = row is None
    if created and not (token and app_id and app_secret):
        raise ValidationError(
            {k: "is required" for k, v in (("token", token), ("app_id", app_id), ("app_secret", app_secret)) if not v}
        )
    _check_formats(token, app_id, deliver_mode)
    if row is None:
        row = WechatAccount(
            tenant_id=tenant.id,
            app_id=app_id,
            token_encrypted="",
            app_secret_encrypted="",
            aes_key_encrypted="",
            verified=False,
            deliver_mode="next_message",
            enabled=True,
        )
        db.session.add(row)
    changed = _apply(
        row,
        token=token,
        app_id=app_id,
        app_secret=app_secret,
        aes_key=aes_key,
        verified=verified,
        deliver_mode=deliver_mode,
        enabled=enabled,
    )
    try:  # the same checks the callback will run: fail now, not on WeChat's first request
        _tenant_account({}, tenant, row)
    except ValueError as exc:
        db.session.rollback()
        raise ValidationError({"aes_key": str(exc)}) from None
    db.session.flush()
    audit.record(
        actor,
        "wechat.configure",
        target_type="wechat_account",
        target_id=row.id,
        details={
            "created": created,
            "changed": sorted(changed),
            "app_id": row.app_id,
            "verified": row.verified,
            "deliver_mode": row.deliver_mode,
            "enabled": row.enabled,
            "safe_mode": bool(row.aes_key_encrypted),
        },
    )
    db.session.commit()
    return row, created


def _check_formats(token: str | None, app_id: str | None, deliver_mode: str | None) -> None:
    errors: dict[str, str] = {}
    if token is not None and not TOKEN_RE.match(token):
        errors["token"] = "must be 3-32 letters or digits (as set in the WeChat console)"
    if app_id is not None and not APP_ID_RE.match(app_id):
        errors["app_id"] = "must look like wx followed by letters and digits"
    if deliver_mode is not None and deliver_mode not in DELIVER_MODES:
        errors["deliver_mode"] = f"must be one of: {', '.join(DELIVER_MODES)}"
    if errors:
        raise ValidationError(errors)


def _apply(row: WechatAccount, **values: Any) -> set[str]:
    """Write the given values (secrets encrypted); the names of the fields that changed."""
    changed: set[str] = set()
    for name in ("token", "app_secret", "aes_key"):
        value = values[name]
        if value is _UNSET or (value is None and name != "aes_key"):
            continue
        column = f"{name}_encrypted"
        if (secret_box.decrypt(getattr(row, column)) if getattr(row, column) else "") != (value or ""):
            setattr(row, column, secret_box.encrypt(value or ""))
            changed.add(name)
    for name in ("app_id", "verified", "deliver_mode", "enabled"):
        value = values[name]
        if value is not None and getattr(row, name) != value:
            setattr(row, name, value)
            changed.add(name)
    return changed


def remove(actor: Actor) -> None:
    """Delete the tenant's account (followers and their conversations stay)."""
    row = get_account()
    if row is None:
        raise NotFound("No WeChat account is configured")
    audit.record(actor, "wechat.remove", target_type="wechat_account", target_id=row.id, details={"app_id": row.app_id})
    db.session.delete(row)
    db.session.commit()
