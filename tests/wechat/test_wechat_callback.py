"""The WeChat callback through the Flask client: URL check, signatures, the three modes, events, limits."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import User, WechatFollower
from hydronet.wechat.protocol import sign
from tests.fakes.fake_dashscope import FakeReply
from tests.wechat.conftest import ENV_SLUG, content_of, deliver, env_sim, new_msg_id, new_openid, post, reply_of

PATH = "/api/wechat"


@pytest.fixture
def env_tenant(factory, wechat_app):
    """The tenant the environment-configured account serves."""
    return factory.tenant("微信水务", plan="pro", slug=ENV_SLUG)


def _rows(app, model):
    with app.app_context(), all_tenants(db.session):
        return list(db.session.execute(select(model)).scalars())


def test_url_verification_echoes_echostr(wx, env_tenant):
    ts, nonce = str(int(time.time())), "8812"
    resp = wx.get(
        PATH,
        query_string={
            "signature": sign("hydroToken2025", ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "echo-5837",
        },
    )
    assert (resp.status_code, resp.get_data(as_text=True)) == (200, "echo-5837")


@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_signature_is_403_plain_text(wx, env_tenant, method):
    ts = str(int(time.time()))
    query = {"signature": "0" * 40, "timestamp": ts, "nonce": "1", "echostr": "x"}
    resp = getattr(wx, method)(PATH, query_string=query, data=b"<xml></xml>")
    assert resp.status_code == 403
    assert resp.content_type.startswith("text/plain") and "<html" not in resp.get_data(as_text=True).lower()


def test_stale_timestamp_is_refused(wx, env_tenant):
    sim = env_sim()
    resp = post(wx, PATH, sim, sim.text("你好", openid=new_openid()), timestamp=int(time.time()) - 3600)
    assert resp.status_code == 403


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
def test_text_is_answered_in_every_mode(wx, env_tenant, fake_dashscope, mode):
    sim, openid = env_sim(), new_openid()
    fake_dashscope.script(FakeReply(text="## 压力分析\n\n节点 **J-12** 的压力为 *28 m*。"))
    resp = post(wx, PATH, sim, sim.text("J-12 的压力是多少？", openid=openid, msg_id=new_msg_id()), mode=mode)
    assert resp.status_code == 200 and resp.content_type.startswith("application/xml")
    if mode == "safe":
        assert "<Encrypt>" in resp.get_data(as_text=True)
    reply = reply_of(sim, resp)
    assert reply["ToUserName"] == openid and reply["MsgType"] == "text"
    assert reply["Content"] == "压力分析\n\n节点 J-12 的压力为 28 m。"  # Markdown made readable


def test_voice_recognition_is_treated_as_text(wx, env_tenant, fake_dashscope):
    sim = env_sim()
    attempt, text = deliver(wx, PATH, sim, sim.voice("管网漏损怎么分析", openid=new_openid(), msg_id=new_msg_id()))
    assert "管网漏损怎么分析" in text  # the fake model echoes the question it was sent
    assert fake_dashscope.requests[-1].messages[-1]["content"] == "管网漏损怎么分析"


def test_subscribe_welcomes_creates_the_member_and_audits(wx, wechat_app, env_tenant):
    sim, openid = env_sim(), new_openid()
    xml = sim.event("subscribe", openid=openid)
    welcome = content_of(sim, post(wx, PATH, sim, xml))
    assert "HydroNet" in welcome and "绑定" in welcome
    assert content_of(sim, post(wx, PATH, sim, xml)) == welcome  # WeChat's retry of the same event
    [follower] = _rows(wechat_app, WechatFollower)
    users = [u for u in _rows(wechat_app, User) if u.id == follower.user_id]
    assert users[0].role == "member" and users[0].password_hash is None
    assert users[0].email.endswith("@wechat.hydronet.local") and openid not in users[0].email
    actions = [a.action for a in _rows(wechat_app, AuditLog)]
    assert actions.count("wechat.follower_create") == 1


def test_unsubscribe_is_recorded(wx, wechat_app, env_tenant):
    sim, openid = env_sim(), new_openid()
    post(wx, PATH, sim, sim.event("subscribe", openid=openid))
    resp = post(wx, PATH, sim, sim.event("unsubscribe", openid=openid, create_time=int(time.time()) + 1))
    assert resp.get_data(as_text=True) == "success"
    assert [f.subscribed for f in _rows(wechat_app, WechatFollower)] == [False]


def test_other_messages_get_a_polite_text_and_other_events_success(wx, env_tenant, fake_dashscope):
    sim, openid = env_sim(), new_openid()
    image = sim._xml(openid, None, "image", f"<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MsgId>{new_msg_id()}</MsgId>")
    assert "文字" in content_of(sim, post(wx, PATH, sim, image))
    assert post(wx, PATH, sim, sim.event("VIEW", openid=openid)).get_data(as_text=True) == "success"
    assert fake_dashscope.requests == []


def test_body_limit(wx, env_tenant):
    sim = env_sim()
    big = sim.text("水" * 30_000, openid=new_openid())  # ~90 KB: refused before anything parses it
    for resp in (post(wx, PATH, sim, big), wx.post(PATH, data=b"x" * (70 * 1024), content_type="text/xml")):
        assert resp.status_code == 413 and "<html" not in resp.get_data(as_text=True).lower()


def test_xml_with_doctype_is_ignored(wx, env_tenant, fake_dashscope):
    sim = env_sim()
    xml = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + sim.text("&e;", openid=new_openid())
    assert post(wx, PATH, sim, xml).get_data(as_text=True) == "success"
    assert fake_dashscope.requests == []


def test_env_endpoint_is_404_json_when_disabled(client, factory):
    factory.tenant("Demo", slug="demo")
    resp = client.get(PATH, query_string={"echostr": "x"})
    assert resp.status_code == 404 and resp.get_json()["success"] is False


def test_unknown_slug_is_404_json(wx):
    resp = wx.post(f"{PATH}/no-such-tenant", data=b"<xml/>")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_model_failure_is_a_polite_text_not_an_error(wx, env_tenant, fake_dashscope):
    from tests.fakes.fake_dashscope import FakeError

    sim = env_sim()
    fake_dashscope.script(FakeError(status=400, code="DataInspectionFailed"))
    _attempt, text = deliver(wx, PATH, sim, sim.text("问题", openid=new_openid(), msg_id=new_msg_id()))
    assert text and "抱歉" in text
