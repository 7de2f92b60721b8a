"""PostgreSQL connections terminated under the app (pg_terminate_backend, as a failover does): a request
that wrote nothing runs again on a fresh connection; one that cannot be served answers 503
`database_unavailable` with Retry-After, never 500.  Only this test database's backends are touched."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import psycopg2
import pytest
from sqlalchemy import func, select

from hydronet.kernel.db import db
from hydronet.kernel.dbpool import is_write
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Message
from tests.fakes.fake_dashscope import FakeReply


@pytest.fixture
def pg(backends):
    if not backends.is_postgres:
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    yield backends
    for app in backends.apps:  # the suite's own helpers (factory, cleaning) hold pooled connections too
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def _terminate_app_backends(backends) -> int:
    """Terminate every backend connected to this test database (and no other)."""
    conn = psycopg2.connect(backends.admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (backends.dbname,),
            )
            killed = cur.fetchone()[0]
    finally:
        conn.close()
    time.sleep(0.1)
    return int(killed)


@contextmanager
def _database_refusing_connections(backends):
    """No new connection to the test database (a failover in progress); the existing ones are cut."""
    admin = psycopg2.connect(backends.admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{backends.dbname}" WITH ALLOW_CONNECTIONS false')
        _terminate_app_backends(backends)
        yield
    finally:
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{backends.dbname}" WITH ALLOW_CONNECTIONS true')
        admin.close()


def _assert_503(resp):
    assert resp.status_code == 503, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"]["code"] == "database_unavailable"
    assert int(resp.headers["Retry-After"]) > 0
    assert "Traceback" not in resp.get_data(as_text=True) and "terminat" not in resp.get_data(as_text=True)


def test_writes_are_told_from_reads():
    assert is_write("INSERT INTO messages (id) VALUES (1)")
    assert is_write("SELECT set_config('app.tenant_id', 'x', true);\nUPDATE conversations SET n = n + 1")
    assert not is_write("SELECT set_config('app.tenant_id', 'x', true);\nSELECT * FROM conversations")
    assert not is_write("SELECT id FROM jobs FOR UPDATE")


def test_a_read_whose_connection_was_terminated_is_served_on_a_fresh_one(pg, client, member, caplog):
    _user, headers = member
    for _ in range(3):  # the pool holds connections in steady use (not pinged on checkout)
        assert client.get("/api/chat/conversations", headers=headers).status_code == 200
    assert _terminate_app_backends(pg) >= 1
    resp = client.get("/api/chat/conversations", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert any("running the request again" in r.getMessage() for r in caplog.records)  # it met the dead one


def test_a_turn_whose_connection_died_while_the_model_answered_is_stored_once(
    pg, qwen_client, qwen_app, fake_dashscope, member, caplog
):
    """The model answered, the pooled connection was cut meanwhile: the turn is stored on a fresh one."""
    _user, headers = member
    cid = qwen_client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    fake_dashscope.script(FakeReply(text="一二三四", chunks=4, chunk_interval_s=0.2))
    result = {}
    sender = threading.Thread(
        target=lambda: result.setdefault(
            "resp",
            qwen_app.test_client().post(
                f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "hi"}
            ),
        )
    )
    sender.start()
    deadline = time.time() + 10
    while not fake_dashscope.requests and time.time() < deadline:  # the model is answering
        time.sleep(0.02)
    assert _terminate_app_backends(pg) >= 1
    sender.join(20)
    resp = result["resp"]
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert any("storing it again" in r.getMessage() for r in caplog.records)  # the fault met the store step
    with qwen_app.app_context(), all_tenants(db.session):
        assert db.session.scalar(select(func.count(Message.id)).where(Message.conversation_id == cid)) == 2


def test_unreachable_database_is_503_database_unavailable_for_reads_and_writes(pg, client, member):
    _user, headers = member
    assert client.get("/api/chat/conversations", headers=headers).status_code == 200
    with _database_refusing_connections(pg):
        _assert_503(client.get("/api/chat/conversations", headers=headers))
        _assert_503(client.post("/api/chat/conversations", headers=headers, json={"title": "x"}))
    assert client.get("/api/chat/conversations", headers=headers).status_code == 200  # back at once
