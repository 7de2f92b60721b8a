"""HTTP layer: each blueprint parses input, calls one service, serialises the result."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the app."""
    from . import admin, auth, chat, health, tenant, wechat

    for module in (health, auth, tenant, chat, admin, wechat):
        app.register_blueprint(module.bp)
