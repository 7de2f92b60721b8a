"""Tenant admin API for WeChat accounts, secrets at rest, cross-tenant isolation, and binding by code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import WechatBindCode
from hydronet.wechat.protocol import AccountConfig
from tests.fakes.fake_dashscope import FakeReply
from tests.wechat.conftest import AES_KEY, WeChatSim, content_of, deliver, new_msg_id, new_openid, post

URL = "/api/tenant/wechat"
SECRETS = {"token": "tenantToken42", "app_secret": "s3cr3t-app-secret-value", "aes_key": AES_KEY}
ACCOUNT = {**SECRETS, "app_id": "wx11112222aaaabbbb", "verified": True, "deliver_mode": "push"}


@pytest.fixture
def alpha(two_tenants, factory, wx):
    """Tenant A with its account configured by its admin; (tenant, admin headers, WeChat simulator)."""
    tenant, admin = two_tenants["a"], two_tenants["a_users"]["admin"]
    headers = factory.headers(admin)
    assert wx.put(URL, json=ACCOUNT, headers=headers).status_code == 201
    cfg = AccountConfig(token=SECRETS["token"], app_id=ACCOUNT["app_id"], app_secret="x", aes_key=AES_KEY)
    return tenant, headers, WeChatSim(cfg)


def _raw_rows(app, sql: str) -> list[tuple]:
    with app.app_context(), all_tenants(db.session):
        return [tuple(r) for r in db.session.execute(text(sql))]


def test_config_is_returned_without_secrets(wx, alpha):
    tenant, headers, _sim = alpha
    body = wx.get(URL, headers=headers).get_json()["wechat"]
    assert body == {
        **body,
        "configured": True,
        "app_id": ACCOUNT["app_id"],
        "verified": True,
        "deliver_mode": "push",
        "enabled": True,
        "has_aes_key": True,
        "callback_path": f"/api/wechat/{tenant.slug}",
    }
    dumped = str(body)
    assert not any(secret in dumped for secret in SECRETS.values())


def test_secrets_are_encrypted_at_rest_and_kept_out_of_the_audit_log(wx, wechat_app, alpha):
    [row] = _raw_rows(
        wechat_app, "SELECT token_encrypted, app_secret_encrypted, aes_key_encrypted FROM wechat_accounts"
    )
    assert all(col.startswith("enc1:") for col in row)
    assert not any(secret in " ".join(row) for secret in SECRETS.values())
    with wechat_app.app_context(), all_tenants(db.session):
        entries = list(db.session.execute(select(AuditLog).where(AuditLog.action == "wechat.configure")).scalars())
    assert len(entries) == 1 and entries[0].details["app_id"] == ACCOUNT["app_id"]
    assert not any(secret in str(entries[0].details) for secret in SECRETS.values())


def test_update_keeps_omitted_secrets_and_can_drop_the_aes_key(wx, alpha):
    tenant, headers, sim = alpha
    resp = wx.put(URL, json={"deliver_mode": "next_message", "aes_key": None}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["wechat"]["has_aes_key"] is False
    reply = post(wx, f"/api/wechat/{tenant.slug}", sim, sim.event("subscribe", openid=new_openid()))
    assert "HydroNet" in content_of(sim, reply)  # the kept token still verifies WeChat's signature


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"app_id": "wx11112222aaaabbbb", "app_secret": "s"}, "token"),
        ({**ACCOUNT, "aes_key": "too-short"}, "aes_key"),
        ({**ACCOUNT, "token": "bad token!"}, "token"),
        ({**ACCOUNT, "deliver_mode": "carrier-pigeon"}, "deliver_mode"),
    ],
)
def test_invalid_config_is_422(wx, two_tenants, factory, body, field):
    resp = wx.put(URL, json=body, headers=factory.headers(two_tenants["a_users"]["owner"]))
    assert resp.status_code == 422 and field in resp.get_json()["error"]["fields"]


def test_members_cannot_manage_the_account(wx, two_tenants, factory):
    headers = factory.headers(two_tenants["a_users"]["member"])
    assert wx.get(URL, headers=headers).status_code == 403
    assert wx.put(URL, json=ACCOUNT, headers=headers).status_code == 403
    assert wx.get(f"{URL}/followers", headers=headers).status_code == 403


def test_another_tenants_admin_cannot_see_or_use_the_account(wx, alpha, two_tenants, factory):
    tenant_a, _headers, sim = alpha
    b_headers = factory.headers(two_tenants["b_owner"])
    body = wx.get(URL, headers=b_headers).get_json()["wechat"]
    assert body["configured"] is False and ACCOUNT["app_id"] not in str(body)
    assert wx.delete(URL, headers=b_headers).status_code == 404
    b_slug = two_tenants["b"].slug
    assert post(wx, f"/api/wechat/{b_slug}", sim, sim.event("subscribe", openid=new_openid())).status_code == 404
    assert post(wx, f"/api/wechat/{tenant_a.slug}", sim, sim.event("subscribe", openid=new_openid())).status_code == 200


def test_delete_stops_the_callback(wx, alpha):
    tenant, headers, sim = alpha
    assert wx.delete(URL, headers=headers).get_json()["deleted"] is True
    assert wx.get(URL, headers=headers).get_json()["wechat"]["configured"] is False
    assert post(wx, f"/api/wechat/{tenant.slug}", sim, sim.event("subscribe", openid=new_openid())).status_code == 404


def test_binding_code_hands_the_wechat_conversation_to_the_web_user(
    wx, wechat_app, alpha, two_tenants, factory, fake_dashscope
):
    tenant, admin_headers, sim = alpha
    path, openid = f"/api/wechat/{tenant.slug}", new_openid()
    member_headers = factory.headers(two_tenants["a_users"]["member"])
    fake_dashscope.script(FakeReply(text="绑定前的答案"))
    assert (
        deliver(wx, path, sim, sim.text("绑定前的问题", openid=openid, msg_id=new_msg_id()), mode="safe")[1]
        == "绑定前的答案"
    )
    issued = wx.post(f"{URL}/bind-code", headers=member_headers)
    assert issued.status_code == 201
    code = issued.get_json()["code"]
    assert len(code) == 6 and code not in str(_raw_rows(wechat_app, "SELECT code_hash FROM wechat_bind_codes"))
    reply = content_of(sim, post(wx, path, sim, sim.text(f"绑定 {code}", openid=openid, msg_id=new_msg_id()), "safe"))
    assert "绑定成功" in reply and two_tenants["a_users"]["member"].email in reply
    convs = wx.get("/api/chat/conversations", headers=member_headers).get_json()["conversations"]
    assert [(c["channel"], c["message_count"]) for c in convs] == [("wechat", 2)]
    again = content_of(sim, post(wx, path, sim, sim.text(code, openid=new_openid(), msg_id=new_msg_id()), "safe"))
    assert "无效" in again  # one-time
    followers = wx.get(f"{URL}/followers", headers=admin_headers).get_json()["followers"]
    [follower] = [f for f in followers if f["openid"] == openid]
    assert follower["bound"] is True and follower["user"]["email"] == two_tenants["a_users"]["member"].email
    actions = {a for (a,) in _raw_rows(wechat_app, "SELECT action FROM audit_logs")}
    assert {"wechat.follower_create", "wechat.bind", "wechat.bind_code_create"} <= actions


def test_expired_code_is_refused_and_guessing_is_throttled(wx, wechat_app, alpha, two_tenants, factory):
    tenant, _headers, sim = alpha
    path, openid = f"/api/wechat/{tenant.slug}", new_openid()
    code = wx.post(f"{URL}/bind-code", headers=factory.headers(two_tenants["a_users"]["member"])).get_json()["code"]
    with wechat_app.app_context(), all_tenants(db.session):
        db.session.execute(WechatBindCode.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    replies = [
        content_of(sim, post(wx, path, sim, sim.text(f"绑定 {code}", openid=openid, msg_id=new_msg_id())))
        for _ in range(6)
    ]
    assert all("无效" in r for r in replies[:5]) and "次数过多" in replies[5]
