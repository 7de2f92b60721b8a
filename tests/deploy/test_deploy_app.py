"""The real app (app_saas:app) as deployed: two gunicorns behind the rendered nginx.

Needs PostgreSQL and Redis: the session's fresh database from tests/conftest.py
(HYDRONET_TEST_DATABASE_URL; migrated here through deploy/migrate.sh) and
HYDRONET_TEST_REDIS_URL.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from deploy_support import deploy_app, request

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.timeout(90),
]


@pytest.fixture(scope="module")
def deployed(app_env, module_processes):
    """deploy/migrate.sh, then hydronet on two ports, then nginx in front (as install.sh does)."""
    return deploy_app(module_processes, app_env)


def test_health_through_nginx(deployed):
    nginx, _ = deployed
    resp = request(nginx.port, "GET", "/api/health")
    assert resp.status == 200
    assert resp.json()["status"] == "healthy"
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


def test_requests_spread_over_both_servers(deployed):
    nginx, apps = deployed
    for _ in range(20):
        assert request(nginx.port, "GET", "/api/health").status == 200
    assert {f"127.0.0.1:{app.port}" for app in apps} <= set(nginx.upstreams_used())


def test_a_token_from_one_server_works_on_the_other(deployed):
    """No state in a worker: whichever server answers, the session holds."""
    nginx, apps = deployed
    body = json.dumps(
        {
            "email": f"ops-{uuid.uuid4().hex[:8]}@example.com",
            "password": "Pipe-Network-2026!",
            "tenant_name": "部署测试水司",
        }
    ).encode()
    registered = request(
        nginx.port, "POST", "/api/auth/register", body=body, headers={"Content-Type": "application/json"}
    )
    assert registered.status in (200, 201), registered.body
    token = registered.json()["access_token"]
    before = nginx.upstreams_used()
    for _ in range(10):
        info = request(nginx.port, "GET", "/api/tenant/info", headers={"Authorization": f"Bearer {token}"})
        assert info.status == 200, info.body
    after = nginx.upstreams_used()
    assert all(after[f"127.0.0.1:{app.port}"] > before[f"127.0.0.1:{app.port}"] for app in apps)
