"""`flask hydronet …` commands: migrate (locked), seed, check, worker, audit-archive."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import text

from hydronet.kernel.db import db, utcnow
from hydronet.kernel.jobs import run_worker
from hydronet.tenants.audit_archive import archive_before
from hydronet.web.checks import run_checks
from hydronet.web.secret_rotation import reencrypt_all
from hydronet.web.seed import demo_wanted, seed

cli = AppGroup("hydronet", help="HydroNet operations.")

MIGRATION_LOCK_ID = 72831001


def upgrade_locked() -> None:
    """Migrate to head; on PostgreSQL under an advisory lock so two instances never race."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        upgrade()
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_ID})
        try:
            upgrade()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_ID})
            conn.commit()


@cli.command("migrate")
def migrate_command() -> None:
    """Upgrade the schema to head (safe when several instances start together)."""
    upgrade_locked()
    click.echo("✅ database schema at head")


@cli.command("seed")
def seed_command() -> None:
    """Create the platform tenant and admin if missing (and the demo account with DEBUG or SEED_DEMO=true)."""
    result = seed(
        current_app.config["ADMIN_EMAIL"],
        current_app.config["ADMIN_PASSWORD"] or None,
        demo=demo_wanted(current_app.config),
    )
    click.echo(f"✅ 系统管理员: {result.admin_email} / {result.admin_password_shown}")


@cli.command("audit-archive")
@click.option("--older-than-days", default=365, show_default=True, type=int)
@click.option("--directory", default="instance/audit-archive", show_default=True)
def audit_archive_command(older_than_days: int, directory: str) -> None:
    """Move audit entries older than N days to gzipped files (chains stay verifiable)."""
    result = archive_before(utcnow() - timedelta(days=older_than_days), Path(directory))
    click.echo(f"archived {result['archived']} entries into {len(result['files'])} file(s)")
    for f in result["files"]:
        click.echo(f"  {f}")


@cli.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
def worker_command(burst: bool) -> None:
    """Run the background job worker (RQ on REDIS_URL)."""
    if not current_app.config["REDIS_URL"]:
        raise click.ClickException("REDIS_URL is not set: jobs run in-process threads, no worker needed")
    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@cli.command("reencrypt-secrets")
def reencrypt_secrets_command() -> None:
    """Re-encrypt stored secrets with the newest SECRETS_ENCRYPTION_KEYS key."""
    counts = reencrypt_all()
    click.echo("✅ re-encrypted " + ", ".join(f"{n} {what}" for what, n in counts.items()))


@cli.command("check")
@click.option("--url", default=None, help="public https:// address to probe (default: PUBLIC_BASE_URL, not probed)")
@click.option(
    "--backup-dir",
    envvar="BACKUP_DIR",
    default=None,
    help="where deploy/backup.sh writes dumps (default /var/backups/hydronet)",
)
def check_command(url: str | None, backup_dir: str | None) -> None:
    """The guide's completion checklist: ✅/❌ per item, a fix for each ❌, exit 1 when any fails."""
    results = run_checks(current_app._get_current_object(), url=url, backup_dir=backup_dir)  # type: ignore[attr-defined]
    for result in results:
        click.echo(result.line())
    failed = sum(r.status == "fail" for r in results)
    warned = sum(r.status == "warn" for r in results)
    click.echo(f"\n{len(results) - failed - warned} ok, {warned} warning(s), {failed} failed")
    if failed:
        raise SystemExit(1)


def register_cli(app: Flask) -> None:
    """Attach the command group to the app."""
    app.cli.add_command(cli)
