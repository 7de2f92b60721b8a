"""deploy/backup.sh and deploy/restore.sh against a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from deploy_support import DEPLOY, free_port, psql

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(90)]

SCHEMA = """
CREATE TABLE tenants (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE conversations (id serial PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants(id), title text);
CREATE TABLE messages (id bigserial PRIMARY KEY, conversation_id int NOT NULL REFERENCES conversations(id),
                       body text, created_at timestamptz DEFAULT now());
CREATE INDEX ON messages (conversation_id);
INSERT INTO tenants (name) SELECT '水司-' || g FROM generate_series(1, 3) g;
INSERT INTO conversations (tenant_id, title) SELECT 1 + g % 3, 'c' || g FROM generate_series(1, 40) g;
INSERT INTO messages (conversation_id, body) SELECT 1 + g % 40, repeat('管网', g % 7) FROM generate_series(1, 1500) g;
"""
COUNTS = (
    "SELECT string_agg(t, ',' ORDER BY t) FROM ("
    " SELECT 'tenants=' || count(*) t FROM tenants UNION ALL"
    " SELECT 'conversations=' || count(*) FROM conversations UNION ALL"
    " SELECT 'messages=' || count(*) FROM messages) x"
)


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run a deploy script with a controlled environment (no /opt/hydronet/.env)."""
    full_env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "DATABASE_OWNER_URL",
            "BACKUP_DATABASE_URL",
            "RESTORE_DATABASE_URL",
            "BACKUP_DIR",
            "RETENTION_DAYS",
            "JOURNAL_STREAM",
        }
        and not key.startswith("PG")
    }
    full_env["HYDRONET_ENV_FILE"] = "/nonexistent/.env"
    full_env.update(env)
    return subprocess.run(
        ["bash", str(DEPLOY / script), *args], env=full_env, capture_output=True, text=True, timeout=120
    )


def dumps(directory: Path) -> list[Path]:
    return sorted(directory.glob("hydronet-*.dump"))


def test_backup_then_restore_gives_identical_row_counts(make_database, tmp_path):
    source = make_database()
    psql(source, SCHEMA)
    backups = tmp_path / "backups"

    # The SQLAlchemy form of the URL, as the app's .env may hold it.
    driver_url = source.replace("postgresql://", "postgresql+psycopg2://")
    backup = run("backup.sh", DATABASE_URL=driver_url, BACKUP_DIR=str(backups))
    assert backup.returncode == 0, backup.stderr
    assert "backup ok" in backup.stdout and "tables_with_data=3" in backup.stdout
    [dump] = dumps(backups)
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    assert not list(backups.glob("*.partial"))
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True)
    assert "TABLE DATA public messages" in listing.stdout

    target = make_database()
    restore = run("restore.sh", str(dump), target)
    assert restore.returncode == 0, restore.stderr
    assert psql(target, COUNTS) == psql(source, COUNTS) == "conversations=40,messages=1500,tenants=3"
    assert psql(target, "SELECT name FROM tenants ORDER BY id LIMIT 1") == "水司-1"


def test_restore_over_existing_tables_needs_yes(make_database, tmp_path):
    source = make_database()
    psql(source, SCHEMA)
    assert run("backup.sh", DATABASE_URL=source, BACKUP_DIR=str(tmp_path)).returncode == 0
    [dump] = dumps(tmp_path)
    target = make_database()
    psql(target, "CREATE TABLE tenants (id int); INSERT INTO tenants VALUES (99)")

    refused = run("restore.sh", str(dump), target)
    assert refused.returncode == 3 and "--yes" in refused.stderr
    assert psql(target, "SELECT count(*) FROM tenants") == "1"  # untouched

    replaced = run("restore.sh", "--yes", str(dump), target)
    assert replaced.returncode == 0, replaced.stderr
    assert psql(target, COUNTS) == "conversations=40,messages=1500,tenants=3"


def test_restore_exit_codes_for_bad_input(make_database, tmp_path):
    junk = tmp_path / "junk.dump"
    junk.write_text("not a dump")
    target = make_database()
    assert run("restore.sh").returncode == 2
    assert run("restore.sh", str(tmp_path / "missing.dump"), target).returncode == 4
    assert run("restore.sh", str(junk), target).returncode == 4


def test_backup_fails_loudly_when_database_is_unreachable(tmp_path):
    backups = tmp_path / "backups"
    result = run(
        "backup.sh", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", BACKUP_DIR=str(backups)
    )
    assert result.returncode != 0
    assert "hydronet-backup ERROR: backup FAILED at step 'pg_dump'" in result.stderr
    assert not [p for p in backups.iterdir() if p.name != ".backup.lock"]  # no partial dump left


def test_backup_without_any_database_url_fails(tmp_path):
    result = run("backup.sh", BACKUP_DIR=str(tmp_path))
    assert result.returncode != 0 and "no DATABASE_URL" in result.stderr


def test_backup_reads_the_env_file_and_prunes_only_old_dumps(make_database, tmp_path):
    source = make_database()
    psql(source, "CREATE TABLE t (i int); INSERT INTO t VALUES (1)")
    env_file = tmp_path / ".env"
    env_file.write_text(f'# app settings\nDATABASE_URL="{source}"\nRETENTION_DAYS=7\n')
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "hydronet-20000101T000000Z.dump"
    recent = backups / "hydronet-20000102T000000Z.dump"
    unrelated = backups / "notes.txt"
    stale_partial = backups / "hydronet-20000103T000000Z.dump.partial"
    for path, days in ((old, 8), (recent, 6), (unrelated, 100), (stale_partial, 2)):
        path.write_text("x")
        stamp = time.time() - days * 86400
        os.utime(path, (stamp, stamp))

    result = run("backup.sh", BACKUP_DIR=str(backups), HYDRONET_ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stderr
    assert "pruned=2" in result.stdout and "retention_days=7" in result.stdout
    assert not old.exists() and not stale_partial.exists()
    assert recent.exists() and unrelated.exists()
    assert len(dumps(backups)) == 2  # the recent one and today's
