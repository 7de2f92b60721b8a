"""The `wechat.answer` job: run a chat turn for a follower and deliver the answer whichever way is left.

Delivery follows hydronet/wechat/delivery.py: `publish_answer` True means a passive reply carries the
first part (the job then pushes the rest, or queues it for the next message); False means the last
attempt already replied a notice, so the job pushes everything (verified accounts in push mode) or
queues it for the user's next message. Job arguments carry ids and text only — never secrets.
"""

from __future__ import annotations

import logging
import time
import uuid

from flask import current_app

from hydronet.auth.actor import RequestMeta
from hydronet.chat import turns
from hydronet.kernel.db import db
from hydronet.kernel.errors import ApiError, QuotaExceeded, ValidationError
from hydronet.kernel.jobs import job
from hydronet.kernel.metrics import WECHAT_DEADLINE_MISSES
from hydronet.kernel.store import Store, get_store
from hydronet.wechat import delivery, followers
from hydronet.wechat import replies as texts
from hydronet.wechat.accounts import ChannelAccount, Source, load
from hydronet.wechat.push import PushResult, make_client, push_or_queue

log = logging.getLogger(__name__)
JOB_META = RequestMeta(request_id="wechat-job")


@job("wechat.answer")
def answer(
    tenant_id: str,
    source: Source,
    account_key: str,
    openid: str,
    dedupe_key: str,
    text: str,
    deliver_async: bool = False,
) -> None:
    """Answer one follower message and deliver it (see module docstring)."""
    kv = get_store()
    account = load(uuid.UUID(tenant_id), source, current_app.config)
    if account is None:  # removed or disabled while the message waited: still end the attempts' wait
        log.warning("wechat account of tenant %s gone before answering %s", tenant_id, dedupe_key)
        delivery.publish_answer(kv, account_key, dedupe_key, [texts.ERROR])
        return
    try:
        reply = generate(account, openid, text)
    except Exception:
        log.exception("wechat answer %s for tenant %s failed", dedupe_key, tenant_id)
        db.session.rollback()
        reply = texts.ERROR
    deliver(account, kv, openid, dedupe_key, texts.compose_parts(reply), deliver_async=deliver_async)


def generate(account: ChannelAccount, openid: str, text: str) -> str:
    """The assistant's answer (Markdown) in the follower's conversation, or a polite refusal."""
    tenant = account.tenant
    follower, _created = followers.ensure(tenant, openid, JOB_META)
    user = followers.user_of(tenant, follower)
    if not user.is_active:
        return texts.ACCOUNT_DISABLED
    try:
        conv = followers.conversation_for(tenant, follower, user, JOB_META)
        prep = turns.prepare(user, tenant, conv, text)
    except QuotaExceeded as err:
        db.session.rollback()
        return texts.quota_reply(err)
    except ValidationError:
        db.session.rollback()
        return texts.TOO_LONG
    try:
        _user_msg, reply, _state = turns.complete(prep)
    except ApiError as err:
        log.warning("wechat turn failed for tenant %s: %s", tenant.slug, err.code)
        return texts.MODEL_ERROR
    return reply.content


def deliver(
    account: ChannelAccount, kv: Store, openid: str, dedupe_key: str, parts: list[str], *, deliver_async: bool = False
) -> None:
    """Publish for a passive reply; push or queue what a passive reply cannot carry."""
    if deliver_async:
        _push_or_queue(account, kv, openid, parts)
        return
    if delivery.publish_answer(kv, account.kv_key, dedupe_key, parts):
        if len(parts) > 1:
            if account.config.can_push:
                time.sleep(float(current_app.config["WECHAT_REST_DELAY_S"]))
            _push_or_queue(account, kv, openid, parts[1:])
        return
    WECHAT_DEADLINE_MISSES.inc()
    _push_or_queue(account, kv, openid, parts)


def _push_or_queue(account: ChannelAccount, kv: Store, openid: str, parts: list[str]) -> PushResult:
    """Customer-service push when the account may push; whatever is left waits for the next message."""
    client = None
    if account.config.can_push:
        store = get_store()
        redis_client = getattr(store, "client", None) if store.kind == "redis" else None
        client = make_client(account.config, redis_client, account.api_base_url, session_prefix=account.session_prefix)
    result = push_or_queue(kv, client, account.kv_key, openid, parts, can_push=account.config.can_push)
    if not result.ok:
        log.info(
            "wechat answer for %s: %d pushed, %d queued, %d lost (%s, errcode %s)",
            account.tenant.slug,
            result.sent,
            result.queued,
            len(result.undelivered) - result.queued,
            result.reason,
            result.errcode,
        )
    return result
