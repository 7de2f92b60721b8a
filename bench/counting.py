"""Counting what a request costs: SQL statements and Redis round trips.

Used by the bench (phase c) and by the guard tests in tests/web/test_query_counts.py.

* SQL: every statement the engine sends (``before_cursor_execute``), plus the
  COMMIT/ROLLBACK round trips, which psycopg2 sends without a cursor.
* Redis: every packet written by a redis-py connection
  (``send_packed_command``) — a plain command, a pipeline and an EVALSHA are
  one round trip each.  This covers the app's store, flask-limiter's storage
  and RQ alike, since all of them use redis-py connections.  Connection
  set-up (HELLO, CLIENT SETINFO) counts too, so warm the pools first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.connection
from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class Counts:
    """What was sent while the counter was active."""

    sql: list[str] = field(default_factory=list)
    transactions: int = 0
    redis: list[str] = field(default_factory=list)

    @property
    def sql_statements(self) -> int:
        return len(self.sql)

    @property
    def redis_round_trips(self) -> int:
        return len(self.redis)

    def reset(self) -> None:
        self.sql.clear()
        self.redis.clear()
        self.transactions = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sql_statements": self.sql_statements,
            "sql_transactions_ended": self.transactions,
            "redis_round_trips": self.redis_round_trips,
            "sql": [_first_words(s) for s in self.sql],
            "redis": list(self.redis),
        }


def _first_words(statement: str, n: int = 6) -> str:
    """A short, parameter-free label: ``SELECT … FROM messages``, ``INSERT INTO messages`` …"""
    words = statement.split()
    flat = " ".join(words)
    if words and words[0].upper() == "SELECT" and " FROM " in flat.upper():
        table = flat[flat.upper().index(" FROM ") + 6 :].split()[0]
        return f"SELECT … FROM {table.lower()}"
    return " ".join(words[:n])


def _redis_commands(packed: Any) -> str:
    """Command names in a packed RESP request (a pipeline holds several)."""
    raw = (
        packed
        if isinstance(packed, (bytes, bytearray))
        else b"".join(p.encode() if isinstance(p, str) else bytes(p) for p in packed)
    )
    names, parts = [], raw.split(b"\r\n")
    for i, part in enumerate(parts):
        if part.startswith(b"*") and i + 2 < len(parts):
            names.append(parts[i + 2].decode("latin-1").upper())
    return "+".join(names) or "?"


@contextmanager
def counting(engine: Engine | None) -> Iterator[Counts]:
    """Count SQL on ``engine`` (None: Redis only) and Redis round trips of every redis-py connection."""
    counts = Counts()
    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(conn: Any, command: Any, check_health: bool = True) -> None:
        counts.redis.append(_redis_commands(command))
        return original(conn, command, check_health)

    def before(_conn, _cursor, statement, _params, _context, _many) -> None:
        counts.sql.append(statement)

    def ended(_conn) -> None:
        counts.transactions += 1

    redis.connection.AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    if engine is not None:
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "commit", ended)
        event.listen(engine, "rollback", ended)
    try:
        yield counts
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
        if engine is not None:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "commit", ended)
            event.remove(engine, "rollback", ended)
