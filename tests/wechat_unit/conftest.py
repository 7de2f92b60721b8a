"""Fixtures for the WeChat helpers: accounts, a WeChat-server simulator, real Redis, the fake API."""
from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import xmltodict
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tests.fakes` must import however pytest is started
    sys.path.insert(0, str(ROOT))

from hydronet.wechat.kv import RedisKV  # noqa: E402
from hydronet.wechat.protocol import AccountConfig, sign  # noqa: E402
from tests.fakes.fake_wechat_api import FakeWeChatAPI  # noqa: E402

REDIS_URL = os.environ.get("WECHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ"


class WeChatSim:
    """Builds callbacks exactly as WeChat's servers sign and encrypt them."""

    def __init__(self, cfg: AccountConfig, to_user: str = "gh_hydronet") -> None:
        self.cfg = cfg
        self.to_user = to_user

    def text(self, content: str, openid: str = "oUser1", msg_id: int = 24000000001,
             create_time: int | None = None) -> str:
        """A text message XML."""
        return self._xml(openid, create_time, "text",
                         f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>")

    def voice(self, recognition: str, openid: str = "oUser1", msg_id: int = 24000000002) -> str:
        """A voice message XML with speech recognition."""
        return self._xml(openid, None, "voice", "<MediaId><![CDATA[media1]]></MediaId><Format><![CDATA[amr]]>"
                         f"</Format><Recognition><![CDATA[{recognition}]]></Recognition><MsgId>{msg_id}</MsgId>")

    def event(self, event: str, openid: str = "oUser1", create_time: int | None = None, key: str = "") -> str:
        """An event XML (no MsgId)."""
        return self._xml(openid, create_time, "event",
                         f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>")

    def _xml(self, openid: str, create_time: int | None, msg_type: str, extra: str) -> str:
        ct = create_time if create_time is not None else int(time.time())
        return (f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
                f"</FromUserName><CreateTime>{ct}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
                f"{extra}</xml>")

    def request(self, xml: str, mode: str = "plain", timestamp: int | None = None,
                nonce: str = "1320562132") -> tuple[dict[str, str], bytes]:
        """(query args, body) of the POST WeChat would send in `mode`."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        query = {"signature": sign(self.cfg.token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "oUser1"}
        if mode == "plain":
            return query, xml.encode("utf-8")
        crypto = WeChatCrypto(self.cfg.token, self.cfg.aes_key, self.cfg.app_id)
        envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, ts))["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        encrypt = f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt>"
        if mode == "safe":
            body = f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName>{encrypt}</xml>"
        else:  # compatible mode: plaintext fields and the ciphertext side by side
            body = xml.replace("</xml>", encrypt + "</xml>")
        return query, body.encode("utf-8")

    def decrypt_reply(self, reply: str) -> str:
        """Decrypt a safe-mode reply as WeChat would (checks its MsgSignature)."""
        env = xmltodict.parse(reply)["xml"]
        crypto = WeChatCrypto(self.cfg.token, self.cfg.aes_key, self.cfg.app_id)
        return crypto.decrypt_message(reply, env["MsgSignature"], env["TimeStamp"], env["Nonce"])


@pytest.fixture
def cfg() -> AccountConfig:
    """An account with safe-mode key configured."""
    return AccountConfig(token="hydroToken2025", app_id="wx1234567890abcdef", app_secret="secret-1",
                         aes_key=AES_KEY, tenant_slug="demo", verified=True, deliver_mode="push")


@pytest.fixture
def sim(cfg: AccountConfig) -> WeChatSim:
    """WeChat's side of the callback protocol."""
    return WeChatSim(cfg)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A real Redis on db 15; skipped locally when absent, fatal under CI."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_namespace(redis_client: redis.Redis) -> Iterator[str]:
    """A unique key prefix; only keys under it are deleted afterwards."""
    ns = f"hydronet-test:wechat:{uuid.uuid4().hex[:12]}:"
    yield ns
    keys = list(redis_client.scan_iter(match=f"{ns}*", count=500))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def two_workers(redis_client: redis.Redis, redis_namespace: str) -> Iterator[tuple[RedisKV, RedisKV]]:
    """Two KV views on separate Redis connections, like two gunicorn workers."""
    a = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    b = redis.Redis.from_url(REDIS_URL)
    yield RedisKV(a, redis_namespace), RedisKV(b, redis_namespace)
    a.close()
    b.close()


@pytest.fixture
def fake_api() -> Iterator[FakeWeChatAPI]:
    """The fake WeChat API on an ephemeral loopback port."""
    with FakeWeChatAPI() as api:
        yield api
