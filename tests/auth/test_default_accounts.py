"""Accounts with published passwords: the demo account only where wanted, and `hydronet check` flags them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from hydronet.auth.accounts import DEFAULT_ADMIN_PASSWORD
from hydronet.auth.passwords import hash_password
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Tenant, User
from hydronet.web.seed import demo_wanted
from tests.support.live import ROOT

STRONG = "Adm1n-Chosen-Pass-2026!"


def emails(app) -> set[str]:
    with app.app_context(), all_tenants(db.session):
        return set(db.session.execute(select(User.email)).scalars())


def tenant_slugs(app) -> set[str]:
    with app.app_context(), all_tenants(db.session):
        return set(db.session.execute(select(Tenant.slug)).scalars())


def seed_cli(app):
    return app.test_cli_runner().invoke(args=["hydronet", "seed"])


def check_cli(app):
    result = app.test_cli_runner().invoke(args=["hydronet", "check"])
    lines = result.output.splitlines()
    index = next(i for i, text in enumerate(lines) if "no account with a well-known password" in text)
    return lines[index], lines[index + 1] if index + 1 < len(lines) else ""


def set_password(app, email, password):
    with app.app_context(), all_tenants(db.session):
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        user.password_hash = hash_password(password)
        db.session.commit()


@pytest.mark.parametrize(
    ("debug", "seed_demo", "wanted"),
    [(False, False, False), (False, True, True), (True, False, True), (True, True, True)],
)
def test_demo_is_wanted_only_with_debug_or_seed_demo(debug, seed_demo, wanted):
    assert demo_wanted({"DEBUG": debug, "SEED_DEMO": seed_demo}) is wanted


def test_production_seed_creates_no_demo_account(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEBUG", False)
    monkeypatch.setitem(app.config, "SEED_DEMO", False)
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", STRONG)
    result = seed_cli(app)
    assert result.exit_code == 0, result.output
    assert emails(app) == {app.config["ADMIN_EMAIL"]}
    assert "demo" not in tenant_slugs(app)


def test_seed_demo_creates_the_demo_owner_and_check_fails_until_its_password_changes(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEBUG", False)
    monkeypatch.setitem(app.config, "SEED_DEMO", True)
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", STRONG)
    assert seed_cli(app).exit_code == 0
    assert "demo@example.com" in emails(app) and "demo" in tenant_slugs(app)

    head, fix = check_cli(app)
    assert head.startswith("❌") and "demo@example.com (demo123)" in head
    assert app.config["ADMIN_EMAIL"] not in head  # the admin chose its own password
    assert "change-password" in fix and "SEED_DEMO" in fix

    set_password(app, "demo@example.com", "Changed-Demo-Pass-2026")
    assert check_cli(app)[0].startswith("✅")


def test_check_flags_any_platform_admin_with_the_default_password(app, factory, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", STRONG)
    assert seed_cli(app).exit_code == 0
    assert check_cli(app)[0].startswith("✅")
    platform = factory.tenant(slug="ops", is_platform=True)
    second = factory.user(platform, role="owner", email="ops@waterworks.cn", platform_admin=True)
    set_password(app, second.email, DEFAULT_ADMIN_PASSWORD)
    head, _ = check_cli(app)
    assert head.startswith("❌") and f"ops@waterworks.cn ({DEFAULT_ADMIN_PASSWORD})" in head


@pytest.mark.slow
def test_init_database_without_seed_demo_prints_no_demo_line(app, backends):
    env = {**os.environ, **backends.env(), "ADMIN_PASSWORD": STRONG}
    env.pop("SEED_DEMO", None)
    run = subprocess.run(
        [sys.executable, "init_database.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "demo123" not in run.stdout and "SEED_DEMO=true" in run.stdout
    assert "demo@example.com" not in emails(app)
