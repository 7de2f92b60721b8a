"""Callback verification, parsing and passive replies in plaintext, compatible and safe modes."""

from __future__ import annotations

import time

import pytest
import xmltodict

from hydronet.wechat.protocol import (
    AccountConfig,
    BadMessage,
    BadSignature,
    MessageTooLarge,
    StaleTimestamp,
    UnsafeXML,
    parse_incoming,
    render_reply,
    sign,
    verify_url,
)

MODES = ("plain", "compat", "safe")


def test_verify_url_returns_echostr_for_a_correct_signature(cfg):
    ts, nonce = str(int(time.time())), "42"
    assert verify_url(cfg, sign(cfg.token, ts, nonce), ts, nonce, "echo-123") == "echo-123"


@pytest.mark.parametrize("signature", ["", "0" * 40, None])
def test_verify_url_rejects_a_wrong_signature(cfg, signature):
    with pytest.raises(BadSignature):
        verify_url(cfg, signature, "1700000000", "42", "echo")


@pytest.mark.parametrize("mode", MODES)
def test_text_message_is_parsed_in_every_mode(cfg, sim, mode):
    query, body = sim.request(sim.text("管网压力？", msg_id=777), mode)
    inc = parse_incoming(cfg, query, body, now=time.time())
    assert (inc.kind, inc.text, inc.openid, inc.dedupe_key) == ("text", "管网压力？", "oUser1", "msg:777")
    assert inc.encrypted is (mode != "plain")


@pytest.mark.parametrize("mode", MODES)
def test_reply_round_trips_as_wechat_reads_it(cfg, sim, mode):
    query, body = sim.request(sim.text("hi"), mode)
    inc = parse_incoming(cfg, query, body, now=time.time())
    reply = render_reply(cfg, inc, "压力正常 <ok> & ]]> done")
    xml = sim.decrypt_reply(reply) if mode != "plain" else reply
    fields = xmltodict.parse(xml)["xml"]
    assert fields["MsgType"] == "text" and fields["ToUserName"] == "oUser1"
    assert fields["FromUserName"] == "gh_hydronet"
    assert fields["Content"].startswith("压力正常 <ok> & ]]")


def test_no_text_replies_success(cfg, sim):
    query, body = sim.request(sim.text("hi"))
    inc = parse_incoming(cfg, query, body, now=time.time())
    assert render_reply(cfg, inc, None) == "success"


def test_oversized_reply_is_cut_to_the_passive_limit(cfg, sim):
    query, body = sim.request(sim.text("hi"))
    inc = parse_incoming(cfg, query, body, now=time.time())
    content = xmltodict.parse(render_reply(cfg, inc, "很长。" * 2000))["xml"]["Content"]
    assert 0 < len(content.encode("utf-8")) <= 2048


def test_compat_mode_trusts_the_ciphertext_not_the_plaintext_copy(cfg, sim):
    query, body = sim.request(sim.text("真实内容"), "compat")
    forged = body.replace("真实内容".encode(), "伪造内容".encode())
    assert parse_incoming(cfg, query, forged, now=time.time()).text == "真实内容"


@pytest.mark.parametrize("mode", MODES)
def test_wrong_token_is_a_bad_signature(sim, mode):
    query, body = sim.request(sim.text("hi"), mode)
    other = AccountConfig(token="another-token", app_id=sim.cfg.app_id, app_secret="x", aes_key=sim.cfg.aes_key)
    with pytest.raises(BadSignature):
        parse_incoming(other, query, body, now=time.time())


def test_tampered_ciphertext_fails_msg_signature(cfg, sim):
    query, body = sim.request(sim.text("hi"), "safe")
    query["msg_signature"] = "0" * 40
    with pytest.raises(BadSignature):
        parse_incoming(cfg, query, body, now=time.time())


def test_message_for_another_appid_is_refused(cfg, sim):
    query, body = sim.request(sim.text("hi"), "safe")
    other = AccountConfig(token=cfg.token, app_id="wxother", app_secret="x", aes_key=cfg.aes_key)
    with pytest.raises(BadSignature):
        parse_incoming(other, query, body, now=time.time())


def test_encrypted_callback_without_configured_key_is_refused(sim):
    query, body = sim.request(sim.text("hi"), "safe")
    plain_only = AccountConfig(token=sim.cfg.token, app_id=sim.cfg.app_id, app_secret="x")
    with pytest.raises(BadSignature):
        parse_incoming(plain_only, query, body, now=time.time())


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_stale_or_future_timestamp_is_refused(cfg, sim, skew):
    now = time.time()
    query, body = sim.request(sim.text("hi"), timestamp=int(now) - skew)
    with pytest.raises(StaleTimestamp):
        parse_incoming(cfg, query, body, now=now)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
LAUGHS = (
    '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>'
)


@pytest.mark.parametrize("payload", [XXE, LAUGHS])
@pytest.mark.parametrize("mode", MODES)
def test_doctype_and_entities_are_refused_before_parsing(cfg, sim, payload, mode):
    query, body = sim.request(payload, mode)
    with pytest.raises(UnsafeXML):
        parse_incoming(cfg, query, body, now=time.time())


def test_doctype_after_comments_and_declaration_is_refused(cfg, sim):
    query, body = sim.request('\ufeff<?xml version="1.0"?>\n<!-- c -->\n' + LAUGHS)
    with pytest.raises(UnsafeXML):
        parse_incoming(cfg, query, body, now=time.time())


@pytest.mark.parametrize("mode", MODES)
def test_user_text_mentioning_doctype_is_accepted(cfg, sim, mode):
    query, body = sim.request(sim.text('<!DOCTYPE html><!ENTITY x "y"> 是什么？'), mode)
    assert parse_incoming(cfg, query, body, now=time.time()).text == '<!DOCTYPE html><!ENTITY x "y"> 是什么？'


def test_entity_reference_without_declaration_is_a_bad_message(cfg, sim):
    query, body = sim.request(sim.text("x").replace("<![CDATA[x]]>", "&xxe;"))
    with pytest.raises(BadMessage):
        parse_incoming(cfg, query, body, now=time.time())


def test_oversized_body_is_refused(cfg, sim):
    query, body = sim.request(sim.text("水" * 30000))
    with pytest.raises(MessageTooLarge):
        parse_incoming(cfg, query, body, now=time.time())


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<xml><MsgType>text</MsgType>",
        b"<xml>plain</xml>",
        b"<other><MsgType>text</MsgType></other>",
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
)
def test_unusable_bodies_are_bad_messages(cfg, sim, body):
    query, _ = sim.request(sim.text("hi"))
    with pytest.raises(BadMessage):
        parse_incoming(cfg, query, body, now=time.time())


def test_voice_uses_the_recognition_text(cfg, sim):
    query, body = sim.request(sim.voice("查询节点压力"))
    inc = parse_incoming(cfg, query, body, now=time.time())
    assert (inc.kind, inc.text, inc.dedupe_key) == ("voice", "查询节点压力", "msg:24000000002")


def test_voice_without_recognition_is_other(cfg, sim):
    query, body = sim.request(sim.voice(""))
    assert parse_incoming(cfg, query, body, now=time.time()).kind == "other"


@pytest.mark.parametrize(
    ("event", "key", "kind"),
    [
        ("subscribe", "", "event_subscribe"),
        ("subscribe", "qrscene_123", "event_subscribe"),
        ("unsubscribe", "", "event_unsubscribe"),
        ("CLICK", "MENU_1", "other"),
    ],
)
def test_events_are_classified_and_deduped_by_sender_and_time(cfg, sim, event, key, kind):
    query, body = sim.request(sim.event(event, openid="oFan", create_time=1700000123, key=key), "safe")
    inc = parse_incoming(cfg, query, body, now=time.time())
    assert inc.kind == kind
    assert inc.dedupe_key == "evt:oFan:1700000123"
    assert inc.create_time == 1700000123


def test_image_message_is_other(cfg, sim):
    xml = sim._xml("oUser1", None, "image", "<PicUrl>http://x/y.jpg</PicUrl><MediaId>m</MediaId><MsgId>9</MsgId>")
    query, body = sim.request(xml)
    inc = parse_incoming(cfg, query, body, now=time.time())
    assert (inc.kind, inc.dedupe_key) == ("other", "msg:9")


@pytest.mark.parametrize("kwargs", [{"token": ""}, {"deliver_mode": "email"}, {"aes_key": "short"}])
def test_account_config_fails_fast_on_bad_settings(kwargs):
    base = {"token": "t", "app_id": "wx", "app_secret": "s"}
    with pytest.raises(ValueError):
        AccountConfig(**{**base, **kwargs})


def test_account_config_hides_secrets_from_repr(cfg):
    assert cfg.token not in repr(cfg) and cfg.app_secret not in repr(cfg) and cfg.aes_key not in repr(cfg)
