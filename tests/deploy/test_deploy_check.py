"""`flask hydronet check` as an operator runs it on a live install: real CLI, PostgreSQL, Redis, backup.sh."""

from __future__ import annotations

import subprocess
import sys

import pytest
from deploy_support import DEPLOY, REPO, clean_env

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(120)]


def test_a_fresh_install_with_a_backup_passes_the_checklist(app, app_env, tmp_path):
    """After deploy/backup.sh the guide's checklist is all ✅ (⚠️ for the optional Qwen key / missing admin)."""
    backups = tmp_path / "backups"
    backup = subprocess.run(
        ["bash", str(DEPLOY / "backup.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(
            DATABASE_URL=app_env["DATABASE_URL"],
            BACKUP_DIR=str(backups),
            DATABASE_OWNER_URL=app_env["DATABASE_OWNER_URL"],
        ),
    )
    assert backup.returncode == 0, backup.stderr
    env = clean_env(
        **app_env, BACKUP_DIR=str(backups), PUBLIC_BASE_URL="https://hydronet.waterworks.cn", LOG_LEVEL="ERROR"
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app_saas:app", "hydronet", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    for title in (
        "database reachable: PostgreSQL",
        "Redis reachable",
        "migrations at head",
        "SECRET_KEY / JWT_SECRET_KEY strong",
        "DEBUG off",
        "HTTPS: https://hydronet.waterworks.cn",
        f"backups recent ({backups}): 1 dump(s)",
        "WeChat configuration consistent",
    ):
        assert any(line.startswith("✅") and title in line for line in lines), (title, result.stdout)
    assert not any(line.startswith("❌") for line in lines)
