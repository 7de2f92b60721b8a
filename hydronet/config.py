"""Typed settings read from the environment and `.env`, validated at start-up.

`Settings` lists every setting once: its name is its environment variable (and
its ``app.config`` key), its annotation its type, its default the only default.
`Settings.from_env()` is the only place that reads ``os.environ``; everything
else reads ``app.config``.  With DEBUG off, a missing or weak secret stops the
app with a message naming the variable.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# Older or alternative names still read (documented in .env.example): new name ← old names.
ALIASES: dict[str, tuple[str, ...]] = {
    "DEBUG": ("FLASK_DEBUG",),
    "ALIYUN_API_KEY": ("DASHSCOPE_API_KEY",),
    "VERSION": ("HYDRONET_VERSION",),
    "INSTANCE_DIR": ("HYDRONET_INSTANCE_DIR",),
    "REQUIRE_SERVICES": ("HYDRONET_REQUIRE_SERVICES",),
    "MCP_ALLOW_PRIVATE": ("HYDRONET_MCP_ALLOW_PRIVATE",),
    "MCP_ALLOWED_HOSTS": ("HYDRONET_MCP_ALLOWED_HOSTS",),
    "JOBS_INLINE": ("HYDRONET_JOBS_INLINE",),
}


@dataclass(frozen=True)
class Settings:
    """Every setting HydroNet reads, typed, with its default (see .env.example for what each does)."""

    # core
    DEBUG: bool = False
    TESTING: bool = False
    VERSION: str = "1.0.0"
    SECRET_KEY: str = ""
    JWT_SECRET_KEY: str = ""
    JWT_PREVIOUS_SECRET_KEYS: tuple[str, ...] = ()
    JWT_ACCESS_TOKEN_MINUTES: int = 15
    JWT_REFRESH_TOKEN_DAYS: int = 30
    SECRETS_ENCRYPTION_KEYS: tuple[str, ...] = ()
    ADMIN_EMAIL: str = "admin@hydronet.com"
    ADMIN_PASSWORD: str = ""
    SEED_DEMO: bool = False  # create the demo account outside DEBUG (the embedded quick start sets it)
    PUBLIC_BASE_URL: str = ""
    # storage
    INSTANCE_DIR: str = str(PROJECT_ROOT / "instance")
    DATABASE_URL: str = ""  # empty: SQLite in INSTANCE_DIR
    DATABASE_OWNER_URL: str = ""
    SQLALCHEMY_ECHO: bool = False
    SLOW_QUERY_MS: int = 200
    REDIS_URL: str = ""  # empty: in-process stores, one process only
    REQUIRE_SERVICES: bool = False
    # the model
    ALIYUN_API_KEY: str = ""  # empty: the offline assistant
    DASHSCOPE_HTTP_BASE_URL: str = ""
    QWEN_MODEL: str = "qwen-turbo"
    LLM_CONNECT_TIMEOUT_S: float = 10.0
    LLM_READ_TIMEOUT_S: float = 60.0
    LLM_TOTAL_TIMEOUT_S: float = 300.0
    LLM_MAX_RETRIES: int = 2
    LLM_HISTORY_TOKENS: int = 6000
    CHAT_MAX_MESSAGE_CHARS: int = 8000
    SSE_HEARTBEAT_S: float = 15.0
    # WeChat
    WECHAT_ENABLED: bool = False
    WECHAT_TOKEN: str = ""
    WECHAT_APP_ID: str = ""
    WECHAT_APP_SECRET: str = ""
    WECHAT_AES_KEY: str = ""
    WECHAT_TENANT_SLUG: str = "demo"
    WECHAT_VERIFIED: bool = False
    WECHAT_API_BASE_URL: str = ""
    WECHAT_REPLY_BUDGET_S: float = 4.5
    WECHAT_HOLD_UNTIL_S: float = 6.0
    WECHAT_POLL_S: float = 0.1
    WECHAT_REST_DELAY_S: float = 1.0
    # HTTP
    PROXY_COUNT: int = 1
    CORS_ORIGINS: tuple[str, ...] = ()
    MAX_UPLOAD_MB: int = 20
    MAX_JSON_KB: int = 256
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_LOGIN: str = "10 per minute"
    RATELIMIT_REGISTER: str = "5 per minute"
    RATELIMIT_LOGIN_ADDRESS: str = "30 per minute"  # failed sign-ins per client address, any account
    RATELIMIT_DEFAULT_API: str = "300 per minute"
    # MCP egress
    MCP_ALLOW_PRIVATE: bool = False
    MCP_ALLOWED_HOSTS: tuple[str, ...] = ()
    # operations
    METRICS_ENABLED: bool = True
    METRICS_ALLOW: tuple[str, ...] = ("127.0.0.1", "::1")
    METRICS_TOKEN: str = ""
    LOG_LEVEL: str = "INFO"
    LOG_JSON: bool | None = None  # unset: JSON lines unless DEBUG
    BACKUP_DIR: str = "/var/backups/hydronet"
    # quotas: a turn's hold lapses after QUOTA_HOLD_S unless settled (a worker that died mid-turn);
    # a tenant's counters are checked against the usage aggregates at least every QUOTA_RECONCILE_S
    QUOTA_HOLD_S: float = 360.0
    QUOTA_RECONCILE_S: float = 300.0
    # analyses and jobs: a running job stamps a heartbeat every JOB_HEARTBEAT_S; one silent for
    # JOB_STALE_S lost its worker
    # a background analysis (and a whole sweep over its chunks) stops after ANALYSIS_TIMEOUT_S with a
    # partial result that says so; an hour lets Net6's full criticality (3,829 pipes) finish on one worker
    ANALYSIS_TIMEOUT_S: float = 3600.0
    JOBS_INLINE: bool = False
    JOB_HEARTBEAT_S: float = 5.0
    JOB_STALE_S: float = 30.0
    # processes per gevent web worker that parse uploads and run inline analyses off its event loop
    # (hydronet.kernel.cpu); 0 runs them in the worker itself
    CPU_POOL_PROCESSES: int = 1
    # a sweep run by an RQ worker is split into chunks of this many scenarios that any worker takes
    # (0: one job in one process)
    SWEEP_CHUNK_SCENARIOS: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``env`` (default: ``os.environ`` after `.env`); unset names keep their default."""
        if env is None:
            load_dotenv_file()
            env = os.environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = _raw(env, f.name)
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f.default)
        return cls(**values)

    def flask_config(self) -> dict[str, Any]:
        """``app.config``: every setting under its own name, plus the keys Flask and its extensions read."""
        cfg = dataclasses.asdict(self)
        cfg["LOG_JSON"] = (not self.DEBUG) if self.LOG_JSON is None else self.LOG_JSON
        db_url = self.DATABASE_URL or f"sqlite:///{Path(self.INSTANCE_DIR) / 'hydronet.db'}"
        cfg["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(db_url)
        cfg["DATABASE_OWNER_URL"] = normalize_database_url(self.DATABASE_OWNER_URL) if self.DATABASE_OWNER_URL else ""
        cfg["MAX_CONTENT_LENGTH"] = self.MAX_UPLOAD_MB * 1024 * 1024
        for name in (
            "JWT_PREVIOUS_SECRET_KEYS",
            "CORS_ORIGINS",
            "SECRETS_ENCRYPTION_KEYS",
            "MCP_ALLOWED_HOSTS",
            "METRICS_ALLOW",
        ):
            cfg[name] = list(cfg[name])
        return cfg


def _raw(env: Mapping[str, str], name: str) -> str | None:
    for key in (name, *ALIASES.get(name, ())):
        if env.get(key) not in (None, ""):
            return env[key]
    return None


def _parse(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool) or (default is None and name == "LOG_JSON"):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def build_config(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The validated ``app.config`` for `create_app`: the environment's settings, then ``overrides``.

    An override named like a setting replaces it (and what derives from it);
    any other key (e.g. ``SQLALCHEMY_DATABASE_URI`` in tests) goes to
    ``app.config`` as given.
    """
    overrides = dict(overrides or {})
    names = {f.name for f in dataclasses.fields(Settings)}
    settings = dataclasses.replace(
        Settings.from_env(env), **{k: _coerce(k, v) for k, v in overrides.items() if k in names}
    )
    cfg = settings.flask_config()
    cfg.update({k: v for k, v in overrides.items() if k not in names})
    validate_settings(cfg)
    return cfg


def _coerce(name: str, value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, str) and not isinstance(getattr(Settings, name, ""), str):
        return _parse(name, value, getattr(Settings, name))
    return value


def normalize_database_url(url: str) -> str:
    """Map the guide's ``postgresql://`` (and ``postgres://``) to the psycopg2 driver."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def load_dotenv_file(path: Path | None = None) -> None:
    """Load `.env` from the project root without overriding the real environment."""
    load_dotenv(path or PROJECT_ROOT / ".env", override=False)


def validate_settings(cfg: dict[str, Any]) -> None:
    """Refuse to run without strong secrets unless DEBUG/TESTING; fill dev defaults otherwise."""
    relaxed = cfg.get("DEBUG") or cfg.get("TESTING")
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = cfg.get(name) or ""
        weak = value.lower() in WEAK_SECRETS or len(value) < MIN_SECRET_LENGTH or looks_placeholder(value)
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
            raise ConfigError("REQUIRE_SERVICES is set but DATABASE_URL is not PostgreSQL")
        if not cfg.get("REDIS_URL"):
            raise ConfigError("REQUIRE_SERVICES is set but REDIS_URL is empty")


def looks_placeholder(value: str) -> bool:
    return bool(re.search(r"your[-_]|change[-_]?me|example", value, re.IGNORECASE))
