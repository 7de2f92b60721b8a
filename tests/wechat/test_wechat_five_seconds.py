"""The 5-second rule end to end: dedupe across retries, late answers pushed or kept for the next message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.metrics import WECHAT_DEADLINE_MISSES
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Message
from hydronet.wechat import delivery
from hydronet.wechat.plaintext import utf8_len
from hydronet.wechat.protocol import AccountConfig
from tests.fakes.fake_dashscope import FakeReply
from tests.wechat.conftest import (
    ENV_SLUG,
    WeChatSim,
    concurrently,
    content_of,
    deliver,
    env_sim,
    new_msg_id,
    new_openid,
    post,
    wait_for,
)

PATH = "/api/wechat"
SLOW_S = 3.5  # past the scaled window: attempts at 0, 1.2, 2.4 s; the last gives up at 3.3 s
LONG_ANSWER = "".join(
    f"第{i}段：管网节点压力满足要求，最不利点位于末端支管，建议复核水泵扬程与阀门开度。" for i in range(40)
)


@pytest.fixture
def env_tenant(factory, wechat_app):
    return factory.tenant("微信水务", plan="pro", slug=ENV_SLUG)


@pytest.fixture
def quiet_tenant(factory, wx):
    """A tenant whose admin configured an unverified account (late answers wait for the next message)."""
    tenant = factory.tenant("慢回复水务", plan="pro")
    admin = factory.user(tenant, role="admin")
    body = {
        "token": "quietToken1",
        "app_id": "wx00000000quiet001",
        "app_secret": "quiet-secret",
        "verified": False,
        "deliver_mode": "next_message",
    }
    assert wx.put("/api/tenant/wechat", json=body, headers=factory.headers(admin)).status_code == 201
    cfg = AccountConfig(
        token="quietToken1", app_id="wx00000000quiet001", app_secret="quiet-secret", tenant_id=tenant.id
    )
    return tenant, WeChatSim(cfg), f"{PATH}/{tenant.slug}", cfg.account_key


def _stored_messages(app) -> list[Message]:
    with app.app_context(), all_tenants(db.session):
        return list(db.session.execute(select(Message).order_by(Message.created_at)).scalars())


def _pending(app, account_key: str, openid: str) -> bool:
    with app.app_context():
        return delivery.has_pending(get_store(), account_key, openid)


def test_concurrent_retries_of_one_msgid_run_the_model_once(wx, wechat_app, wechat_api, env_tenant, fake_dashscope):
    sim, openid, msg_id = env_sim(), new_openid(), new_msg_id()
    fake_dashscope.script(FakeReply(text="同一个答案", delay_s=0.3))
    xml = sim.text("水泵扬程怎么选？", openid=openid, msg_id=msg_id)
    clients = [wechat_app.test_client() for _ in range(3)]
    replies = concurrently(3, lambda i: content_of(sim, post(clients[i], PATH, sim, xml)))
    # the third copy counts as WeChat's last attempt: on a cold start it may reply the notice instead
    assert replies.count("同一个答案") >= 2 and set(replies) <= {"同一个答案", "正在思考，答案准备好后会自动发给您。"}
    if "同一个答案" in replies[2:]:
        assert wechat_api.sent_texts(openid) == []
    else:
        assert wait_for(lambda: wechat_api.sent_texts(openid)) == ["同一个答案"]
    assert len(fake_dashscope.requests) == 1
    assert [m.role for m in _stored_messages(wechat_app)] == ["user", "assistant"]


def test_answer_ready_by_a_retry_is_replied_on_that_retry(wx, wechat_api, env_tenant, fake_dashscope):
    sim, openid = env_sim(), new_openid()
    fake_dashscope.script(FakeReply(text="稍慢的答案", delay_s=1.5))
    attempt, text = deliver(wx, PATH, sim, sim.text("慢一点的问题", openid=openid, msg_id=new_msg_id()))
    assert (attempt, text) == (2, "稍慢的答案")
    assert len(fake_dashscope.requests) == 1 and wechat_api.sent_texts(openid) == []


def test_slow_answer_missing_the_window_is_pushed(wx, wechat_app, wechat_api, env_tenant, fake_dashscope):
    sim, openid = env_sim(), new_openid()
    misses = WECHAT_DEADLINE_MISSES._value.get()
    fake_dashscope.script(FakeReply(text="**迟到**的答案", delay_s=SLOW_S))
    attempt, text = deliver(wx, PATH, sim, sim.text("复杂的问题", openid=openid, msg_id=new_msg_id()), mode="safe")
    assert attempt == 3 and "自动" in text  # the notice; WeChat stops retrying
    assert wait_for(lambda: wechat_api.sent_texts(openid)) == ["迟到的答案"]
    assert len(fake_dashscope.requests) == 1
    assert WECHAT_DEADLINE_MISSES._value.get() == misses + 1
    assert [m.content for m in _stored_messages(wechat_app)] == ["复杂的问题", "**迟到**的答案"]


def test_unverified_account_delivers_on_the_next_message(wx, wechat_app, quiet_tenant, fake_dashscope):
    _tenant, sim, path, account_key = quiet_tenant
    openid = new_openid()
    fake_dashscope.script(FakeReply(text="下次再给的答案", delay_s=SLOW_S))
    attempt, text = deliver(wx, path, sim, sim.text("问题一", openid=openid, msg_id=new_msg_id()))
    assert attempt == 3 and "回复" in text
    wait_for(lambda: _pending(wechat_app, account_key, openid))
    assert content_of(sim, post(wx, path, sim, sim.text("1", openid=openid, msg_id=new_msg_id()))) == "下次再给的答案"
    assert len(fake_dashscope.requests) == 1 and not _pending(wechat_app, account_key, openid)


def test_long_chinese_answer_is_split_and_the_rest_pushed(wx, wechat_api, env_tenant, fake_dashscope):
    sim, openid = env_sim(), new_openid()
    fake_dashscope.script(FakeReply(text=LONG_ANSWER))
    _attempt, first = deliver(wx, PATH, sim, sim.text("详细说明", openid=openid, msg_id=new_msg_id()))
    rest = wait_for(lambda: (lambda sent: sent if len(sent) >= 2 else None)(wechat_api.sent_texts(openid)))
    parts = [first, *rest]
    n = len(parts)
    assert n == 3 and [p.split("\n", 1)[0] for p in parts] == [f"({i}/{n})" for i in range(1, n + 1)]
    assert all(utf8_len(p) <= 2048 for p in parts)
    body = [p.split("\n", 1)[1] for p in parts]
    assert "".join(body) == LONG_ANSWER and all(b.endswith("。") for b in body)  # cut at sentence ends


def test_long_answer_on_unverified_account_comes_part_by_part(wx, quiet_tenant, fake_dashscope):
    _tenant, sim, path, _key = quiet_tenant
    openid = new_openid()
    fake_dashscope.script(FakeReply(text=LONG_ANSWER))
    _attempt, first = deliver(wx, path, sim, sim.text("详细说明", openid=openid, msg_id=new_msg_id()))
    texts = [first] + [
        content_of(sim, post(wx, path, sim, sim.text("继续", openid=openid, msg_id=new_msg_id()))) for _ in range(2)
    ]
    assert [t.split("\n", 1)[0] for t in texts] == ["(1/3)", "(2/3)", "(3/3)"]
    assert "回复任意内容" in texts[0] and "回复任意内容" in texts[1] and "回复任意内容" not in texts[2]
    assert all(utf8_len(t) <= 2048 for t in texts) and len(fake_dashscope.requests) == 1


def test_push_refused_by_wechat_waits_for_the_next_message(wx, wechat_app, wechat_api, env_tenant, fake_dashscope):
    sim, openid = env_sim(), new_openid()
    fake_dashscope.script(FakeReply(text="窗口关闭时的答案", delay_s=SLOW_S), FakeReply(text="第二个答案"))
    wechat_api.fail_next_sends(45015)
    deliver(wx, PATH, sim, sim.text("问题", openid=openid, msg_id=new_msg_id()))
    key = AccountConfig(token="t", app_id="wx1234567890abcdef", app_secret="s", tenant_id=env_tenant.id).account_key
    wait_for(lambda: _pending(wechat_app, key, openid))
    reply = content_of(sim, post(wx, PATH, sim, sim.text("新问题", openid=openid, msg_id=new_msg_id())))
    assert reply.startswith("窗口关闭时的答案") and "新问题已收到" in reply
    assert wait_for(lambda: wechat_api.sent_texts(openid)) == ["第二个答案"]  # the new question, pushed


def test_quota_exceeded_is_a_polite_reply(wx, factory, wechat_app, fake_dashscope):
    factory.tenant("额度用尽", plan="free", slug=ENV_SLUG, quota_overrides={"messages_per_day": 0})
    sim = env_sim()
    _attempt, text = deliver(wx, PATH, sim, sim.text("还能问吗", openid=new_openid(), msg_id=new_msg_id()))
    assert "用完" in text and fake_dashscope.requests == []
