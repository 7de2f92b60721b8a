"""SQL timing: statements counted per request, slow ones logged without their parameters."""

from __future__ import annotations

import logging

from flask import g
from sqlalchemy import text

from hydronet.kernel.db import db
from hydronet.kernel.dbtiming import MAX_STATEMENT_CHARS, shorten, sql_count

# Slow enough to pass 1 ms on any machine, on SQLite and PostgreSQL alike.
SLOW_SQL = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) "
    "SELECT count(*) FROM c WHERE 1 = :flag"
)


def slow_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hydronet.sql" and r.levelno == logging.WARNING]


def test_statements_are_counted_per_request(app):
    with app.test_request_context():
        assert sql_count() == 0
        db.session.execute(text("SELECT 1"))  # on PostgreSQL the session's first statement also sets RLS state
        first = sql_count()
        assert first >= 1
        for _ in range(3):
            db.session.execute(text("SELECT 1"))
        assert g.sql_count == first + 3 == sql_count()
    with app.test_request_context():
        assert sql_count() == 0  # a new request starts from zero


def test_slow_statement_is_logged_with_duration_and_request_id_but_no_parameters(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SLOW_QUERY_MS", 1)
    caplog.set_level(logging.WARNING, logger="hydronet.sql")
    secret = "hunter2-secret-value"
    with app.test_request_context():
        g.request_id = "rid-slow-query-0001"
        db.session.execute(text(SLOW_SQL + " AND :secret = :secret"), {"flag": 1, "secret": secret})
        db.session.rollback()
    records = [r for r in slow_records(caplog) if "WITH RECURSIVE c(x)" in r.getMessage()]
    assert len(records) == 1
    message = records[0].getMessage()
    assert message.startswith("slow query ")
    assert records[0].request_id == "rid-slow-query-0001" and "rid=rid-slow-query-0001" in message
    assert records[0].duration_ms >= 1
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_fast_statements_and_a_negative_threshold_log_nothing(app, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="hydronet.sql")
    monkeypatch.setitem(app.config, "SLOW_QUERY_MS", 60_000)
    with app.app_context():
        db.session.execute(text(SLOW_SQL), {"flag": 1})
        monkeypatch.setitem(app.config, "SLOW_QUERY_MS", -1)
        db.session.execute(text(SLOW_SQL), {"flag": 1})
        db.session.rollback()
    assert slow_records(caplog) == []


def test_request_through_the_app_logs_its_own_request_id(app, client, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SLOW_QUERY_MS", 0)  # 0: every statement
    caplog.set_level(logging.WARNING, logger="hydronet.sql")
    resp = client.get("/api/health", headers={"X-Request-ID": "health-check-rid-42"})
    assert resp.status_code == 200
    assert any(r.request_id == "health-check-rid-42" and "SELECT 1" in r.getMessage() for r in slow_records(caplog))


def test_long_statements_are_shortened_to_one_line():
    statement = "SELECT\n    " + ",\n    ".join(f"column_{i}" for i in range(200)) + "\nFROM t"
    short = shorten(statement)
    assert len(short) == MAX_STATEMENT_CHARS and short.endswith("…") and "\n" not in short
    assert shorten("SELECT  1\n") == "SELECT 1"
