"""The real app (app_saas:app) as deployed: two gunicorns behind the rendered nginx.

Needs PostgreSQL and Redis: the session's fresh database from tests/conftest.py
(HYDRONET_TEST_DATABASE_URL; migrated here through deploy/migrate.sh) and
HYDRONET_TEST_REDIS_URL.
"""
from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import uuid
from collections import Counter

import pytest

from deploy_support import DEPLOY, REPO, clean_env, request

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.timeout(90),
]


@pytest.fixture(scope="module")
def app_env(backends):
    """The session's fresh PostgreSQL database and Redis (tests/conftest.py `backends`)."""
    if not (backends.is_postgres and backends.redis_url):
        pytest.skip("needs HYDRONET_TEST_DATABASE_URL (PostgreSQL) and HYDRONET_TEST_REDIS_URL")
    return {
        "DATABASE_URL": backends.database_url,
        "REDIS_URL": backends.redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "DEBUG": "False",
        "HYDRONET_REQUIRE_SERVICES": "true",
        "LOG_JSON": "True",
    }


@pytest.fixture(scope="module")
def deployed(app_env, module_processes):
    """deploy/migrate.sh, then hydronet on two ports, then nginx in front (as install.sh does)."""
    migrate = subprocess.run(["bash", str(DEPLOY / "migrate.sh")], cwd=REPO, capture_output=True, text=True,
                             env=clean_env(**app_env, HYDRONET_VENV=sys.prefix), timeout=120)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    apps = [module_processes.gunicorn("app_saas:app", pythonpath=None, **app_env) for _ in range(2)]
    nginx = module_processes.nginx([app.port for app in apps], REPO)
    return nginx, apps


def upstreams_used(nginx) -> Counter:
    return Counter(m.group(1) for line in nginx.access_log() if (m := re.search(r"upstream=(\S+)", line)))


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
    assert {f"127.0.0.1:{app.port}" for app in apps} <= set(upstreams_used(nginx))


def test_a_token_from_one_server_works_on_the_other(deployed):
    """No state in a worker: whichever server answers, the session holds."""
    nginx, apps = deployed
    body = json.dumps({"email": f"ops-{uuid.uuid4().hex[:8]}@example.com", "password": "Pipe-Network-2026!",
                       "tenant_name": "部署测试水司"}).encode()
    registered = request(nginx.port, "POST", "/api/auth/register", body=body,
                         headers={"Content-Type": "application/json"})
    assert registered.status in (200, 201), registered.body
    token = registered.json()["access_token"]
    before = upstreams_used(nginx)
    for _ in range(10):
        info = request(nginx.port, "GET", "/api/tenant/info", headers={"Authorization": f"Bearer {token}"})
        assert info.status == 200, info.body
    after = upstreams_used(nginx)
    assert all(after[f"127.0.0.1:{app.port}"] > before[f"127.0.0.1:{app.port}"] for app in apps)
