"""`flask hydronet check`: the guide's completion checklist with a fix for every ❌."""

from __future__ import annotations

import os
import time

import pytest

from hydronet.auth.accounts import DEFAULT_ADMIN_PASSWORD
from hydronet.auth.passwords import hash_password
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import User
from tests.fakes.fake_dashscope import FakeError, FakeReply
from tests.support.constants import QWEN_TEST_KEY

STRONG = "q8V1-rT5xZp0LwN3bY7cK2mJ6hG4fD9sA1eR8uI0oP"


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=["hydronet", "check", *args])
    return result, result.output.splitlines()


def line(lines: list[str], title: str) -> tuple[str, str]:
    """The checklist line containing ``title`` and the line after it (the fix, if any)."""
    index = next(i for i, text in enumerate(lines) if title in text)
    return lines[index], lines[index + 1] if index + 1 < len(lines) else ""


@pytest.fixture
def admin(factory):
    """The platform admin as init_database.py leaves it: the guide's default password."""
    platform = factory.tenant("HydroNet Platform", plan="enterprise", slug="platform", is_platform=True)
    user = factory.user(platform, role="owner", email="admin@hydronet.com", platform_admin=True)
    set_password(factory.app, user, DEFAULT_ADMIN_PASSWORD)
    return user


def set_password(app, user, password: str) -> None:
    with app.app_context(), all_tenants(db.session):
        db.session.get(User, user.id).password_hash = hash_password(password)
        db.session.commit()


@pytest.fixture
def backup_dir(tmp_path):
    """Where deploy/backup.sh would write; one fresh dump in it."""
    (tmp_path / "hydronet-20261101T031500Z.dump").write_bytes(b"PGDMP fake dump")
    return tmp_path


@pytest.fixture
def healthy(app, monkeypatch, admin, backup_dir, factory):
    """A configuration that follows the guide (the admin changed the password)."""
    set_password(app, admin, "An0ther-Str0ng-Admin-Pass")
    factory.tenant("演示水务公司", slug="demo")
    monkeypatch.delenv("DEBUG", raising=False)
    for key, value in {
        "SECRET_KEY": STRONG,
        "JWT_SECRET_KEY": STRONG[::-1],
        "DEBUG": False,
        "PUBLIC_BASE_URL": "https://hydronet.waterworks.cn",
        "WECHAT_ENABLED": True,
        "WECHAT_TOKEN": "hydronetToken2026",
        "WECHAT_APP_ID": "wx0123456789abcdef",
        "WECHAT_APP_SECRET": "0123456789abcdef0123456789abcdef",
        "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "WECHAT_TENANT_SLUG": "demo",
        "BACKUP_DIR": str(backup_dir),
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return app


def test_a_healthy_configuration_passes(healthy, backends):
    result, lines = run(healthy)
    for title in (
        "migrations at head",
        "SECRET_KEY / JWT_SECRET_KEY strong",
        "DEBUG off",
        "admin password changed",
        "HTTPS",
        "backups recent",
        "WeChat configuration consistent",
        "database reachable",
    ):
        assert line(lines, title)[0].startswith(("✅", "⚠️")), result.output
    assert line(lines, "Qwen API key valid")[0].startswith("⚠️")  # no key: offline mode is a warning
    if backends.is_postgres and backends.redis_url:
        assert result.exit_code == 0, result.output
        assert line(lines, "database reachable")[0].startswith("✅ 数据库 database reachable: PostgreSQL")
        assert line(lines, "Redis reachable")[0].startswith("✅")
    else:  # embedded mode: the in-process store is the one failure
        assert result.exit_code == 1
        assert [text for text in lines if text.startswith("❌")] == [line(lines, "Redis reachable")[0]]


def test_every_failure_is_reported_with_its_fix(app, monkeypatch, admin, tmp_path):
    old_dump = tmp_path / "hydronet-20250101T031500Z.dump"
    old_dump.write_bytes(b"PGDMP")
    stale = time.time() - 40 * 3600
    os.utime(old_dump, (stale, stale))
    monkeypatch.setenv("DEBUG", "True")  # as in .env: the flask CLI resets app.debug from FLASK_DEBUG
    for key, value in {
        "SECRET_KEY": "changeme",
        "JWT_SECRET_KEY": "short",
        "PUBLIC_BASE_URL": "http://hydronet.waterworks.cn",
        "WECHAT_ENABLED": True,
        "WECHAT_TOKEN": "tok123",
        "WECHAT_APP_ID": "",
        "WECHAT_APP_SECRET": "",
        "WECHAT_AES_KEY": "too-short",
        "WECHAT_TENANT_SLUG": "no-such-tenant",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    result, lines = run(app, "--backup-dir", str(tmp_path))
    assert result.exit_code == 1
    expected = {
        "SECRET_KEY / JWT_SECRET_KEY strong": ("SECRET_KEY is a well-known placeholder", "secrets.token_urlsafe(48)"),
        "DEBUG off": ("DEBUG is on", "DEBUG=False"),
        "admin password changed": (DEFAULT_ADMIN_PASSWORD, "/api/auth/change-password"),
        "HTTPS": ("is not https://", "certbot --nginx"),
        "backups recent": ("h old (limit 26 h)", "hydronet-backup.timer"),
        "WeChat configuration consistent": ("WECHAT_APP_ID is empty", "WECHAT_TENANT_SLUG"),
    }
    for title, (detail, fix) in expected.items():
        head, after = line(lines, title)
        assert head.startswith("❌") and detail in head, head
        assert after.strip().startswith("→") and fix in after, after
    wechat = line(lines, "WeChat configuration consistent")[0]
    assert "WECHAT_AES_KEY is not 43" in wechat and "'no-such-tenant' names no tenant" in wechat
    assert "JWT_SECRET_KEY is shorter than 32" in line(lines, "SECRET_KEY / JWT_SECRET_KEY")[0]
    assert lines[-1].endswith("failed") and int(lines[-1].split()[-2]) >= len(expected)


def test_missing_backups_and_https_url_probe(app, tmp_path):
    result, lines = run(app, "--backup-dir", str(tmp_path / "none"), "--url", "http://127.0.0.1:9")
    assert "no *.dump files (no such directory)" in line(lines, "backups recent")[0]
    assert "http://127.0.0.1:9 is not https://" in line(lines, "HTTPS")[0]
    assert result.exit_code == 1


def test_migrations_behind_head_fail_with_the_migrate_command(app, monkeypatch):
    from alembic.migration import MigrationContext

    monkeypatch.setattr(MigrationContext, "get_current_heads", lambda self: ("0000_old",))
    result, lines = run(app)
    head, fix = line(lines, "migrations at head")
    assert head.startswith("❌") and "database at 0000_old" in head
    assert "hydronet migrate" in fix and result.exit_code == 1


def test_qwen_key_is_proved_by_one_cheap_call(qwen_app, fake_dashscope, monkeypatch):
    fake_dashscope.clear()
    fake_dashscope.script(FakeReply(text="1"))
    _, lines = run(qwen_app)
    assert line(lines, "Qwen API key valid")[0].startswith("✅")
    assert len(fake_dashscope.requests) == 1 and fake_dashscope.requests[0].messages[-1]["content"] == "1"

    fake_dashscope.script(FakeError(status=401, code="InvalidApiKey"))
    monkeypatch.setitem(qwen_app.config, "ALIYUN_API_KEY", "sk-revoked-000000000000")
    result, lines = run(qwen_app)
    head, fix = line(lines, "Qwen API key valid")
    assert head.startswith("❌") and "InvalidApiKey" in head and "ALIYUN_API_KEY" in fix
    assert QWEN_TEST_KEY not in result.output and "sk-revoked" not in result.output
    fake_dashscope.clear()
