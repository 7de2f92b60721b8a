"""HTTP layer: each blueprint parses input, calls one service, serialises the result."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the app."""
    from . import admin, auth, chat, health, mcp_admin, tenant, wechat

    for module in (health, auth, tenant, chat, admin, wechat, mcp_admin):
        app.register_blueprint(module.bp)
    app.register_blueprint(wechat.admin_bp)  # /api/tenant/wechat
    from . import networks

    app.register_blueprint(networks.bp)  # /api/networks: EPANET networks, analyses, maps, time series
    app.register_blueprint(networks.jobs_bp)  # /api/jobs: background analysis jobs
    from . import ui, web_session

    app.register_blueprint(web_session.bp)  # /api/auth/web: browser sessions (httpOnly refresh cookie)
    app.register_blueprint(ui.bp)  # HTML pages of the browser UI
    from .openapi import bp as openapi_bp

    app.register_blueprint(openapi_bp)  # /api/openapi.json: the OpenAPI document (generated from url_map)
    from .metrics import bp as metrics_bp

    app.register_blueprint(metrics_bp)  # /metrics: Prometheus, allowed addresses or METRICS_TOKEN only
