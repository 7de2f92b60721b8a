"""The deployment guide's completion checklist (部署完成检查清单) as code: `flask hydronet check`.

Each check returns one :class:`Result` — ok, warn (works, but not as the guide
intends) or fail — and every failure names its fix.  Checks never raise: an
unexpected error is itself a failed check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import or_, select, text

from hydronet.auth.accounts import DEFAULT_ADMIN_PASSWORD
from hydronet.auth.passwords import verify_password
from hydronet.chat.assistant import provider
from hydronet.config import MIN_SECRET_LENGTH, WEAK_SECRETS, Settings, looks_placeholder
from hydronet.kernel.db import db
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Tenant, User
from hydronet.web.seed import DEMO_EMAIL, DEMO_PASSWORD
from hydronet.wechat.protocol import AccountConfig

Status = Literal["ok", "warn", "fail"]
ICONS: dict[Status, str] = {"ok": "✅", "warn": "⚠️", "fail": "❌"}
WELL_KNOWN_PASSWORDS = (DEFAULT_ADMIN_PASSWORD, DEMO_PASSWORD)  # printed by the guide and init_database.py
BACKUP_MAX_AGE_H = 26  # a daily timer plus its random delay and a slow dump
MIGRATE_FIX = "flask --app app_saas:app hydronet migrate (or deploy/migrate.sh), then restart hydronet@*"
SECRET_FIX = (
    "set it in .env to the output of python3 -c 'import secrets; print(secrets.token_urlsafe(48))' and "
    "restart; for JWT_SECRET_KEY move the old value to JWT_PREVIOUS_SECRET_KEYS so sessions survive"
)


@dataclass(frozen=True)
class Result:
    """One line of the checklist."""

    title: str
    status: Status
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        """The printed line (with the fix on the next line for a failure)."""
        head = f"{ICONS[self.status]} {self.title}" + (f": {self.detail}" if self.detail else "")
        return head + (f"\n   → {self.fix}" if self.fix and self.status != "ok" else "")


def check_database(app: Flask) -> Result:
    """The database answers; SQLite is only a warning (embedded mode)."""
    title = "数据库 database reachable"
    try:
        db.session.execute(text("SELECT 1"))
        dialect = db.engine.dialect.name
        version = db.session.execute(text("SHOW server_version")).scalar() if dialect == "postgresql" else ""
    except Exception as exc:
        db.session.rollback()
        return Result(
            title,
            "fail",
            _short(exc),
            "start PostgreSQL (systemctl status postgresql) and check "
            "DATABASE_URL=postgresql://user:password@host:5432/hydronet in .env",
        )
    if dialect != "postgresql":
        return Result(
            title,
            "warn",
            f"embedded {dialect}, not PostgreSQL",
            "set DATABASE_URL=postgresql://… in .env for production (deploy/install.sh does)",
        )
    return Result(title, "ok", f"PostgreSQL {version}")


def check_redis(app: Flask) -> Result:
    """Redis is configured (not the in-process store) and answers."""
    title = "Redis reachable"
    store = app.extensions.get("hydronet_store") or get_store()
    if store.kind != "redis":
        return Result(
            title,
            "fail",
            "REDIS_URL not set: in-process stores (one process only; quotas, rate limits and logouts are not shared)",
            "set REDIS_URL=redis://:password@127.0.0.1:6379/0 in .env and restart",
        )
    try:
        store.ping()
    except Exception as exc:
        return Result(
            title, "fail", _short(exc), "systemctl status redis-server; check host, port and password in REDIS_URL"
        )
    return Result(title, "ok")


def check_migrations(app: Flask) -> Result:
    """The database's alembic revision is the code's head."""
    title = "数据库迁移 migrations at head"
    try:
        config = app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        return Result(title, "fail", f"cannot read the revision: {_short(exc)}", MIGRATE_FIX)
    if current == heads:
        return Result(title, "ok", ", ".join(sorted(heads)))
    return Result(
        title,
        "fail",
        f"database at {', '.join(sorted(current)) or 'no revision'}, code at {', '.join(sorted(heads))}",
        MIGRATE_FIX,
    )


def secret_problem(value: str) -> str | None:
    """Why a secret is weak, or None."""
    if value.startswith("dev-only-"):
        return "the development default"
    if value.lower() in WEAK_SECRETS or looks_placeholder(value):
        return "a well-known placeholder"
    if len(value) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    return None


def check_secrets(app: Flask) -> Result:
    """SECRET_KEY and JWT_SECRET_KEY are long, random and different."""
    title = "密钥 SECRET_KEY / JWT_SECRET_KEY strong"
    problems = [
        f"{name} is {why}"
        for name in ("SECRET_KEY", "JWT_SECRET_KEY")
        if (why := secret_problem(str(app.config.get(name) or "")))
    ]
    if app.config.get("SECRET_KEY") and app.config.get("SECRET_KEY") == app.config.get("JWT_SECRET_KEY"):
        problems.append("SECRET_KEY and JWT_SECRET_KEY are the same")
    if problems:
        return Result(title, "fail", "; ".join(problems), SECRET_FIX)
    return Result(title, "ok")


def check_debug(app: Flask) -> Result:
    """DEBUG is off, as the app servers read it (the flask CLI itself follows FLASK_DEBUG instead)."""
    if app.config.get("DEBUG") or app.debug or Settings.from_env().DEBUG:
        return Result(
            "DEBUG off",
            "fail",
            "DEBUG is on (tracebacks and relaxed secret checks)",
            "set DEBUG=False in .env and restart",
        )
    return Result("DEBUG off", "ok")


def check_admin_password(app: Flask) -> Result:
    """The platform admin no longer uses the guide's well-known password."""
    email = app.config.get("ADMIN_EMAIL") or "admin@hydronet.com"
    title = f"默认管理员密码已修改 admin password changed ({email})"
    try:
        with all_tenants(db.session):
            stored = db.session.execute(select(User.password_hash).where(User.email == email)).scalar_one_or_none()
    except Exception as exc:
        db.session.rollback()
        return Result(title, "fail", f"cannot read the account: {_short(exc)}", "fix the database first")
    if stored is None:
        return Result(title, "warn", "no such account", "python3 init_database.py creates it (set ADMIN_PASSWORD)")
    if verify_password(stored, DEFAULT_ADMIN_PASSWORD):
        return Result(
            title,
            "fail",
            f"still the default {DEFAULT_ADMIN_PASSWORD}",
            "log in as the admin and PUT /api/auth/change-password {old_password, new_password}",
        )
    return Result(title, "ok")


def check_default_passwords(app: Flask) -> Result:
    """No account the seed can create (platform admins, the demo owner) still has a published password.

    Only those accounts are tried: verifying every user's hash would cost one argon2 run each.
    """
    title = "默认账号密码 no account with a well-known password"
    emails = {(app.config.get("ADMIN_EMAIL") or "admin@hydronet.com").lower(), DEMO_EMAIL}
    try:
        with all_tenants(db.session):
            rows = db.session.execute(
                select(User.email, User.password_hash).where(
                    or_(User.is_platform_admin.is_(True), User.email.in_(emails))
                )
            ).all()
    except Exception as exc:
        db.session.rollback()
        return Result(title, "fail", f"cannot read the accounts: {_short(exc)}", "fix the database first")
    found = [
        f"{email} ({known})"
        for email, stored in rows
        for known in WELL_KNOWN_PASSWORDS
        if stored and verify_password(stored, known)
    ]
    if found:
        return Result(
            title,
            "fail",
            "still " + ", ".join(sorted(found)),
            "sign in as each and PUT /api/auth/change-password {old_password, new_password}; a demo "
            "account does not belong in production (seed without SEED_DEMO, delete it)",
        )
    return Result(title, "ok")


def check_https(app: Flask, url: str | None) -> Result:
    """HTTPS in front: PUBLIC_BASE_URL is https, or the given URL answers over valid TLS."""
    title = "HTTPS"
    fix = "put a certificate on nginx: certbot --nginx -d your.domain (deploy/HTTPS.md), set PUBLIC_BASE_URL=https://…"
    target = (url or app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not target:
        return Result(title, "fail", "PUBLIC_BASE_URL is not set (or pass --url https://your.domain)", fix)
    if not target.lower().startswith("https://"):
        return Result(title, "fail", f"{target} is not https://", fix)
    if not url:
        return Result(title, "ok", f"{target} (configured; --url {target} probes it)")

    try:
        resp = requests.get(target + "/api/health", timeout=10, allow_redirects=False)
    except requests.exceptions.SSLError as exc:
        return Result(title, "fail", f"TLS certificate rejected: {_short(exc)}", fix)
    except requests.RequestException as exc:
        return Result(
            title,
            "fail",
            f"{target} unreachable: {_short(exc)}",
            "check DNS, the firewall (ufw allow 'Nginx Full') and systemctl status nginx",
        )
    if resp.status_code not in (200, 503):
        return Result(
            title,
            "fail",
            f"{target}/api/health answered {resp.status_code}",
            "check the nginx site (deploy/nginx/hydronet.conf) and the app servers",
        )
    return Result(title, "ok", f"{target} answers over HTTPS with a valid certificate")


def check_backups(app: Flask, backup_dir: str | None, now: float | None = None) -> Result:
    """A pg_dump backup younger than BACKUP_MAX_AGE_H exists."""
    directory = Path(backup_dir or app.config["BACKUP_DIR"])
    title = f"备份 backups recent ({directory})"
    fix = (
        "systemctl enable --now hydronet-backup.timer; systemctl start hydronet-backup; "
        "journalctl -u hydronet-backup -n 5 (deploy/backup.sh)"
    )
    try:
        dumps = [p for p in directory.glob("*.dump") if p.is_file() and p.stat().st_size > 0]
    except OSError as exc:
        return Result(title, "fail", _short(exc), fix)
    if not dumps:
        return Result(title, "fail", "no *.dump files" + ("" if directory.is_dir() else " (no such directory)"), fix)
    newest = max(dumps, key=lambda p: p.stat().st_mtime)
    age_h = ((now or time.time()) - newest.stat().st_mtime) / 3600
    if age_h > BACKUP_MAX_AGE_H:
        return Result(title, "fail", f"newest {newest.name} is {age_h:.0f} h old (limit {BACKUP_MAX_AGE_H} h)", fix)
    return Result(title, "ok", f"{len(dumps)} dump(s), newest {newest.name} ({age_h:.1f} h old)")


def check_qwen(app: Flask) -> Result:
    """One tiny model call proves the Qwen key; no key means the labelled offline assistant."""
    title = "通义千问 Qwen API key valid"
    key = app.config.get("ALIYUN_API_KEY") or ""
    if not key:
        return Result(
            title,
            "warn",
            "no ALIYUN_API_KEY: offline assistant",
            "set ALIYUN_API_KEY=sk-… (DashScope console → API-KEY) in .env and restart",
        )
    model = app.config["QWEN_MODEL"]
    try:
        completion = provider(app).complete(model=model, messages=[{"role": "user", "content": "1"}], api_key=key)
    except Exception as exc:
        upstream = getattr(exc, "upstream_code", None) or type(exc).__name__
        fixes = {
            "InvalidApiKey": "the key is wrong or revoked: copy a valid one into ALIYUN_API_KEY",
            "Arrearage": "the Alibaba Cloud account is in arrears: top it up",
        }
        return Result(
            title,
            "fail",
            f"{model}: {upstream}",
            fixes.get(
                str(upstream),
                "check ALIYUN_API_KEY, the model name (QWEN_MODEL) and outbound HTTPS to dashscope.aliyuncs.com",
            ),
        )
    return Result(
        title, "ok", f"{model} answered ({completion.usage['input_tokens']}+{completion.usage['output_tokens']} tokens)"
    )


def check_wechat(app: Flask) -> Result:
    """WECHAT_* settings fit together and name an existing tenant."""
    title = "微信 WeChat configuration consistent"
    cfg = app.config
    if not cfg.get("WECHAT_ENABLED"):
        return Result(title, "ok", "WECHAT_ENABLED is off")
    problems = [
        f"{name} is empty" for name in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET") if not cfg.get(name)
    ]
    if cfg.get("WECHAT_APP_ID") and not str(cfg["WECHAT_APP_ID"]).startswith("wx"):
        problems.append("WECHAT_APP_ID does not start with wx")
    try:
        AccountConfig(
            token=cfg.get("WECHAT_TOKEN") or "-", app_id="", aes_key=cfg.get("WECHAT_AES_KEY") or None, app_secret=""
        )
    except ValueError:
        problems.append("WECHAT_AES_KEY is not 43 base64 characters")
    slug = cfg.get("WECHAT_TENANT_SLUG") or "demo"
    try:
        with all_tenants(db.session):
            found = db.session.execute(select(Tenant.id).where(Tenant.slug == slug)).first()
    except Exception as exc:
        db.session.rollback()
        found, problems = None, [*problems, f"cannot look up the tenant: {_short(exc)}"]
    if found is None:
        problems.append(f"WECHAT_TENANT_SLUG {slug!r} names no tenant")
    if problems:
        return Result(
            title,
            "fail",
            "; ".join(problems),
            "copy Token, AppID, AppSecret and EncodingAESKey from the WeChat console (基本配置) into "
            ".env, set WECHAT_TENANT_SLUG to the answering tenant's slug, restart",
        )
    return Result(title, "ok", f"answers for tenant {slug!r}" + (", safe mode" if cfg.get("WECHAT_AES_KEY") else ""))


def run_checks(app: Flask, *, url: str | None = None, backup_dir: str | None = None) -> list[Result]:
    """Every checklist item, in the guide's order (call inside an app context)."""
    checks: list[tuple[str, Callable[[], Result]]] = [
        ("database", lambda: check_database(app)),
        ("redis", lambda: check_redis(app)),
        ("migrations", lambda: check_migrations(app)),
        ("secrets", lambda: check_secrets(app)),
        ("debug", lambda: check_debug(app)),
        ("admin password", lambda: check_admin_password(app)),
        ("default passwords", lambda: check_default_passwords(app)),
        ("https", lambda: check_https(app, url)),
        ("backups", lambda: check_backups(app, backup_dir)),
        ("qwen", lambda: check_qwen(app)),
        ("wechat", lambda: check_wechat(app)),
    ]
    results = []
    for name, check in checks:
        try:
            results.append(check())
        except Exception as exc:  # a broken check is a failed item, never a crash of the whole list
            results.append(Result(name, "fail", f"check crashed: {_short(exc)}", "report this as a bug"))
    return results


def _short(exc: BaseException, limit: int = 160) -> str:
    exc = getattr(exc, "orig", None) or exc  # the driver's message, without SQLAlchemy's SQL and parameters
    text_ = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text_ if len(text_) <= limit else text_[: limit - 1] + "…"
