"""SQL timing: statements counted per request (``g.sql_count``) and slow ones logged.

A statement slower than SLOW_QUERY_MS is logged at WARNING on ``hydronet.sql``
with its duration and the request id; only the statement text (shortened) is
logged, never its parameters, which may carry passwords, tokens or user text.
SLOW_QUERY_MS = 0 logs every statement; a negative value logs none.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import Flask, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from hydronet.kernel.db import db
from hydronet.kernel.metrics import SLOW_QUERIES

log = logging.getLogger("hydronet.sql")
MAX_STATEMENT_CHARS = 300
_STARTED = "hydronet_sql_started"
_SPACES = re.compile(r"\s+")


def sql_count() -> int:
    """Statements executed so far in the current request (or app context)."""
    return g.get("sql_count", 0) if has_app_context() else 0


def shorten(statement: str, limit: int = MAX_STATEMENT_CHARS) -> str:
    """The statement on one line, cut to ``limit`` characters."""
    flat = _SPACES.sub(" ", statement).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def init_db_timing(app: Flask) -> None:
    """Listen to the cursor executions of every engine of ``app``."""
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        _attach(app, engine)


def _attach(app: Flask, engine: Engine) -> None:
    def before(conn: Connection, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool) -> None:
        conn.info[_STARTED] = time.perf_counter()

    def after(conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
        started = conn.info.pop(_STARTED, None)
        if has_app_context():
            g.sql_count = g.get("sql_count", 0) + 1
        if started is None:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        threshold = app.config["SLOW_QUERY_MS"]
        if threshold is None or threshold < 0 or elapsed_ms < threshold:
            return

        SLOW_QUERIES.inc()
        request_id = g.get("request_id", "-") if has_app_context() else "-"
        log.warning(
            "slow query %.1f ms (threshold %s ms) rid=%s: %s",
            elapsed_ms,
            threshold,
            request_id,
            shorten(statement),
            extra={"request_id": request_id, "duration_ms": round(elapsed_ms, 1)},
        )

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
