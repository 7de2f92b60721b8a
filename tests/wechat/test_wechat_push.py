"""Customer-service pushes against the fake WeChat API, and the shared access_token."""

from __future__ import annotations

import threading
import uuid

import pytest

from hydronet.kernel.store import MemoryStore as MemoryKV  # the app's in-process store satisfies the KV protocol
from hydronet.wechat import delivery
from hydronet.wechat.protocol import AccountConfig
from hydronet.wechat.push import make_client, push_or_queue, push_text

PARTS = ["(1/3)\n第一段", "(2/3)\n第二段", "(3/3)\n第三段"]


def _cfg(can_push: bool = True) -> AccountConfig:
    return AccountConfig(
        token="t",
        app_id=f"wx{uuid.uuid4().hex[:16]}",
        app_secret="s",
        verified=can_push,
        deliver_mode="push" if can_push else "next_message",
    )


def test_parts_are_pushed_in_order_with_one_token_fetch(fake_api):
    client = make_client(_cfg(), api_base_url=fake_api.base_url)
    result = push_text(client, "oUser1", PARTS)
    assert result.ok and result.sent == 3
    assert fake_api.sent_texts("oUser1") == PARTS
    assert fake_api.token_fetches == 1


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [
        (45015, "window_closed"),
        (48001, "not_permitted"),
        (45047, "too_many_pushes"),
    ],
)
def test_refusals_stop_and_the_rest_waits_for_the_next_message(fake_api, errcode, reason):
    kv, cfg = MemoryKV(), _cfg()
    client = make_client(cfg, api_base_url=fake_api.base_url)
    push_text(client, "oUser1", PARTS[:1])
    fake_api.fail_next_sends(errcode)
    result = push_or_queue(kv, client, cfg.account_key, "oUser1", PARTS[1:], can_push=True)
    assert (result.sent, result.errcode, result.reason, result.queued) == (0, errcode, reason, 2)
    assert fake_api.sent_texts() == PARTS[:1]
    assert delivery.pop_pending(kv, cfg.account_key, "oUser1") == PARTS[1:]


def test_refusal_midway_keeps_only_the_undelivered_parts(fake_api):
    client = make_client(_cfg(), api_base_url=fake_api.base_url)
    fake_api.fail_next_sends(0, 45015)
    result = push_text(client, "oUser1", PARTS)
    assert (result.sent, result.undelivered) == (1, PARTS[1:])
    assert fake_api.sent_texts() == PARTS[:1]


def test_system_busy_is_retried_once(fake_api):
    client = make_client(_cfg(), api_base_url=fake_api.base_url)
    fake_api.fail_next_sends(-1)
    assert push_text(client, "oUser1", PARTS, retry_delay_s=0).ok
    assert fake_api.sent_texts() == PARTS


def test_system_busy_twice_gives_up_for_later(fake_api):
    client = make_client(_cfg(), api_base_url=fake_api.base_url)
    fake_api.fail_next_sends(-1, -1)
    result = push_text(client, "oUser1", PARTS, retry_delay_s=0)
    assert (result.reason, result.undelivered, result.retry_later) == ("transient", PARTS, True)


def test_unrecoverable_error_is_not_queued(fake_api):
    kv, cfg = MemoryKV(), _cfg()
    client = make_client(cfg, api_base_url=fake_api.base_url)
    fake_api.fail_next_sends(43004)  # the user unsubscribed
    result = push_or_queue(kv, client, cfg.account_key, "oUser1", PARTS, can_push=True)
    assert (result.reason, result.queued) == ("error", 0)
    assert not delivery.has_pending(kv, cfg.account_key, "oUser1")


def test_unverified_account_queues_without_calling_wechat(fake_api):
    kv, cfg = MemoryKV(), _cfg(can_push=False)
    client = make_client(cfg, api_base_url=fake_api.base_url)
    result = push_or_queue(kv, client, cfg.account_key, "oUser1", PARTS, can_push=cfg.can_push)
    assert (result.reason, result.queued) == ("not_pushing", 3)
    assert fake_api.send_attempts == 0 and fake_api.token_fetches == 0


def test_revoked_token_is_refreshed_and_the_send_retried(fake_api):
    client = make_client(_cfg(), api_base_url=fake_api.base_url)
    push_text(client, "oUser1", PARTS[:1])
    fake_api.revoke_tokens()
    assert push_text(client, "oUser1", PARTS[1:]).ok
    assert fake_api.token_fetches == 2 and fake_api.sent_texts() == PARTS


def test_in_process_clients_share_one_token(fake_api):
    cfg = _cfg()
    for _ in range(3):
        push_text(make_client(cfg, api_base_url=fake_api.base_url), "oUser1", PARTS[:1])
    assert fake_api.token_fetches == 1


def test_two_workers_sharing_redis_fetch_the_token_once(fake_api, redis_client, redis_namespace):
    cfg, prefix = _cfg(), redis_namespace.rstrip(":")
    fake_api.token_delay_s = 0.3  # both workers find no token and race to fetch it
    clients = [make_client(cfg, redis_client, fake_api.base_url, session_prefix=prefix) for _ in range(2)]
    results: list[bool] = []
    threads = [threading.Thread(target=lambda c=c: results.append(push_text(c, "oUser1", ["hi"]).ok)) for c in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == [True, True]
    assert fake_api.token_fetches == 1
    assert redis_client.ttl(f"{prefix}:{cfg.app_id}_access_token") <= 7200 - 300
    third = make_client(cfg, redis_client, fake_api.base_url, session_prefix=prefix)
    assert push_text(third, "oUser1", ["again"]).ok and fake_api.token_fetches == 1
