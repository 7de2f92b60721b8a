"""Pooled PostgreSQL connections: pinged only after sitting idle, replaced when found dead."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, exc, text

from hydronet.config import normalize_database_url
from hydronet.kernel.dbpool import install_idle_ping


@pytest.fixture
def engine(backends):
    if not backends.is_postgres:
        pytest.skip("PostgreSQL only (SQLite has no server connection to lose)")
    eng = create_engine(normalize_database_url(backends.superuser_url), pool_size=1, max_overflow=0)
    install_idle_ping(eng, idle_s=1.0)
    yield eng
    eng.dispose()


def _pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _kill(backends, pid: int) -> None:
    admin = backends.superuser_connection()
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        admin.close()
    time.sleep(0.05)


def test_a_connection_killed_while_idle_is_replaced_transparently(engine, backends):
    first = _pid(engine)
    _kill(backends, first)
    time.sleep(1.2)  # idle longer than idle_s: the checkout pings, finds it dead, reconnects
    assert _pid(engine) != first


def test_a_connection_in_steady_use_is_not_pinged(engine, backends):
    for _ in range(3):
        _pid(engine)
    # a connection checked in moments ago is handed out without a round trip: killed
    # behind the pool's back, it fails its next statement once
    first = _pid(engine)
    _kill(backends, first)
    with pytest.raises(exc.OperationalError):
        _pid(engine)
    assert _pid(engine) != first  # the failure discarded it: the next checkout reconnects
