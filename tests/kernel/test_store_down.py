"""Redis unreachable: rate limits degrade to per-process memory, everything else fails closed with 503 — never 500."""

from __future__ import annotations

import socket

import pytest

from hydronet.auth.ratelimit import limiter
from hydronet.kernel.db import db
from hydronet.web.app import create_app
from tests.support.factories import PASSWORD, Factory


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_redis(backends, app):
    """The app on the test database with a Redis URL nothing listens on."""
    broken = create_app(backends.app_config(REDIS_URL=f"redis://127.0.0.1:{_dead_port()}/0", REQUIRE_SERVICES=False))
    yield broken
    with broken.app_context():
        db.session.remove()
    # flask-limiter's Limiter is one global object: give it back the suite's storage, and leave the
    # in-memory fallback this test pushed it into (there is no public reset for that flag).
    limiter.init_app(app)
    limiter._storage_dead = False


def _assert_503(resp):
    assert resp.status_code == 503, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["success"] is False and body["error"]["code"] == "store_unavailable"
    assert int(resp.headers["Retry-After"]) > 0
    assert "Traceback" not in resp.get_data(as_text=True)


def test_sign_in_and_authenticated_calls_fail_closed_with_503(no_redis, factory):
    tenant = factory.tenant(plan="pro")
    user = factory.user(tenant)
    client = no_redis.test_client()
    _assert_503(client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}))
    # a token issued before Redis went away cannot be checked for revocation: refused, not trusted
    with no_redis.test_request_context():
        from hydronet.auth.tokens import issue_tokens

        token = issue_tokens(Factory(no_redis).reload_user(user.id), fresh=False)["access_token"]
    _assert_503(client.get("/api/chat/conversations", headers={"Authorization": f"Bearer {token}"}))


def test_health_names_the_store(no_redis):
    resp = no_redis.test_client().get("/api/health")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["failed"] == ["redis"] and body["redis"].startswith("error") and body["database"] == "ok"
