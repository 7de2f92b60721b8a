"""WeChat test fixtures and helpers: a WeChat-server simulator, real Redis, the fake WeChat API, and an app with a
WeChat account (the 5-second rule scaled down: reply by 0.9 s, hold to 1.2 s, so the suite stays fast)."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from tests.support.constants import QWEN_TEST_KEY  # noqa: E402

REDIS_URL = os.environ.get("WECHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ"


class WeChatSim:
    """Builds callbacks exactly as WeChat's servers sign and encrypt them."""

    def __init__(self, cfg: AccountConfig, to_user: str = "gh_hydronet") -> None:
        self.cfg = cfg
        self.to_user = to_user

    def text(
        self, content: str, openid: str = "oUser1", msg_id: int = 24000000001, create_time: int | None = None
    ) -> str:
        """A text message XML."""
        return self._xml(
            openid, create_time, "text", f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        )

    def voice(self, recognition: str, openid: str = "oUser1", msg_id: int = 24000000002) -> str:
        """A voice message XML with speech recognition."""
        return self._xml(
            openid,
            None,
            "voice",
            "<MediaId><![CDATA[media1]]></MediaId><Format><![CDATA[amr]]>"
            f"</Format><Recognition><![CDATA[{recognition}]]></Recognition><MsgId>{msg_id}</MsgId>",
        )

    def event(self, event: str, openid: str = "oUser1", create_time: int | None = None, key: str = "") -> str:
        """An event XML (no MsgId)."""
        return self._xml(
            openid, create_time, "event", f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        )

    def _xml(self, openid: str, create_time: int | None, msg_type: str, extra: str) -> str:
        ct = create_time if create_time is not None else int(time.time())
        return (
            f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{ct}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"{extra}</xml>"
        )

    def request(
        self, xml: str, mode: str = "plain", timestamp: int | None = None, nonce: str = "1320562132"
    ) -> tuple[dict[str, str], bytes]:
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
    return AccountConfig(
        token="hydroToken2025",
        app_id="wx1234567890abcdef",
        app_secret="secret-1",
        aes_key=AES_KEY,
        tenant_slug="demo",
        verified=True,
        deliver_mode="push",
    )


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


# -- the app side: an app with a WeChat account, and helpers for the test_wechat_* modules --

ENV_SLUG = "wx-env"
ENV_TOKEN, ENV_APP_ID, ENV_SECRET = "hydroToken2025", "wx1234567890abcdef", "env-app-secret-0001"
TIMINGS = {"WECHAT_REPLY_BUDGET_S": 0.9, "WECHAT_HOLD_UNTIL_S": 1.2, "WECHAT_POLL_S": 0.02, "WECHAT_REST_DELAY_S": 0.05}
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def wechat_api():
    """The fake WeChat API (token + customer-service send), one per session."""
    if "api" not in _SHARED:
        _SHARED["api"] = FakeWeChatAPI().start()
    return _SHARED["api"]


@pytest.fixture(scope="session")
def wechat_app(backends, app, fake_dashscope, wechat_api):
    """The app with an environment-configured, verified (push) account serving tenant `wx-env`."""
    if "app" not in _SHARED:
        from hydronet.web.app import create_app

        wapp = create_app(
            backends.app_config(
                ALIYUN_API_KEY=QWEN_TEST_KEY,
                DASHSCOPE_HTTP_BASE_URL=fake_dashscope.url,
                LLM_MAX_RETRIES=0,
                LLM_READ_TIMEOUT_S=10,
                LLM_TOTAL_TIMEOUT_S=20,
                WECHAT_ENABLED=True,
                WECHAT_TOKEN=ENV_TOKEN,
                WECHAT_APP_ID=ENV_APP_ID,
                WECHAT_APP_SECRET=ENV_SECRET,
                WECHAT_AES_KEY=AES_KEY,
                WECHAT_TENANT_SLUG=ENV_SLUG,
                WECHAT_VERIFIED=True,
                WECHAT_API_BASE_URL=wechat_api.base_url,
                **TIMINGS,
            )
        )
        backends.apps.append(wapp)
        from hydronet.llm.tokens import count_tokens

        count_tokens("预热")  # load the tokenizer (~1 s, once per process) outside the scaled 0.9 s window
        _SHARED["app"] = wapp
    return _SHARED["app"]


@pytest.fixture
def wx(wechat_app, fake_dashscope):
    """A test client of the WeChat app; the fake model's script is reset per test."""
    fake_dashscope.clear()
    yield wechat_app.test_client()
    time.sleep(0.05)  # let a finished job's thread leave the database before the tables are emptied
    fake_dashscope.clear()


def env_sim() -> WeChatSim:
    """WeChat's side of the environment-configured account."""
    return WeChatSim(AccountConfig(token=ENV_TOKEN, app_id=ENV_APP_ID, app_secret=ENV_SECRET, aes_key=AES_KEY))


def new_openid() -> str:
    """A fresh follower id (the fake WeChat API is shared by the whole session)."""
    return "o" + uuid.uuid4().hex[:27]


def new_msg_id() -> int:
    """A fresh MsgId."""
    return uuid.uuid4().int % 10**18


def post(client, path: str, sim: WeChatSim, xml: str, mode: str = "plain", **kw: Any):
    """One signed (and in 'safe'/'compat' mode encrypted) callback, as WeChat sends it."""
    query, body = sim.request(xml, mode=mode, **kw)
    return client.post(path, query_string=query, data=body, content_type="text/xml")


def reply_of(sim: WeChatSim, resp) -> dict[str, str] | None:
    """The reply XML's fields (decrypted when encrypted), or None for "success"."""
    body = resp.get_data(as_text=True)
    if body == "success":
        return None
    data = xmltodict.parse(body)["xml"]
    if "Encrypt" in data:
        data = xmltodict.parse(sim.decrypt_reply(body))["xml"]
    return data


def content_of(sim: WeChatSim, resp) -> str | None:
    """The text a user would see, or None."""
    data = reply_of(sim, resp)
    return None if data is None else data.get("Content")


def deliver(client, path: str, sim: WeChatSim, xml: str, mode: str = "plain") -> tuple[int, str | None]:
    """Send like WeChat: up to 3 attempts of the same message until one is answered; (attempt, text)."""
    for attempt in (1, 2, 3):
        resp = post(client, path, sim, xml, mode)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        text = content_of(sim, resp)
        if text is not None:
            return attempt, text
    return 3, None


def concurrently(n: int, fn) -> list[Any]:
    """Run fn(i) on n threads at once; the results in order."""
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join(timeout=30) for t in threads]
    return results


def wait_for(predicate, timeout_s: float = 10.0) -> Any:
    """Poll until predicate() is truthy; its value (fails on timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
