"""/api/health: is this instance able to serve?"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db, get_store

bp = Blueprint("health", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


def check_dependencies() -> dict[str, str]:
    """'ok' or a short error for the database and the shared store."""
    result = {}
    try:
        db.session.execute(text("SELECT 1"))
        result["database"] = "ok"
    except Exception as exc:  # report, never raise
        db.session.rollback()
        log.warning("health: database check failed: %s", exc)
        result["database"] = f"error: {type(exc).__name__}"
    store = get_store()
    try:
        store.ping()
        result["redis"] = "ok" if store.kind == "redis" else "ok (in-process store, single-process mode)"
    except Exception as exc:
        log.warning("health: redis check failed: %s", exc)
        result["redis"] = f"error: {type(exc).__name__}"
    return result


@bp.get("/health")
def health():
    """200 healthy when the database and Redis answer, else 503 naming the failure."""
    deps = check_dependencies()
    healthy = all(v.startswith("ok") for v in deps.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "success": healthy,
        **deps,
        "version": current_app.config["VERSION"],
        "assistant": "qwen" if current_app.config["ALIYUN_API_KEY"] else "offline",
    }
    if not healthy:
        body["failed"] = [k for k, v in deps.items() if not v.startswith("ok")]
    resp = jsonify(body)
    resp.status_code = 200 if healthy else 503
    return resp
