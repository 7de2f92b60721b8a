"""The composition root: `create_app` wires settings, extensions, every domain's routes, jobs and
tools, error handlers and CLI commands — and nothing else.  The only module that knows all domains.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from hydronet.auth import cache as auth_cache
from hydronet.auth import routes as auth_routes
from hydronet.auth import web_session
from hydronet.auth.jwt import init_jwt
from hydronet.auth.ratelimit import limiter
from hydronet.auth.ratelimit_storage import storage_uri
from hydronet.chat import assistant
from hydronet.chat import routes as chat_routes
from hydronet.config import PROJECT_ROOT, build_config
from hydronet.kernel import cpu, jobs, tenancy
from hydronet.kernel.db import db, migrate
from hydronet.kernel.dbpool import install_idle_ping
from hydronet.kernel.dbtiming import init_db_timing
from hydronet.kernel.jsonio import SafeJSONProvider
from hydronet.kernel.logs import configure_logging
from hydronet.kernel.store import make_store
from hydronet.mcp import routes as mcp_routes
from hydronet.mcp import server as mcp_server
from hydronet.mcp.tools import tenant_mcp_tools
from hydronet.tenants import admin_routes
from hydronet.tenants import routes as tenant_routes
from hydronet.water import defaults_routes as analysis_defaults_routes
from hydronet.water import routes as water_routes
from hydronet.water.brief import write_brief
from hydronet.water.tools import TOOLS as WATER_TOOLS
from hydronet.web import health, metrics, ui
from hydronet.web.cli import register_cli
from hydronet.web.db_retry import install_db_retry
from hydronet.web.errors import register_error_handlers
from hydronet.web.http import init_http
from hydronet.web.openapi import routes as openapi_routes
from hydronet.wechat import admin_routes as wechat_admin_routes
from hydronet.wechat import jobs as wechat_jobs  # noqa: F401  (registers the WeChat answer jobs)
from hydronet.wechat import routes as wechat_routes

log = logging.getLogger(__name__)

BLUEPRINTS = (
    health.bp,  # /api/health
    auth_routes.bp,  # /api/auth
    tenant_routes.bp,  # /api/tenant
    chat_routes.bp,  # /api/chat
    admin_routes.bp,  # /api/admin: the platform operator
    wechat_routes.bp,  # /wechat: the official account's callback
    mcp_routes.bp,  # /api/tenant/mcp-servers
    wechat_admin_routes.bp,  # /api/tenant/wechat
    water_routes.bp,  # /api/networks: EPANET networks, analyses, maps, time series
    water_routes.jobs_bp,  # /api/jobs: background analysis jobs
    analysis_defaults_routes.bp,  # /api/tenant/analysis-defaults: a tenant's design defaults
    web_session.bp,  # /api/auth/web: browser sessions (httpOnly refresh cookie)
    ui.bp,  # HTML pages of the browser UI
    openapi_routes.bp,  # /api/openapi.json: the OpenAPI document (generated from url_map)
    metrics.bp,  # /metrics: Prometheus, allowed addresses or METRICS_TOKEN only
    mcp_server.bp,  # /mcp: HydroNet as an MCP server
)
# what the CPU pool's processes import before their first task (the parse and analysis functions)
CPU_PRELOAD = ("hydronet.water.jobs",)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides values read from the environment."""
    app = Flask(
        "hydronet",
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(build_config(config))
    app.json = SafeJSONProvider(app)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep "success" first
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # readable Chinese in curl

    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_JSON"])
    if app.config["PROXY_COUNT"] > 0:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    _init_extensions(app)
    init_http(app)
    register_error_handlers(app)
    install_db_retry(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    assistant.init_tools(app, builtin=WATER_TOOLS, per_tenant=(tenant_mcp_tools,), offline_brief=write_brief)
    jobs.init_app(app, create_app)
    cpu.init_app(app, preload=CPU_PRELOAD)
    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        # no pool_pre_ping: dbpool pings only connections that sat idle (one round trip fewer per transaction)
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_size": 10, "max_overflow": 20})
    db.init_app(app)
    if not uri.startswith("sqlite"):
        with app.app_context():
            install_idle_ping(db.engine)
            tenancy.install_engine(db.engine)  # RLS settings ride with each transaction's first statement
    with app.app_context():
        tenancy.guard_engine(db.engine)  # Core statements on tenant tables only through tenancy.execute
    init_db_timing(app)  # g.sql_count per request, slow statements logged
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    tenancy.install(Session)
    auth_cache.install(Session)  # commits that change a user or tenant invalidate its cached snapshot

    store = make_store(app.config["REDIS_URL"])
    app.extensions["hydronet_store"] = store
    if store.kind == "memory":
        log.warning(
            "REDIS_URL not set: using in-process stores (single-process mode; "
            "rate limits, quotas and token revocation are not shared between processes)"
        )
    # Redis: limits' storage with hit + window state in one round trip (ratelimit_storage.py).
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "hydronet-rl")
    limiter.init_app(app)
    init_jwt(app)
