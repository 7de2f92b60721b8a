"""Keyset pagination: opaque cursors over (timestamp, id), stable under inserts."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_

from hydronet.kernel.errors import ValidationError

MAX_LIMIT = 100


def encode_cursor(ts: datetime, row_id: Any) -> str:
    """An opaque cursor pointing just past (ts, id)."""
    raw = json.dumps([ts.isoformat(), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, id_type: type = uuid.UUID) -> tuple[datetime, Any] | None:
    """Parse a cursor; 422 when it was not produced by encode_cursor."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        ts_raw, id_raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(ts_raw), id_type(id_raw)
    except Exception:
        raise ValidationError({"cursor": "is not a valid cursor"}) from None


def after(stmt: Select, ts_col, id_col, cursor: tuple[datetime, Any] | None, *, descending: bool) -> Select:
    """Order by (ts, id) and continue after the cursor position."""
    if cursor is not None:
        ts, row_id = cursor
        # A row-value comparison, not (ts < x OR (ts = x AND id < y)): PostgreSQL turns it
        # into one index range scan, so a page deep in a million rows costs what page one does.
        position = tuple_(ts_col, id_col)
        stmt = stmt.where(position < tuple_(ts, row_id) if descending else position > tuple_(ts, row_id))
    order = (ts_col.desc(), id_col.desc()) if descending else (ts_col.asc(), id_col.asc())
    return stmt.order_by(*order)


def page(rows: Sequence[Any], limit: int, ts_attr: str = "created_at") -> tuple[list[Any], str | None]:
    """Trim the look-ahead row and build the next cursor (rows fetched with limit + 1)."""
    items = list(rows[:limit])
    if len(rows) > limit and items:
        last = items[-1]
        return items, encode_cursor(getattr(last, ts_attr), last.id)
    return items, None
