"""WeChat callbacks: verify and parse them, answer text within the 5-second rule, or hand the answer to a job.

Per text message (see hydronet/wechat/delivery.py for the state machine) every attempt numbers itself
and one attempt, on whichever worker, wins the claim and decides the answer: an immediate reply
(binding, a pending part, a refusal) is published at once; a question starts the `wechat.answer` job.
Every attempt then waits for the published answer within WeChat's window and replies it, holds, or —
on the last attempt — replies a short notice and leaves delivery to the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from hydronet.auth.actor import RequestMeta
from hydronet.kernel.db import db
from hydronet.kernel.jobs import enqueue
from hydronet.kernel.store import get_store
from hydronet.models import WechatFollower
from hydronet.tenants.plans import effective_quotas
from hydronet.wechat import delivery, followers
from hydronet.wechat import replies as texts
from hydronet.wechat.accounts import ChannelAccount, resolve
from hydronet.wechat.protocol import (
    BadMessage,
    BadSignature,
    Incoming,
    StaleTimestamp,
    parse_incoming,
    render_reply,
    verify_url,
)

log = logging.getLogger(__name__)
JOB_NAME = "wechat.answer"


@dataclass(frozen=True)
class CallbackReply:
    """What the callback answers: XML, "success", or a short plain-text refusal."""

    body: str
    status: int = 200

    @property
    def content_type(self) -> str:
        """XML for message replies, plain text otherwise."""
        return "application/xml; charset=utf-8" if self.body.startswith("<") else "text/plain; charset=utf-8"


SUCCESS = CallbackReply("success")
FORBIDDEN = CallbackReply("forbidden", 403)


@dataclass(frozen=True)
class Timings:
    """The state machine's windows; WeChat's real numbers unless configured (tests shrink them)."""

    reply_budget_s: float = delivery.REPLY_BUDGET_S
    hold_until_s: float = delivery.HOLD_UNTIL_S
    poll_s: float = delivery.POLL_INTERVAL_S

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Timings:
        """WECHAT_REPLY_BUDGET_S / WECHAT_HOLD_UNTIL_S / WECHAT_POLL_S, else the defaults."""
        return cls(
            float(cfg.get("WECHAT_REPLY_BUDGET_S", cls.reply_budget_s)),
            float(cfg.get("WECHAT_HOLD_UNTIL_S", cls.hold_until_s)),
            float(cfg.get("WECHAT_POLL_S", cls.poll_s)),
        )


def verify(slug: str | None, args: Mapping[str, str]) -> CallbackReply:
    """WeChat's server-address check (GET): echo `echostr` when the signature is right."""
    account = resolve(slug, current_app.config)
    try:
        return CallbackReply(
            verify_url(
                account.config, args.get("signature"), args.get("timestamp"), args.get("nonce"), args.get("echostr")
            )
        )
    except BadSignature as exc:
        log.warning("wechat URL check refused for %s: %s", account.tenant.slug, exc)
        return FORBIDDEN


def receive(
    slug: str | None, args: Mapping[str, str], body: bytes, meta: RequestMeta, started_at: float
) -> CallbackReply:
    """A POSTed callback: 403 when unsigned or stale, else always XML or "success"."""
    account = resolve(slug, current_app.config)
    try:
        incoming = parse_incoming(account.config, args, body, time.time())
    except (BadSignature, StaleTimestamp) as exc:
        log.warning("wechat callback refused for %s: %s", account.tenant.slug, exc)
        return FORBIDDEN
    except BadMessage as exc:
        log.info("wechat callback ignored for %s: %s", account.tenant.slug, exc)
        return SUCCESS
    try:
        text = _dispatch(account, incoming, meta, started_at)
    except Exception:  # never an error page: WeChat would show the user "service unavailable"
        log.exception("wechat %s from %s failed", incoming.raw_type, account.tenant.slug)
        db.session.rollback()
        text = texts.ERROR
    return CallbackReply(render_reply(account.config, incoming, text))


def _dispatch(account: ChannelAccount, incoming: Incoming, meta: RequestMeta, started_at: float) -> str | None:
    """The reply text for one message or event (None → "success")."""
    tenant = account.tenant
    if incoming.kind == "event_subscribe":
        if delivery.claim(get_store(), account.kv_key, incoming.dedupe_key):
            followers.set_subscribed(tenant, incoming.openid, True, meta)
        return texts.welcome(tenant)
    if incoming.kind == "event_unsubscribe":
        if delivery.claim(get_store(), account.kv_key, incoming.dedupe_key):
            followers.set_subscribed(tenant, incoming.openid, False, meta)
        return None
    if incoming.kind == "other":
        return None if incoming.raw_type.startswith("event") else texts.UNSUPPORTED
    if not tenant.is_usable:
        return texts.SUSPENDED
    return _answer(account, incoming, meta, started_at)


def _answer(account: ChannelAccount, incoming: Incoming, meta: RequestMeta, started_at: float) -> str | None:
    """One attempt of a text (or recognised voice) message under the 5-second rule."""
    kv, acct, key = get_store(), account.kv_key, incoming.dedupe_key
    follower, _created = followers.ensure(account.tenant, incoming.openid, meta)
    attempt = delivery.mark_attempt(kv, acct, key, create_time=incoming.create_time, now=time.time())
    if delivery.claim(kv, acct, key):
        try:
            immediate = _decide(account, follower, incoming, meta)
        except Exception:
            log.exception("wechat message %s of %s could not be started", key, account.tenant.slug)
            db.session.rollback()
            immediate = texts.ERROR
        if immediate is not None:
            delivery.publish_answer(kv, acct, key, [immediate])
    db.session.commit()  # hand the connection back while waiting
    timings = Timings.from_config(current_app.config)
    out = delivery.await_outcome(
        kv,
        acct,
        key,
        attempt,
        started_at,
        reply_budget_s=timings.reply_budget_s,
        hold_until_s=timings.hold_until_s,
        poll_s=timings.poll_s,
    )
    if out.kind == "handed_off":
        return delivery.notice_text(account.config.can_push)
    if out.kind == "hold" or not out.parts:
        return None
    if len(out.parts) > 1 and not account.config.can_push:
        return texts.with_hint(out.parts[0], texts.MORE)  # the job queued the rest for the next message
    return out.parts[0]


def _decide(account: ChannelAccount, follower: WechatFollower, incoming: Incoming, meta: RequestMeta) -> str | None:
    """The claimant's decision: an immediate reply, or None when the answer job was started."""
    kv, tenant, text = get_store(), account.tenant, incoming.text
    followers.count_message(follower)
    code = texts.bind_code_in(text)
    if code is not None:
        outcome, user = followers.bind(tenant, follower, code, meta)
        return texts.bind_reply(outcome, user.email if user else None)
    waiting = delivery.pop_pending(kv, account.kv_key, incoming.openid, limit=1)
    if waiting:
        reply = waiting[0] + (texts.MORE if delivery.has_pending(kv, account.kv_key, incoming.openid) else "")
        if texts.is_continue(text):
            return reply
        if _rate_limited(account, incoming.openid):
            return texts.with_hint(reply, "\n\n" + texts.RATE_LIMITED)
        _start_job(account, incoming, deliver_async=True)
        return texts.with_hint(reply, texts.new_question_hint(account.config.can_push))
    if _rate_limited(account, incoming.openid):
        return texts.RATE_LIMITED
    _start_job(account, incoming, deliver_async=False)
    return None


def _rate_limited(account: ChannelAccount, openid: str) -> bool:
    """Per-follower messages per minute, at the plan's request rate."""
    limit = int(effective_quotas(account.tenant).get("requests_per_minute", 60))
    if limit < 0:
        return False
    window = int(time.time() // 60)
    used = get_store().incr(f"wechat:rate:{account.kv_key}:{openid}:{window}", 1, ttl=120)
    return used > limit


def _start_job(account: ChannelAccount, incoming: Incoming, *, deliver_async: bool) -> None:
    """Generate the answer outside the request (an RQ worker, or a thread in embedded mode)."""
    enqueue(
        JOB_NAME,
        tenant_id=str(account.tenant.id),
        source=account.source,
        account_key=account.kv_key,
        openid=incoming.openid,
        dedupe_key=incoming.dedupe_key,
        text=incoming.text,
        deliver_async=deliver_async,
    )
