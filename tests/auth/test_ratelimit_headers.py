"""X-RateLimit-* headers on every limited /api answer, Retry-After on 429, one Redis trip per limit hit."""

from __future__ import annotations

import time

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.store import get_store
from hydronet.web.app import create_app
from tests.support.factories import Factory


@pytest.fixture
def tight(backends, app):
    """An app whose per-caller API limit is 3 per minute (same database and store)."""
    app3 = create_app(backends.app_config(RATELIMIT_DEFAULT_API="3 per minute"))
    yield app3
    with app3.app_context():
        db.session.remove()


def _member(app, factory):
    tenant = factory.tenant(plan="enterprise")
    return Factory(app).headers(factory.user(tenant))


def test_headers_count_down_and_429_says_when_to_retry(tight, factory):
    headers = _member(tight, factory)
    client = tight.test_client()
    seen = []
    for _ in range(3):
        resp = client.get("/api/chat/conversations", headers=headers)
        assert resp.status_code == 200
        assert resp.headers["X-RateLimit-Limit"] == "3"
        seen.append(int(resp.headers["X-RateLimit-Remaining"]))
        assert int(resp.headers["X-RateLimit-Reset"]) > time.time()
    assert seen == [2, 1, 0]
    refused = client.get("/api/chat/conversations", headers=headers)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_limits_survive_redis_losing_its_scripts(tight, factory, backends):
    """After SCRIPT FLUSH (a Redis restart) the pipelined hit falls back, loads the scripts and still counts."""
    if not backends.redis_url:
        pytest.skip("embedded mode: in-memory limits")
    headers = _member(tight, factory)
    client = tight.test_client()
    assert client.get("/api/chat/conversations", headers=headers).headers["X-RateLimit-Remaining"] == "2"
    with tight.app_context():
        get_store().client.script_flush()
    resp = client.get("/api/chat/conversations", headers=headers)
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Remaining"] == "1"
    assert client.get("/api/chat/conversations", headers=headers).headers["X-RateLimit-Remaining"] == "0"
    assert client.get("/api/chat/conversations", headers=headers).status_code == 429


def test_one_script_hit_and_window_agree_with_limits_own_scripts(app, backends):
    """The combined script keeps limits' moving window: same admissions, same window state, same expiry."""
    if not backends.redis_url:
        pytest.skip("embedded mode: in-memory limits")
    from limits.storage import RedisStorage

    from hydronet.auth.ratelimit_storage import PipelinedRedisStorage, storage_uri

    storage = PipelinedRedisStorage(storage_uri(backends.redis_url))
    key = f"test-window-{time.time_ns()}"
    admitted = []
    with app.test_request_context("/api/chat/conversations"):
        for _ in range(4):
            admitted.append(storage.acquire_entry(key, 3, 1))
            ours = storage.get_moving_window(key, 3, 1)  # answered from the hit's own result
            stock = RedisStorage.get_moving_window(storage, key, 3, 1)  # limits' script on the same list
            assert ours[1] == stock[1] and abs(ours[0] - stock[0]) < 1e-3, (ours, stock)
        assert admitted == [True, True, True, False]
        time.sleep(1.1)  # the window moves on: room again, and only the new hit is in it
        assert storage.acquire_entry(key, 3, 1) is True
        assert storage.get_moving_window(key, 3, 1)[1] == 1
    storage.clear(key)
