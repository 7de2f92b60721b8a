"""The deployment guide's steps and curl calls, verbatim, against gunicorn."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from tests.support.live import ROOT, gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture
def live(app, backends):
    with gunicorn(backends.env()) as base:
        yield base


def test_guide_flow(live, backends):
    env = {**os.environ, **backends.env(), "SEED_DEMO": "true"}  # the guide's flow signs in as the demo owner
    init = subprocess.run(
        [sys.executable, "init_database.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert init.returncode == 0, init.stderr
    assert "✅ 系统管理员: admin@hydronet.com / HydroNet@2025" in init.stdout
    assert "✅ 演示账号: demo@example.com / demo123" in init.stdout
    again = subprocess.run(
        [sys.executable, "init_database.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0 and "已存在" in again.stdout

    s = requests.Session()
    health = s.get(f"{live}/api/health").json()
    assert health["status"] == "healthy" and health["database"] == "ok" and health["redis"].startswith("ok")

    reg = s.post(
        f"{live}/api/auth/register",
        json={"email": "test@example.com", "password": "Test@123", "tenant_name": "测试公司"},
    )
    assert reg.status_code == 201 and reg.json()["success"] is True and reg.json()["access_token"]

    admin = s.post(f"{live}/api/auth/login", json={"email": "admin@hydronet.com", "password": "HydroNet@2025"}).json()
    assert admin["success"] is True and admin["password_change_required"] is True
    demo = s.post(f"{live}/api/auth/login", json={"email": "demo@example.com", "password": "demo123"}).json()
    token = demo["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    info = s.get(f"{live}/api/tenant/info", headers=auth).json()
    assert info["success"] is True and info["tenant"]["slug"] == "demo"
    usage = s.get(f"{live}/api/tenant/usage", headers=auth).json()
    assert usage["success"] is True and "messages_per_day" in usage["usage"]["quotas"]

    conv = s.post(f"{live}/api/chat/conversations", headers=auth, json={"title": "水网分析"}).json()
    assert conv["success"] is True
    cid = conv["conversation"]["id"]
    turn = s.post(
        f"{live}/api/chat/conversations/{cid}/messages", headers=auth, json={"message": "你好，帮我分析一下水网系统"}
    ).json()
    assert turn["success"] is True and turn["reply"]["role"] == "assistant" and turn["reply"]["content"]

    logs = s.get(f"{live}/api/admin/audit-logs", headers={"Authorization": f"Bearer {admin['access_token']}"}).json()
    assert logs["success"] is True and any(e["action"] == "auth.register" for e in logs["logs"])
    assert s.get(f"{live}/api/admin/audit-logs", headers=auth).status_code == 403

    changed = s.put(
        f"{live}/api/auth/change-password",
        headers=auth,
        json={"old_password": "demo123", "new_password": "N3w-Passw0rd!"},
    )
    assert changed.status_code == 200 and changed.json()["success"] is True
    old = s.post(f"{live}/api/auth/login", json={"email": "demo@example.com", "password": "demo123"})
    assert old.status_code == 401
    new = s.post(f"{live}/api/auth/login", json={"email": "demo@example.com", "password": "N3w-Passw0rd!"})
    assert new.status_code == 200


def test_streaming_through_gunicorn(live, factory, two_tenants):
    headers = factory.headers(two_tenants["a_users"]["member"])
    cid = requests.post(f"{live}/api/chat/conversations", headers=headers, json={}).json()["conversation"]["id"]
    with requests.post(
        f"{live}/api/chat/conversations/{cid}/messages",
        headers=headers,
        json={"message": "hello", "stream": True},
        stream=True,
    ) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert '"type": "delta"' in lines[1] and '"type": "done"' in lines[-1]
