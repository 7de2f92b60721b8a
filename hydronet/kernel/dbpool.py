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
"""
from __future__ import annotations

import time

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
