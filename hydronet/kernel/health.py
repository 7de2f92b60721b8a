"""Can this instance reach what it needs? The database and the shared store, each checked cheaply."""

from __future__ import annotations

import logging

from sqlalchemy import text

from hydronet.kernel.db import db
from hydronet.kernel.store import get_store

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
