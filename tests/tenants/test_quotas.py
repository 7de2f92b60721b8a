"""Quotas hold exactly under concurrency; usage matches what the model reported."""

from __future__ import annotations

import threading

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Message
from tests.fakes.fake_dashscope import FakeReply


def _tenant_with_quota(factory, **overrides):
    tenant = factory.tenant(plan="basic", quota_overrides=overrides)
    return tenant, factory.user(tenant, role="member")


def test_parallel_requests_never_exceed_remaining_quota(app, factory):
    tenant, user = _tenant_with_quota(factory, messages_per_day=10)
    headers = factory.headers(user)
    client = app.test_client()
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def send():
        c = app.test_client()
        start.wait()
        resp = c.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "压力？"})
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] * 10 + [429] * 10
    with app.app_context(), all_tenants(db.session):
        assert db.session.query(Message).filter_by(role="user").count() == 10


def test_quota_exceeded_answer_names_quota_and_reset(app, client, factory):
    _tenant, user = _tenant_with_quota(factory, messages_per_day=1)
    headers = factory.headers(user)
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    assert (
        client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "a"}).status_code
        == 200
    )
    resp = client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "b"})
    assert resp.status_code == 429
    err = resp.get_json()["error"]
    assert err["code"] == "quota_exceeded" and err["quota"] == "messages_per_day"
    assert err["limit"] == 1 and err["used"] == 1 and err["resets_at"]


def test_lost_counters_are_rebuilt_from_the_database(app, client, factory):
    tenant, user = _tenant_with_quota(factory, messages_per_day=2)
    headers = factory.headers(user)
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "a"})
    with app.app_context():  # Redis restarted: every counter gone
        store = get_store()
        if store.kind == "redis":
            store.client.flushdb()
        else:
            store._data.clear()
    used = client.get("/api/tenant/usage", headers=headers).get_json()["usage"]["quotas"]["messages_per_day"]["used"]
    assert used == 1
    assert (
        client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "b"}).status_code
        == 200
    )
    assert (
        client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "c"}).status_code
        == 429
    )


def test_usage_matches_tokens_reported_by_qwen(qwen_client, fake_dashscope, factory):
    tenant, user = _tenant_with_quota(factory)
    headers = factory.headers(user)
    cid = qwen_client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    fake_dashscope.script(FakeReply(text="一", usage=(100, 20)), FakeReply(text="二", usage=(150, 30)))
    for text in ("a", "b"):
        assert (
            qwen_client.post(
                f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": text}
            ).status_code
            == 200
        )
    usage = qwen_client.get("/api/tenant/usage", headers=headers).get_json()["usage"]
    assert usage["quotas"]["tokens_per_month"]["used"] == 300
    assert usage["quotas"]["messages_per_day"]["used"] == 2
    today = usage["daily"][-1]
    assert today["messages"] == 2 and today["tokens"] == 300 and today["cost_cny"] > 0
    assert len(usage["daily"]) == 30


def test_token_quota_refuses_before_calling_model(qwen_client, fake_dashscope, factory):
    _tenant, user = _tenant_with_quota(factory, tokens_per_month=100)
    headers = factory.headers(user)
    cid = qwen_client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    fake_dashscope.script(FakeReply(text="x", usage=(90, 20)))
    assert (
        qwen_client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "a"}).status_code
        == 200
    )
    before = len(fake_dashscope.requests)
    resp = qwen_client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "b"})
    assert resp.status_code == 429 and resp.get_json()["error"]["quota"] == "tokens_per_month"
    assert len(fake_dashscope.requests) == before


@pytest.mark.parametrize(
    "quota, create",
    [
        (
            "users",
            lambda c, h, i: c.post(
                "/api/tenant/users", headers=h, json={"email": f"q{i}@x.example.com", "password": "Good-Pass-123"}
            ),
        ),
        (
            "api_keys",
            lambda c, h, i: c.post("/api/tenant/api-keys", headers=h, json={"name": f"k{i}", "scopes": ["chat"]}),
        ),
        ("conversations", lambda c, h, i: c.post("/api/chat/conversations", headers=h, json={})),
    ],
)
def test_count_quotas(client, factory, quota, create):
    tenant = factory.tenant(plan="free", quota_overrides={quota: 2})
    owner = factory.user(tenant, role="owner")
    headers = factory.headers(owner)
    answers = [create(client, headers, i) for i in range(3)]
    codes = [r.status_code for r in answers]
    expected_ok = 1 if quota == "users" else 2  # the owner already counts as a user
    assert codes[:expected_ok] == [201] * expected_ok
    assert codes[expected_ok] == 429
    error = answers[expected_ok].get_json()["error"]
    assert (error["code"], error["quota"], error["limit"]) == ("quota_exceeded", quota, 2)


def test_brute_force_login_burst_cut_off_with_retry_after(app, client, factory):
    user = factory.user(factory.tenant())
    codes = []
    for i in range(int(app.config["RATELIMIT_LOGIN_ADDRESS"].split()[0]) + 5):  # failures from one address
        resp = client.post("/api/auth/login", json={"email": f"x{i}-{user.email}", "password": "nope-nope-1"})
        codes.append(resp.status_code)
    assert codes.count(429) >= 5
    assert "Retry-After" in resp.headers and resp.get_json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize(
    "quota, path, body",
    [
        ("conversations", "/api/chat/conversations", lambda i: {"title": f"c{i}"}),
        (
            "mcp_servers",
            "/api/tenant/mcp-servers",
            lambda i: {"name": f"s{i}", "url": f"https://mcp{i}.example.com/mcp"},
        ),
    ],
)
def test_parallel_creations_never_exceed_a_count_quota(app, factory, backends, quota, path, body):
    """20 simultaneous creations against 10 free places: exactly 10 succeed (the count is taken under a lock)."""
    if not backends.database_url.startswith("postgresql"):
        pytest.skip("exact under concurrency on PostgreSQL (embedded SQLite serves one process)")
    tenant = factory.tenant(plan="enterprise", quota_overrides={quota: 10})
    headers = factory.headers(factory.user(tenant, role="owner"))
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    errors: list[str] = []

    def create(i: int) -> None:
        c = app.test_client()
        start.wait()
        resp = c.post(path, headers=headers, json=body(i))
        with lock:
            statuses.append(resp.status_code)
            if resp.status_code != 201:
                errors.append(resp.get_json()["error"]["code"])

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [201] * 10 + [429] * 10, statuses
    assert errors == ["quota_exceeded"] * 10
