"""HydroNet: a multi-tenant assistant that analyses water networks.

`create_app(config=None)` wires settings, extensions, blueprints, error
handlers and CLI commands — and nothing else.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import PROJECT_ROOT, load_settings, validate_settings

__version__ = "1.0.0"
log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides values read from the environment."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    settings = load_settings()
    settings.update(config or {})
    from .config import normalize_database_url

    if settings.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(settings.pop("DATABASE_URL"))
    if settings.get("DATABASE_OWNER_URL"):
        settings["DATABASE_OWNER_URL"] = normalize_database_url(settings["DATABASE_OWNER_URL"])
    validate_settings(settings)
    app.config.update(settings)
    app.config.setdefault("VERSION", __version__)
    from .jsonio import SafeJSONProvider

    app.json = SafeJSONProvider(app)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep "success" first
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # readable Chinese in curl

    from .logging_setup import configure_logging

    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_JSON"])
    if app.config["PROXY_COUNT"] > 0:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    _init_extensions(app)

    from .blueprints import register_blueprints
    from .cli import register_cli
    from .errors import register_error_handlers
    from .http import init_http

    init_http(app)
    register_error_handlers(app)
    register_blueprints(app)
    from .mcp.server import init_mcp

    init_mcp(app)
    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from . import tenancy
    from .extensions import db, limiter, migrate
    from .security.jwt_handlers import init_jwt
    from .store import make_store

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        # no pool_pre_ping: dbpool pings only connections that sat idle (one round trip fewer per transaction)
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_size": 10, "max_overflow": 20})
    db.init_app(app)
    if not uri.startswith("sqlite"):
        from .dbpool import install_idle_ping

        with app.app_context():
            install_idle_ping(db.engine)
            tenancy.install_engine(db.engine)  # RLS settings ride with each transaction's first statement
    from .dbtiming import init_db_timing

    init_db_timing(app)  # g.sql_count per request, slow statements logged
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    tenancy.install(Session)
    from .services import cache

    cache.install(Session)  # commits that change a user or tenant invalidate its cached snapshot

    store = make_store(app.config["REDIS_URL"])
    app.extensions["hydronet_store"] = store
    if store.kind == "memory":
        log.warning("REDIS_URL not set: using in-process stores (single-process mode; "
                    "rate limits, quotas and token revocation are not shared between processes)")
    redis_url = app.config["REDIS_URL"]
    from .security.ratelimit_storage import storage_uri

    # Redis: limits' storage with hit + window state in one round trip (ratelimit_storage.py).
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(redis_url))
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "hydronet-rl")
    limiter.init_app(app)
    init_jwt(app)
