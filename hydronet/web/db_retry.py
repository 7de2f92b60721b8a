"""A request whose database connection dies before it wrote anything runs again, once.

A PostgreSQL backend terminated by an administrator, a restart or a managed
failover (the endpoint switches, old connections are cut) fails the next
statement of whichever pooled connection meets it first.  SQLAlchemy then
invalidates that connection and every one pooled before it, so the request
that met the failure is the only casualty.  If it had neither written (a
statement that changes data succeeded) nor done something a second run would
repeat (a model call: kernel.dbpool.mark_unrepeatable), running the view
again on a fresh connection is safe and the client never sees the fault.
Otherwise the error handler answers 503 ``database_unavailable`` with
Retry-After (web/errors.py), never a 500.

A write whose statement failed with its connection died with its transaction
(the server rolls it back), so it does not count as written.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import exc

from hydronet.kernel.db import db
from hydronet.kernel.dbpool import request_repeatable, reset_repeatable, track_writes

log = logging.getLogger(__name__)


def install_db_retry(app: Flask) -> None:
    """Wrap the app's view dispatch with the retry; note written statements per request."""
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        track_writes(engine)
    dispatch = app.dispatch_request

    def dispatch_with_retry() -> Any:
        reset_repeatable()
        try:
            return dispatch()
        except exc.DBAPIError as err:
            if not err.connection_invalidated or not request_repeatable():
                raise
            log.warning(
                "database connection lost before any write (%s); running the request again once",
                type(err.orig).__name__,
            )
            db.session.rollback()
            reset_repeatable()
            return dispatch()

    app.dispatch_request = dispatch_with_retry  # type: ignore[method-assign]
