"""WeChat followers as tenant members: created on first contact, one conversation each, bound by one-time code.

A follower first gets a synthetic member user (no password, so nobody can sign in as it). Binding with a
code a signed-in user fetched in the web UI re-points the follower to that user and hands them the
follower's conversation, which then shows up in their web chat list.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Literal

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from hydronet.auth.actor import Actor, RequestMeta
from hydronet.chat import conversations
from hydronet.kernel import audit
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import bind_tenant
from hydronet.models import Conversation, Message, Tenant, User, WechatBindCode, WechatFollower
from hydronet.models.tenant import SYNTHETIC_DOMAIN

CONVERSATION_TITLE = "微信对话"
BIND_CODE_TTL = timedelta(minutes=10)
BIND_CODE_DIGITS = 6
BIND_FAILURES_PER_FOLLOWER = 5  # per hour: a 6-digit code must not be guessable by trying
BIND_FAILURES_PER_TENANT = 100  # per 10 minutes, across followers
BindOutcome = Literal["bound", "already_bound", "invalid", "throttled"]


def synthetic_email(tenant_id: uuid.UUID, openid: str) -> str:
    """The placeholder address of a follower's own user (stable, reveals nothing about the openid)."""
    digest = hashlib.sha256(f"{tenant_id}:{openid}".encode()).hexdigest()[:20]
    return f"wx-{digest}@{SYNTHETIC_DOMAIN}"


def is_synthetic(user: User) -> bool:
    """True for a user created for a follower rather than a person who signs in."""
    return bool(user.is_wechat_follower)


def find(openid: str) -> WechatFollower | None:
    """The current tenant's follower with this openid."""
    return db.session.execute(select(WechatFollower).where(WechatFollower.openid == openid)).scalar_one_or_none()


def ensure(tenant: Tenant, openid: str, meta: RequestMeta) -> tuple[WechatFollower, bool]:
    """The follower, created with its member user on first contact (audited); True when created now."""
    follower = find(openid)
    if follower is not None:
        return follower, False
    try:
        user = _new_user(tenant, openid)
        follower = WechatFollower(tenant_id=tenant.id, openid=openid, user_id=user.id, subscribed=True, messages=0)
        db.session.add(follower)
        db.session.flush()
    except IntegrityError:  # the same follower's other message (or WeChat's retry) on another worker won
        db.session.rollback()
        bind_tenant(db.session, tenant.id)
        existing = find(openid)
        if existing is None:
            raise
        return existing, False
    audit.record(
        Actor(user=user, tenant=tenant, meta=meta),
        "wechat.follower_create",
        target_type="wechat_follower",
        target_id=follower.id,
        details={"openid": openid, "user_id": str(user.id)},
    )
    db.session.commit()
    return follower, True


def _new_user(tenant: Tenant, openid: str) -> User:
    """A member user for a follower (flushed, not committed)."""
    user = User(
        tenant_id=tenant.id,
        email=synthetic_email(tenant.id, openid),
        name=f"微信用户{openid[-4:]}",
        role="member",
        password_hash=None,
        is_wechat_follower=True,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_subscribed(tenant: Tenant, openid: str, subscribed: bool, meta: RequestMeta) -> WechatFollower | None:
    """Record a (re)subscription (creating the follower) or an unsubscription (of a known follower)."""
    follower = ensure(tenant, openid, meta)[0] if subscribed else find(openid)
    if follower is not None and follower.subscribed != subscribed:
        follower.subscribed = subscribed
        db.session.commit()
    return follower


def user_of(tenant: Tenant, follower: WechatFollower) -> User:
    """The follower's user; a new synthetic one if theirs was deleted."""
    user = db.session.get(User, follower.user_id) if follower.user_id else None
    if user is None:
        email = synthetic_email(tenant.id, follower.openid)
        user = db.session.execute(
            select(User).where(User.email == email, User.is_wechat_follower.is_(True))
        ).scalar_one_or_none()
        if user is not None:
            user.is_active = True  # the person it was bound to is gone: the follower speaks as itself again
        user = user or _new_user(tenant, follower.openid)
        follower.user_id, follower.conversation_id = user.id, None
        db.session.commit()
    return user


def conversation_for(tenant: Tenant, follower: WechatFollower, user: User, meta: RequestMeta) -> Conversation:
    """The follower's one ongoing conversation, started when missing (may raise QuotaExceeded)."""
    conv = db.session.get(Conversation, follower.conversation_id) if follower.conversation_id else None
    if conv is not None and conv.user_id == user.id:
        return conv
    conv = conversations.create(Actor(user=user, tenant=tenant, meta=meta), CONVERSATION_TITLE, channel="wechat")
    follower.conversation_id = conv.id
    db.session.commit()
    return conv


def count_message(follower: WechatFollower) -> None:
    """One more message received from this follower."""
    follower.messages = (follower.messages or 0) + 1
    db.session.commit()


def list_followers(limit: int = 500) -> list[tuple[WechatFollower, User | None]]:
    """The current tenant's followers with their users, newest first."""
    rows = db.session.execute(
        select(WechatFollower, User)
        .outerjoin(User, User.id == WechatFollower.user_id)
        .order_by(WechatFollower.created_at.desc())
        .limit(limit)
    ).all()
    return [(f, u) for f, u in rows]


def _code_hash(tenant_id: uuid.UUID, code: str) -> str:
    """Keyed hash of a code, so a database dump does not reveal live codes."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"wechat-bind:{tenant_id}:{code}".encode(), hashlib.sha256).hexdigest()


def create_bind_code(actor: Actor) -> tuple[str, datetime]:
    """A new one-time code for the signed-in user (their earlier codes stop working)."""
    assert actor.user is not None and actor.tenant is not None
    tenant_id, now = actor.tenant.id, utcnow()
    for _attempt in range(5):
        db.session.execute(
            delete(WechatBindCode).where(
                WechatBindCode.tenant_id == tenant_id,
                (WechatBindCode.user_id == actor.user.id) | (WechatBindCode.expires_at < now - timedelta(days=1)),
            )
        )
        code = f"{secrets.randbelow(10**BIND_CODE_DIGITS):0{BIND_CODE_DIGITS}d}"
        row = WechatBindCode(
            tenant_id=tenant_id,
            user_id=actor.user.id,
            code_hash=_code_hash(tenant_id, code),
            expires_at=now + BIND_CODE_TTL,
        )
        db.session.add(row)
        try:
            db.session.flush()
        except IntegrityError:  # the same code is live for someone else: draw again
            db.session.rollback()
            bind_tenant(db.session, tenant_id)
            continue
        audit.record(
            actor,
            "wechat.bind_code_create",
            target_type="user",
            target_id=actor.user.id,
            details={"expires_at": row.expires_at.isoformat()},
        )
        db.session.commit()
        return code, row.expires_at
    raise RuntimeError("could not draw a free binding code")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def bind(tenant: Tenant, follower: WechatFollower, code: str, meta: RequestMeta) -> tuple[BindOutcome, User | None]:
    """Re-point the follower to the user who fetched `code`, handing them the follower's conversation."""
    store = get_store()
    per_follower = f"wechat:bindfail:{tenant.id}:{follower.openid}"
    per_tenant = f"wechat:bindfail:{tenant.id}"
    if (
        int(store.get(per_follower) or 0) >= BIND_FAILURES_PER_FOLLOWER
        or int(store.get(per_tenant) or 0) >= BIND_FAILURES_PER_TENANT
    ):
        return "throttled", None
    row = db.session.execute(
        select(WechatBindCode).where(WechatBindCode.code_hash == _code_hash(tenant.id, code))
    ).scalar_one_or_none()
    target = db.session.get(User, row.user_id) if row is not None else None
    if (
        row is None
        or row.used_at is not None
        or _aware(row.expires_at) <= utcnow()
        or target is None
        or not target.is_active
    ):
        store.incr(per_follower, 1, ttl=3600)
        store.incr(per_tenant, 1, ttl=600)
        return "invalid", None
    row.used_at = utcnow()
    if follower.user_id == target.id:
        db.session.commit()
        return "already_bound", target
    previous = db.session.get(User, follower.user_id) if follower.user_id else None
    follower.user_id = target.id
    if follower.conversation_id:
        _hand_over(tenant.id, follower.conversation_id, target.id)
    if previous is not None and is_synthetic(previous):
        previous.is_active = False  # nobody speaks as it any more; it no longer counts as a member
        previous.token_version += 1
    audit.record(
        Actor(user=target, tenant=tenant, meta=meta),
        "wechat.bind",
        target_type="wechat_follower",
        target_id=follower.id,
        details={
            "openid": follower.openid,
            "user_id": str(target.id),
            "previous_user_id": str(previous.id) if previous else None,
            "conversation_id": str(follower.conversation_id or ""),
        },
    )
    db.session.commit()
    return "bound", target


def _hand_over(tenant_id: uuid.UUID, conversation_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Give a conversation and its messages to another user of the same tenant."""
    conv = db.session.get(Conversation, conversation_id)
    if conv is None:
        return
    conv.user_id = user_id
    db.session.execute(
        update(Message)
        .where(Message.tenant_id == tenant_id, Message.conversation_id == conversation_id)
        .values(user_id=user_id)
    )
