"""Two app servers (the real app under gunicorn_config.py) behind one nginx behave as one.

Both servers share the session's PostgreSQL database and Redis (tests/conftest.py
`backends`) and talk to the session's fake DashScope server, so the assistant
is "Qwen" with answers whose pace the test scripts.  Requests go through nginx
(the guide's flow, streaming, /metrics from outside) or straight to one
server's port when it matters which server answers.
"""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from deploy_support import Gunicorn, Nginx, deploy_app, read_stream, request
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from hydronet.auth.accounts import LOCK_THRESHOLD
from hydronet.config import Settings
from tests.fakes.fake_dashscope import FakeReply
from tests.support.constants import QWEN_TEST_KEY
from tests.support.factories import PASSWORD

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(180)]  # the first test boots the stack

GUIDE_MESSAGE = "你好，帮我分析一下水网系统"
METRICS_TOKEN = "scrape-" + uuid.uuid4().hex
JSON = {"Content-Type": "application/json"}


@dataclass
class Stack:
    nginx: Nginx
    a: Gunicorn
    b: Gunicorn

    def call(self, port: int, method: str, path: str, token: str | None = None, payload=None, **headers: str):
        """A JSON request to one port (nginx's or an app server's)."""
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(payload).encode() if payload is not None else None
        return request(port, method, path, headers={**JSON, **headers} if body else headers, body=body, timeout=30)


@pytest.fixture(scope="module")
def stack(app, app_env, module_processes, fake_dashscope) -> Stack:
    """app_saas:app on two gunicorns (two gevent workers each) behind the rendered nginx.

    Depends on `app` so tests/conftest.py empties the tables and Redis after each test.
    """
    env = {
        **app_env,
        "ALIYUN_API_KEY": QWEN_TEST_KEY,
        "DASHSCOPE_HTTP_BASE_URL": fake_dashscope.url,
        "METRICS_TOKEN": METRICS_TOKEN,
        "GUNICORN_WORKERS": "2",
    }
    nginx, (a, b) = deploy_app(module_processes, env, migrate=False)  # `app` migrated; migrate.sh: test_deploy_app
    return Stack(nginx, a, b)


@pytest.fixture(autouse=True)
def _fresh_fake(fake_dashscope):
    fake_dashscope.clear()
    yield
    fake_dashscope.clear()


def register(stack: Stack, port: int) -> tuple[str, dict]:
    """A new tenant owner; returns (email, the register response body)."""
    email = f"ops-{uuid.uuid4().hex[:10]}@waterworks.cn"
    resp = stack.call(
        port,
        "POST",
        "/api/auth/register",
        payload={"email": email, "password": PASSWORD, "tenant_name": "两台服务器水司"},
    )
    assert resp.status == 201, resp.body
    return email, resp.json()


def sse_events(data: bytes) -> list[dict]:
    return [json.loads(line[6:]) for line in data.decode().splitlines() if line.startswith("data: ")]


def test_guide_curl_flow_through_nginx(stack):
    port = stack.nginx.port
    email, registered = register(stack, port)
    assert registered["success"] is True and registered["access_token"] and registered["tenant"]["id"]
    login = stack.call(port, "POST", "/api/auth/login", payload={"email": email, "password": PASSWORD})
    assert login.status == 200 and login.json()["success"] is True
    token = login.json()["access_token"]

    info = stack.call(port, "GET", "/api/tenant/info", token)
    assert info.status == 200 and info.json()["tenant"]["name"] == "两台服务器水司"
    usage = stack.call(port, "GET", "/api/tenant/usage", token)
    assert usage.status == 200 and "messages_per_day" in usage.json()["usage"]["quotas"]
    conv = stack.call(port, "POST", "/api/chat/conversations", token, {"title": "水网分析"})
    assert conv.status == 201
    cid = conv.json()["conversation"]["id"]
    turn = stack.call(port, "POST", f"/api/chat/conversations/{cid}/messages", token, {"message": GUIDE_MESSAGE})
    assert turn.status == 200, turn.body
    assert turn.json()["reply"]["role"] == "assistant" and GUIDE_MESSAGE in turn.json()["reply"]["content"]
    history = stack.call(port, "GET", f"/api/chat/conversations/{cid}/messages", token)
    assert [m["role"] for m in history.json()["messages"]] == ["user", "assistant"]

    changed = stack.call(
        port,
        "PUT",
        "/api/auth/change-password",
        token,
        {"old_password": PASSWORD, "new_password": "N3w-Pipe-Passw0rd!"},
    )
    assert changed.status == 200 and changed.json()["success"] is True
    old = stack.call(port, "POST", "/api/auth/login", payload={"email": email, "password": PASSWORD})
    new = stack.call(port, "POST", "/api/auth/login", payload={"email": email, "password": "N3w-Pipe-Passw0rd!"})
    assert (old.status, new.status) == (401, 200)
    assert {f"127.0.0.1:{app.port}" for app in (stack.a, stack.b)} <= set(stack.nginx.upstreams_used())


def test_logout_on_one_server_revokes_on_the_other(stack):
    _, session = register(stack, stack.a.port)
    token, refresh = session["access_token"], session["refresh_token"]
    assert stack.call(stack.b.port, "GET", "/api/auth/me", token).status == 200
    out = stack.call(stack.a.port, "POST", "/api/auth/logout", token, {"refresh_token": refresh})
    assert out.status == 200
    for port in (stack.b.port, stack.a.port):
        assert stack.call(port, "GET", "/api/auth/me", token).status == 401
        assert stack.call(port, "POST", "/api/auth/refresh", payload={"refresh_token": refresh}).status == 401


def test_a_daily_quota_holds_across_both_servers(stack, factory):
    tenant = factory.tenant("配额水司", plan="basic", quota_overrides={"messages_per_day": 3})
    user = factory.user(tenant, role="member")
    token = stack.call(
        stack.a.port, "POST", "/api/auth/login", payload={"email": user.email, "password": PASSWORD}
    ).json()["access_token"]
    cid = stack.call(stack.b.port, "POST", "/api/chat/conversations", token, {}).json()["conversation"]["id"]
    answers = [
        stack.call(port, "POST", f"/api/chat/conversations/{cid}/messages", token, {"message": f"第{i}条"})
        for i, port in enumerate([stack.a.port, stack.b.port] * 4)
    ]
    assert [r.status for r in answers].count(200) == 3, [r.status for r in answers]
    refused = [r.json()["error"] for r in answers if r.status != 200]
    assert {(e["code"], e["quota"], e["limit"]) for e in refused} == {("quota_exceeded", "messages_per_day", 3)}


def test_a_suspension_and_a_plan_change_on_one_server_apply_on_the_other_at_once(stack, factory):
    """Both servers cache the caller's user and tenant in Redis; a change on A invalidates them for B."""
    platform = factory.tenant("平台", plan="enterprise", slug=f"platform-{uuid.uuid4().hex[:6]}", is_platform=True)
    admin = factory.user(platform, role="owner", platform_admin=True)
    tenant = factory.tenant("缓存水司", plan="basic")
    user = factory.user(tenant, role="owner")

    def login(port, who):
        return stack.call(port, "POST", "/api/auth/login", payload={"email": who.email, "password": PASSWORD}).json()[
            "access_token"
        ]

    token, admin_token = login(stack.b.port, user), login(stack.a.port, admin)
    for _ in range(3):  # B has the user and tenant cached now
        info = stack.call(stack.b.port, "GET", "/api/tenant/info", token)
        assert info.status == 200 and info.json()["tenant"]["plan"] == "basic"
    assert (
        stack.call(stack.a.port, "PATCH", f"/api/admin/tenants/{tenant.id}", admin_token, {"plan": "pro"}).status == 200
    )
    assert stack.call(stack.b.port, "GET", "/api/tenant/info", token).json()["tenant"]["plan"] == "pro"
    suspended = stack.call(
        stack.a.port, "PATCH", f"/api/admin/tenants/{tenant.id}", admin_token, {"status": "suspended", "reason": "欠费"}
    )
    assert suspended.status == 200
    refused = stack.call(stack.b.port, "GET", "/api/tenant/info", token)
    assert refused.status == 403 and refused.json()["error"]["code"] == "tenant_suspended"


def test_failed_sign_ins_count_once_on_both_servers_together(stack, app_env):
    """Both servers draw on one set of sign-in counters in Redis, one hit per failure.

    One account from one address: after LOCK_THRESHOLD failures the backoff answers login_locked on
    either server (before RATELIMIT_LOGIN, per account and address, can be reached), and that
    pair's limit window holds exactly one hit per failure.  One address trying many accounts:
    RATELIMIT_LOGIN_ADDRESS refuses the first failure past it, whichever server answers it.
    """
    email, _ = register(stack, stack.a.port)
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"  # a client of its own (ProxyFix)
    answers = [
        stack.call(
            port,
            "POST",
            "/api/auth/login",
            payload={"email": email, "password": "wrong-" + PASSWORD},
            **{"X-Forwarded-For": address},
        )
        for port in [stack.a.port, stack.b.port] * 4
    ]
    seen = [(r.status, r.json()["error"]["code"]) for r in answers]
    assert seen == [(401, "invalid_credentials")] * LOCK_THRESHOLD + [(429, "login_locked")] * 3, seen
    assert int(answers[-1].headers["Retry-After"]) >= 1
    shared = redis.Redis.from_url(app_env["REDIS_URL"])
    windows = shared.keys(f"*acct:{email}|ip:{address}*")
    assert len(windows) == 1 and shared.llen(windows[0]) == LOCK_THRESHOLD

    per_address = int(Settings.RATELIMIT_LOGIN_ADDRESS.split()[0])  # the servers run with the default
    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    answers = [
        stack.call(
            port,
            "POST",
            "/api/auth/login",
            payload={"email": f"nobody-{i}@waterworks.cn", "password": "wrong-" + PASSWORD},
            **{"X-Forwarded-For": address},
        )
        for i, port in enumerate([(stack.a.port, stack.b.port)[n % 2] for n in range(per_address + 2)])
    ]
    statuses = [r.status for r in answers]
    assert statuses == [401] * per_address + [429] * 2, statuses
    assert answers[-1].json()["error"]["code"] == "rate_limited" and "Retry-After" in answers[-1].headers


def test_a_streamed_answer_arrives_through_nginx_chunk_by_chunk(stack, fake_dashscope):
    _, session = register(stack, stack.nginx.port)
    token = session["access_token"]
    cid = stack.call(stack.nginx.port, "POST", "/api/chat/conversations", token, {}).json()["conversation"]["id"]
    fake_dashscope.script(
        FakeReply(text="管网压力正常。节点流量平稳。水塔水位合适。无需调整。分析完毕。", chunks=5, chunk_interval_s=0.3)
    )
    start, arrivals, data = read_stream(
        stack.nginx.port,
        "POST",
        f"/api/chat/conversations/{cid}/messages",
        timeout=30,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"message": GUIDE_MESSAGE, "stream": True}).encode(),
    )
    head = data.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert "content-type: text/event-stream" in head and "content-encoding" not in head
    events = sse_events(data.split(b"\r\n\r\n", 1)[1])
    assert len(events) == len(arrivals)
    deltas = [at for at, event in zip(arrivals, events, strict=True) if event["type"] == "delta"]
    assert len(deltas) == 5 and events[-1]["type"] == "done", events
    # The model produced the last chunk >= 1.2 s after the first; unbuffered, the first is already here.
    assert deltas[-1] - deltas[0] >= 0.8, [round(t - start, 2) for t in deltas]
    assert arrivals[-1] - deltas[0] >= 0.8


def health_counts(directory: Path) -> dict[str, float]:
    """Per worker file: /api/health requests recorded in it."""
    counts = {}
    for path in directory.glob("histogram_*.db"):
        total = 0.0
        for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(path)):
            _metric, name, labels, *_ = json.loads(key)
            if name.endswith("_bucket") and labels.get("endpoint") == "/api/health":
                total += value  # buckets are stored per bucket (not cumulative): their sum is the count
        counts[path.name] = total
    return counts


def scraped_health(port: int, **headers: str) -> float:
    resp = request(port, "GET", "/metrics", headers=headers)
    assert resp.status == 200, resp.body[:200]
    for family in text_string_to_metric_families(resp.body.decode()):
        for s in family.samples:
            if s.name == "hydronet_http_request_duration_seconds_count" and s.labels == {
                "endpoint": "/api/health",
                "method": "GET",
                "status": "200",
            }:
                return s.value
    return 0.0


def metrics_dir(server: Gunicorn) -> Path:
    found = re.findall(r"prometheus multiprocess dir: (\S+)", server.log.read_text())
    assert found, server.log.read_text()[-2000:]
    return Path(found[-1])


def test_metrics_add_up_all_workers_of_a_server(stack):
    directory = metrics_dir(stack.a)
    before_files, before = health_counts(directory), scraped_health(stack.a.port)
    sent = 0
    with ThreadPoolExecutor(max_workers=10) as pool:
        for _ in range(6):  # until both workers have served some (the kernel picks the accepting worker)
            assert all(
                r.status == 200 for r in pool.map(lambda _: request(stack.a.port, "GET", "/api/health"), range(20))
            )
            sent += 20
            grown = {name for name, n in health_counts(directory).items() if n > before_files.get(name, 0)}
            if len(grown) >= 2:
                break
    assert len(grown) >= 2, "one worker served every request"
    assert [scraped_health(stack.a.port) for _ in range(4)] == [before + sent] * 4  # whichever worker answers
    assert metrics_dir(stack.b) != directory


def test_metrics_are_refused_to_other_hosts(stack):
    """nginx lets only this host through; the app itself wants METRICS_ALLOW or the token."""
    outside = "127.0.0.2"  # another loopback source address: neither 127.0.0.1 nor ::1
    assert request(stack.nginx.port, "GET", "/metrics", source=outside).status == 403
    assert request(stack.nginx.port, "GET", "/metrics").status == 200
    assert request(stack.a.port, "GET", "/metrics", source=outside).status == 403
    direct = request(
        stack.a.port, "GET", "/metrics", source=outside, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert direct.status == 200 and b"hydronet_job_queue_depth 0.0" in direct.body


def test_hup_reload_loses_no_in_flight_stream_or_new_request(stack, fake_dashscope):
    """`systemctl reload hydronet@…` during streamed answers: every stream completes, every new request is served."""
    server = stack.a
    _, session = register(stack, server.port)
    token = session["access_token"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    cids = [
        stack.call(server.port, "POST", "/api/chat/conversations", token, {}).json()["conversation"]["id"]
        for _ in range(4)
    ]
    fake_dashscope.script(*[FakeReply(text="一二三四五六七八九十", chunks=5, chunk_interval_s=0.4) for _ in cids])
    counted_before = scraped_health(server.port)
    booted = server.log.read_text().count("Booting worker")

    with ThreadPoolExecutor(max_workers=16) as pool:
        streams = [
            pool.submit(
                read_stream,
                server.port,
                "POST",
                f"/api/chat/conversations/{cid}/messages",
                auth,
                30,
                json.dumps({"message": "慢慢回答", "stream": True}).encode(),
            )
            for cid in cids
        ]
        time.sleep(0.6)  # the streams are now inside the old workers
        server.signal(signal.SIGHUP)
        fresh = []
        for _ in range(25):  # keep arriving while the workers are swapped
            # The old workers stop accepting at once; new ones accept once they have imported
            # the app (seconds; tens of seconds on a busy CI host): meanwhile requests wait in
            # the listen backlog, hence the long client timeout.
            fresh.append(pool.submit(request, server.port, "GET", "/api/health", timeout=90))
            time.sleep(0.1)
        finished = [future.result(timeout=100) for future in streams]
        answered = [future.result(timeout=100) for future in fresh]

    assert [r.status for r in answered] == [200] * len(answered)
    for _start, _arrivals, data in finished:
        events = sse_events(data.split(b"\r\n\r\n", 1)[1])
        assert [e["type"] for e in events].count("delta") == 5 and events[-1]["type"] == "done", events[-2:]
        assert events[-1]["message"]["content"] == "一二三四五六七八九十"
    deadline = time.monotonic() + 20
    while server.log.read_text().count("Booting worker") < booted + 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.log.read_text().count("Booting worker") >= booted + 2  # new workers took over
    assert server.proc.poll() is None
    assert scraped_health(server.port) >= counted_before + len(answered)  # the old workers' counts survive
