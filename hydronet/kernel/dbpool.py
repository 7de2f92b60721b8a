"""Liveness of pooled database connections: checked only after they sat idle.

SQLAlchemy's ``pool_pre_ping`` sends a ``SELECT 1`` on every checkout — a
round trip per transaction (two per chat turn).  A connection that was in
use moments ago is alive as far as any check could tell, so here the ping is
sent only when the connection has been idle for ``idle_s`` seconds (after a
quiet spell, a database restart, a failover).  A dead connection found by the
ping is replaced transparently (DisconnectionError in a checkout handler is
SQLAlchemy's documented way to make the pool retry with a new connection).
One that dies between two busy uses fails its statement like any query that
meets a dropped connection, and the pool then discards the connections it
held before the failure.

This module also notes, per request, whether anything was done that running
the request again would repeat (a statement that wrote, a model call): the
web layer retries a request whose connection died only when nothing was
(web/db_retry.py).
"""

from __future__ import annotations

import re
import time

from flask import g, has_request_context
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

IDLE_KEY = "hydronet_idle_since"


def install_idle_ping(engine: Engine, idle_s: float = 2.0) -> None:
    """Ping connections on checkout only if they were checked in more than ``idle_s`` ago."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn, record) -> None:
        record.info[IDLE_KEY] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy) -> None:
        since = record.info.get(IDLE_KEY)
        if since is None or time.monotonic() - since < idle_s:
            return  # just connected, or just used
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                raise exc.DisconnectionError() from err
            raise


# -- what a request did that a retry would repeat (web/db_retry.py) --------------------------------

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|WITH|CREATE|ALTER|DROP|TRUNCATE|COPY)\b", re.I)
_UNREPEATABLE = "hydronet_unrepeatable"


def is_write(statement: str) -> bool:
    """True when any part of the statement (RLS settings ride in front, tenancy.py) changes data.

    WITH counts as a write: it may carry a data-modifying CTE.
    """
    return any(_WRITE.match(part) for part in statement.split(";"))


def track_writes(engine: Engine) -> None:
    """Mark the current request unrepeatable once one of its statements wrote (and succeeded)."""

    @event.listens_for(engine, "after_cursor_execute")
    def _note_write(_conn, _cursor, statement, _params, _context, _many) -> None:
        if has_request_context() and is_write(statement):
            setattr(g, _UNREPEATABLE, True)


def mark_unrepeatable() -> None:
    """This request did something outside the database a retry would do twice (a model call …)."""
    if has_request_context():
        setattr(g, _UNREPEATABLE, True)


def request_repeatable() -> bool:
    """True while the current request has neither written to the database nor marked a side effect."""
    return has_request_context() and not g.get(_UNREPEATABLE, False)


def reset_repeatable() -> None:
    """Start (or restart) the request's bookkeeping."""
    if has_request_context():
        setattr(g, _UNREPEATABLE, False)
