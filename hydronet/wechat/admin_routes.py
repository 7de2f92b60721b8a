"""/api/tenant/wechat: a tenant's WeChat account (admins), followers, and binding codes (members)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.kernel.contracts import Deleted, contract
from hydronet.kernel.jsonio import iso
from hydronet.kernel.responses import ok
from hydronet.models import Tenant, User, WechatAccount, WechatFollower
from hydronet.wechat import accounts as wechat_accounts
from hydronet.wechat import followers as wechat_followers
from hydronet.wechat.schemas import AccountBody, BindCode, Followers, WechatAnswer

bp = Blueprint("wechat_admin", __name__, url_prefix="/api/tenant/wechat")


def _account_dict(row: WechatAccount | None, tenant: Tenant) -> dict[str, Any]:
    """The account without its secrets, with the callback URL to enter in the WeChat console."""
    path = f"/api/wechat/{tenant.slug}"
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    out: dict[str, Any] = {
        "configured": row is not None,
        "callback_path": path,
        "callback_url": base + path if base else path,
    }
    if row is not None:
        out.update(
            app_id=row.app_id,
            verified=row.verified,
            deliver_mode=row.deliver_mode,
            enabled=row.enabled,
            has_aes_key=bool(row.aes_key_encrypted),
            can_push=row.verified and row.deliver_mode == "push",
            created_at=iso(row.created_at),
        )
    return out


def _follower_dict(follower: WechatFollower, user: User | None) -> dict[str, Any]:
    """A follower and the member it speaks as."""
    bound = user is not None and not wechat_followers.is_synthetic(user)
    return {
        "id": str(follower.id),
        "openid": follower.openid,
        "subscribed": follower.subscribed,
        "messages": follower.messages,
        "bound": bound,
        "conversation_id": str(follower.conversation_id or "") or None,
        "user": {"id": str(user.id), "email": user.email, "name": user.name} if user else None,
        "created_at": iso(follower.created_at),
    }


@bp.get("")
@require("integrations:manage")
@contract(ok={200: WechatAnswer})
def get_account():
    """The tenant's account settings (never its secrets)."""
    return ok(wechat=_account_dict(wechat_accounts.get_account(), current_principal().tenant))


@bp.put("")
@require("integrations:manage")
@contract(body=AccountBody, ok={200: WechatAnswer, 201: WechatAnswer})
def put_account(body: AccountBody):
    """Configure the account: token, app_id, app_secret (kept when omitted on update), aes_key, flags."""
    values: dict[str, Any] = body.model_dump(exclude={"aes_key"})
    if "aes_key" in body.model_fields_set:
        values["aes_key"] = body.aes_key or None
    tenant = current_principal().tenant
    row, created = wechat_accounts.configure(current_actor(), tenant, **values)
    return ok(201 if created else 200, wechat=_account_dict(row, tenant))


@bp.delete("")
@require("integrations:manage")
@contract(ok={200: Deleted}, errors=(404,))
def delete_account():
    """Remove the account (followers and conversations stay)."""
    wechat_accounts.remove(current_actor())
    return ok(deleted=True)


@bp.get("/followers")
@require("integrations:manage")
@contract(ok={200: Followers})
def list_followers():
    """The account's followers and the members they speak as."""
    return ok(followers=[_follower_dict(f, u) for f, u in wechat_followers.list_followers()])


@bp.post("/bind-code")
@require("chat:write")
@contract(ok={201: BindCode}, errors=(429,))
def bind_code():
    """A one-time code (10 minutes) the caller sends to the official account to bind their WeChat."""
    code, expires_at = wechat_followers.create_bind_code(current_actor())
    ttl = int(wechat_followers.BIND_CODE_TTL.total_seconds())
    return ok(201, code=code, expires_at=iso(expires_at), expires_in_s=ttl, send=f"绑定 {code}")
