"""Shared fixtures for the test_wechat_* modules (no tests here): an app with a WeChat account, WeChat's side.

The app talks to the fake DashScope server and to a fake WeChat API on loopback, with the 5-second
rule scaled down (reply by 0.9 s, hold to 1.2 s) so the whole WeChat suite stays fast.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import xmltodict

from hydronet.wechat.protocol import AccountConfig
from tests.conftest import QWEN_TEST_KEY
from tests.fakes.fake_wechat_api import FakeWeChatAPI
from tests.wechat_unit.conftest import AES_KEY, WeChatSim

ENV_SLUG = "wx-env"
ENV_TOKEN, ENV_APP_ID, ENV_SECRET = "hydroToken2025", "wx1234567890abcdef", "env-app-secret-0001"
TIMINGS = {"WECHAT_REPLY_BUDGET_S": 0.9, "WECHAT_HOLD_UNTIL_S": 1.2, "WECHAT_POLL_S": 0.02,
           "WECHAT_REST_DELAY_S": 0.05}
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

        wapp = create_app(backends.app_config(
            ALIYUN_API_KEY=QWEN_TEST_KEY, DASHSCOPE_HTTP_BASE_URL=fake_dashscope.url, LLM_MAX_RETRIES=0,
            LLM_READ_TIMEOUT_S=10, LLM_TOTAL_TIMEOUT_S=20, WECHAT_ENABLED=True, WECHAT_TOKEN=ENV_TOKEN,
            WECHAT_APP_ID=ENV_APP_ID, WECHAT_APP_SECRET=ENV_SECRET, WECHAT_AES_KEY=AES_KEY,
            WECHAT_TENANT_SLUG=ENV_SLUG, WECHAT_VERIFIED=True, WECHAT_API_BASE_URL=wechat_api.base_url, **TIMINGS))
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
