"""One JSON error shape for every failure under /api; health reporting."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "method, url, kwargs, status, code",
    [
        ("GET", "/api/does-not-exist", {}, 404, "not_found"),
        ("DELETE", "/api/health", {}, 405, "method_not_allowed"),
        ("POST", "/api/auth/login", {"data": "{bad", "content_type": "application/json"}, 400, "malformed_json"),
        ("POST", "/api/auth/login", {"json": [1, 2]}, 422, "validation_error"),
        ("GET", "/api/tenant/info", {}, 401, "unauthorized"),
        ("GET", "/api/tenant/info", {"headers": {"Authorization": "Bearer nonsense"}}, 401, "invalid_token"),
    ],
)
def test_error_shape(client, method, url, kwargs, status, code):
    resp = client.open(url, method=method, **kwargs)
    assert resp.status_code == status
    body = resp.get_json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_too_large_body(client, app):
    resp = client.post(
        "/api/auth/login", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10), content_type="application/json"
    )
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "payload_too_large"


def test_500_hides_stack_trace_when_not_debug(app):
    from hydronet.web.app import create_app
    from tests.support.backends import TEST_SECRET

    prod = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL")},
            "SECRET_KEY": TEST_SECRET,
            "JWT_SECRET_KEY": TEST_SECRET + "x",
            "DEBUG": False,
            "TESTING": False,
            "LOG_LEVEL": "CRITICAL",
        }
    )

    @prod.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    resp = prod.test_client().get("/api/boom")
    assert resp.status_code == 500
    assert resp.get_json() == {
        "success": False,
        "error": {"code": "internal_error", "message": "Internal server error"},
    }


def test_health(client):
    resp = client.get("/api/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "healthy"
    assert body["database"] == "ok"
    assert body["redis"].startswith("ok")
    assert resp.headers["X-Request-ID"]


def test_health_reports_failed_redis(app):
    from hydronet.web.app import create_app
    from tests.support.backends import TEST_SECRET

    broken = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "SECRET_KEY": TEST_SECRET,
            "JWT_SECRET_KEY": TEST_SECRET + "x",
            "TESTING": True,
            "LOG_LEVEL": "CRITICAL",
        }
    )
    resp = broken.test_client().get("/api/health")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "unhealthy"
    assert body["failed"] == ["redis"]


def test_request_id_is_propagated(client):
    resp = client.get("/api/health", headers={"X-Request-ID": "abc12345-req"})
    assert resp.headers["X-Request-ID"] == "abc12345-req"
