"""Typed settings read from the environment and `.env`, validated at start-up.

`load_settings()` is the only place that reads ``os.environ``; everything else
reads ``app.config``.  With DEBUG off, a missing or weak secret stops the app
with a message naming the variable.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Mapping

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

WEAK_SECRETS = {
    "",
    "secret",
    "changeme",
    "change-me",
    "your-secret-key",
    "your-secret-key-here",
    "your-jwt-secret-key",
    "your-jwt-secret-key-here",
    "dev",
    "development",
    "password",
    "hydronet",
}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """Raised when the configuration cannot run the app safely."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def normalize_database_url(url: str) -> str:
    """Map the guide's ``postgresql://`` (and ``postgres://``) to the psycopg2 driver."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def load_dotenv_file(path: Path | None = None) -> None:
    """Load `.env` from the project root without overriding the real environment."""
    load_dotenv(path or PROJECT_ROOT / ".env", override=False)


def load_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config dict from ``env`` (default: os.environ after `.env`)."""
    if env is None:
        load_dotenv_file()
        env = os.environ
    debug = _bool(env.get("DEBUG") or env.get("FLASK_DEBUG"), False)
    instance = Path(env.get("HYDRONET_INSTANCE_DIR") or PROJECT_ROOT / "instance")
    db_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'hydronet.db'}"
    api_key = env.get("ALIYUN_API_KEY") or env.get("DASHSCOPE_API_KEY") or ""
    access_minutes = _int(env, "JWT_ACCESS_TOKEN_MINUTES", 15)
    cfg: dict[str, Any] = {
        "DEBUG": debug,
        "TESTING": _bool(env.get("TESTING"), False),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "JWT_SECRET_KEY": env.get("JWT_SECRET_KEY", ""),
        "JWT_PREVIOUS_SECRET_KEYS": _list(env.get("JWT_PREVIOUS_SECRET_KEYS")),
        "JWT_ACCESS_TOKEN_MINUTES": access_minutes,
        "JWT_REFRESH_TOKEN_DAYS": _int(env, "JWT_REFRESH_TOKEN_DAYS", 30),
        "INSTANCE_DIR": str(instance),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(db_url),
        "DATABASE_OWNER_URL": normalize_database_url(env["DATABASE_OWNER_URL"]) if env.get("DATABASE_OWNER_URL") else "",
        "SQLALCHEMY_ECHO": _bool(env.get("SQLALCHEMY_ECHO"), False),
        "SLOW_QUERY_MS": _int(env, "SLOW_QUERY_MS", 200),
        "REDIS_URL": env.get("REDIS_URL", ""),
        "REQUIRE_SERVICES": _bool(env.get("HYDRONET_REQUIRE_SERVICES"), False),
        "ALIYUN_API_KEY": api_key,
        "DASHSCOPE_HTTP_BASE_URL": env.get("DASHSCOPE_HTTP_BASE_URL", ""),
        "QWEN_DEFAULT_MODEL": env.get("QWEN_MODEL", "qwen-turbo"),
        "LLM_CONNECT_TIMEOUT_S": _float(env, "LLM_CONNECT_TIMEOUT_S", 10.0),
        "LLM_READ_TIMEOUT_S": _float(env, "LLM_READ_TIMEOUT_S", 60.0),
        "LLM_TOTAL_TIMEOUT_S": _float(env, "LLM_TOTAL_TIMEOUT_S", 300.0),
        "LLM_MAX_RETRIES": _int(env, "LLM_MAX_RETRIES", 2),
        "LLM_HISTORY_TOKENS": _int(env, "LLM_HISTORY_TOKENS", 6000),
        "CHAT_MAX_MESSAGE_CHARS": _int(env, "CHAT_MAX_MESSAGE_CHARS", 8000),
        "SSE_HEARTBEAT_S": _float(env, "SSE_HEARTBEAT_S", 15.0),
        # a turn's quota hold lapses after this long unless settled (a worker that died mid-turn)
        "QUOTA_HOLD_S": _float(env, "QUOTA_HOLD_S", 360.0),
        # a tenant's quota counters are checked against the usage aggregates at least this often
        "QUOTA_RECONCILE_S": _float(env, "QUOTA_RECONCILE_S", 300.0),
        "WECHAT_ENABLED": _bool(env.get("WECHAT_ENABLED"), False),
        "WECHAT_TOKEN": env.get("WECHAT_TOKEN", ""),
        "WECHAT_APP_ID": env.get("WECHAT_APP_ID", ""),
        "WECHAT_APP_SECRET": env.get("WECHAT_APP_SECRET", ""),
        "WECHAT_AES_KEY": env.get("WECHAT_AES_KEY", ""),
        "WECHAT_TENANT_SLUG": env.get("WECHAT_TENANT_SLUG", "demo"),
        "WECHAT_VERIFIED": _bool(env.get("WECHAT_VERIFIED"), False),
        "WECHAT_API_BASE_URL": env.get("WECHAT_API_BASE_URL", ""),
        "WECHAT_REPLY_BUDGET_S": _float(env, "WECHAT_REPLY_BUDGET_S", 4.5),
        "WECHAT_HOLD_UNTIL_S": _float(env, "WECHAT_HOLD_UNTIL_S", 6.0),
        "WECHAT_POLL_S": _float(env, "WECHAT_POLL_S", 0.1),
        "WECHAT_REST_DELAY_S": _float(env, "WECHAT_REST_DELAY_S", 1.0),
        "ADMIN_EMAIL": env.get("ADMIN_EMAIL", "admin@hydronet.com"),
        "ADMIN_PASSWORD": env.get("ADMIN_PASSWORD", ""),
        "PROXY_COUNT": _int(env, "PROXY_COUNT", 1),
        "CORS_ORIGINS": _list(env.get("CORS_ORIGINS")),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "10 per minute"),
        "RATELIMIT_REGISTER": env.get("RATELIMIT_REGISTER", "5 per minute"),
        "RATELIMIT_DEFAULT_API": env.get("RATELIMIT_DEFAULT_API", "300 per minute"),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_UPLOAD_MB", 20) * 1024 * 1024,
        "MAX_JSON_BYTES": _int(env, "MAX_JSON_KB", 256) * 1024,
        "SECRETS_ENCRYPTION_KEYS": _list(env.get("SECRETS_ENCRYPTION_KEYS")),
        "MCP_ALLOW_PRIVATE": _bool(env.get("HYDRONET_MCP_ALLOW_PRIVATE"), False),
        "MCP_ALLOWED_HOSTS": _list(env.get("HYDRONET_MCP_ALLOWED_HOSTS")),
        "METRICS_ENABLED": _bool(env.get("METRICS_ENABLED"), True),
        "METRICS_ALLOW": _list(env.get("METRICS_ALLOW") or "127.0.0.1,::1"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "LOG_JSON": _bool(env.get("LOG_JSON"), not debug),
        "ANALYSIS_TIMEOUT_S": _float(env, "ANALYSIS_TIMEOUT_S", 300.0),
        # a running job stamps a heartbeat this often; one silent for JOB_STALE_S lost its worker
        "JOB_HEARTBEAT_S": _float(env, "JOB_HEARTBEAT_S", 5.0),
        "JOB_STALE_S": _float(env, "JOB_STALE_S", 30.0),
        "JOBS_INLINE": _bool(env.get("HYDRONET_JOBS_INLINE"), False),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", ""),
        "VERSION": env.get("HYDRONET_VERSION", "1.0.0"),
    }
    return cfg


def validate_settings(cfg: dict[str, Any]) -> None:
    """Refuse to run without strong secrets unless DEBUG/TESTING; fill dev defaults otherwise."""
    relaxed = cfg.get("DEBUG") or cfg.get("TESTING")
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = cfg.get(name) or ""
        weak = value.lower() in WEAK_SECRETS or len(value) < MIN_SECRET_LENGTH or _looks_placeholder(value)
        if weak and not relaxed:
            raise ConfigError(
                f"{name} is missing or weak: set {name} to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters (python3 -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "or set DEBUG=True for local development"
            )
        if not value:
            cfg[name] = f"dev-only-{name.lower()}-not-for-production-0123456789"
    if cfg.get("WECHAT_ENABLED") and not cfg.get("WECHAT_TOKEN"):
        raise ConfigError("WECHAT_ENABLED is true but WECHAT_TOKEN is empty")
    if cfg.get("REQUIRE_SERVICES"):
        if not str(cfg["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
            raise ConfigError("HYDRONET_REQUIRE_SERVICES is set but DATABASE_URL is not PostgreSQL")
        if not cfg.get("REDIS_URL"):
            raise ConfigError("HYDRONET_REQUIRE_SERVICES is set but REDIS_URL is empty")


def _looks_placeholder(value: str) -> bool:
    return bool(re.search(r"your[-_]|change[-_]?me|example", value, re.IGNORECASE))
