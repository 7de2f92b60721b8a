"""Chat turns under faults: Redis lost after the commit, the conversation deleted mid-answer, quota
holds left behind by a worker that died.  Both modes (Redis + PostgreSQL, in-process + SQLite)."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy import func, select

from hydronet.kernel.db import db
from hydronet.kernel.errors import QuotaExceeded
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Message, UsageDaily, UsageRecord
from hydronet.tenants import quotas
from tests.fakes.fake_dashscope import FakeReply
from tests.support.sse import sse_events

SLOW = dict(chunks=6, chunk_interval_s=0.25)


def _conv(client, headers):
    resp = client.post("/api/chat/conversations", headers=headers, json={})
    assert resp.status_code == 201
    return resp.get_json()["conversation"]["id"]


def _counts(app, tenant_id):
    """(messages stored, usage-day messages, usage-day tokens) of a tenant: the truth."""
    with app.app_context(), all_tenants(db.session):
        stored = db.session.scalar(select(func.count(Message.id)).where(Message.tenant_id == tenant_id))
        day_messages, day_tokens = db.session.execute(
            select(
                func.coalesce(func.sum(UsageDaily.messages), 0),
                func.coalesce(func.sum(UsageDaily.input_tokens + UsageDaily.output_tokens), 0),
            ).where(UsageDaily.tenant_id == tenant_id)
        ).one()
        return int(stored), int(day_messages), int(day_tokens)


def _counter(app, tenant_id, quota):
    """(committed, held) of a tenant's quota counter in the store."""
    with app.app_context():
        key = quotas._counter_key(tenant_id, quota, quotas.period_bounds(quota)[0])
        store = get_store()
        return int(store.get(key) or 0), store.held(key)


class _StoreOutage:
    """Make the app's store unreachable: Redis is pointed at a closed port, the in-process store refuses."""

    def __init__(self, app, monkeypatch) -> None:
        self.store = app.extensions["hydronet_store"]
        self.monkeypatch = monkeypatch
        self.saved_port = None

    def start(self) -> None:
        if self.store.kind == "redis":
            pool = self.store.client.connection_pool
            self.saved_port = pool.connection_kwargs["port"]
            pool.connection_kwargs["port"] = 1  # nothing listens there: connection refused
            pool.disconnect()
            pool.reset()  # connections made before keep their own port: start the pool afresh
        else:

            def refuse(*_a, **_k):
                raise redis.exceptions.ConnectionError("store unreachable")

            for name in ("settle", "reserve", "get", "set", "incr"):
                self.monkeypatch.setattr(self.store, name, refuse)

    def stop(self) -> None:
        if self.store.kind == "redis":
            pool = self.store.client.connection_pool
            pool.connection_kwargs["port"] = self.saved_port
            pool.disconnect()
            pool.reset()  # connections made before keep their own port: start the pool afresh
        else:
            self.monkeypatch.undo()


def test_streamed_turn_committed_during_store_outage_ends_with_done(
    qwen_client, qwen_app, fake_dashscope, factory, monkeypatch, caplog
):
    """The answer is stored while Redis is down: the client gets `done` with the stored ids, once;
    the charge that could not be settled is caught up from the usage aggregates."""
    tenant = factory.tenant(plan="pro")
    headers = factory.headers(factory.user(tenant))
    monkeypatch.setitem(qwen_app.config, "QUOTA_RECONCILE_S", 0.5)
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeReply(text="一二三四五六", **SLOW))
    resp = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages",
        headers=headers,
        json={"message": "慢慢说", "stream": True},
        buffered=False,
    )
    outage = _StoreOutage(qwen_app, monkeypatch)
    body = ""
    try:
        for chunk in resp.response:
            body += chunk.decode() if isinstance(chunk, bytes) else chunk
            if outage.saved_port is None and '"delta"' in body:
                outage.start()
                outage.saved_port = outage.saved_port or -1
    finally:
        outage.stop()
    assert any("settlement of a stored turn deferred" in r.getMessage() for r in caplog.records)  # the fault hit
    events = sse_events(type("R", (), {"get_data": lambda self, as_text: body})())
    assert events[-1]["type"] == "done", events[-1]
    assert [e["type"] for e in events].count("done") == 1
    with qwen_app.app_context(), all_tenants(db.session):
        stored = {str(m.id) for m in db.session.scalars(select(Message).where(Message.tenant_id == tenant.id))}
    assert stored == {events[-1]["message"]["id"], events[-1]["user_message"]["id"]}
    stored_n, day_messages, day_tokens = _counts(qwen_app, tenant.id)
    assert (stored_n, day_messages) == (2, 1) and day_tokens > 0
    time.sleep(0.6)  # past QUOTA_RECONCILE_S: the counters are set from the aggregates again
    usage = qwen_client.get("/api/tenant/usage", headers=headers).get_json()["usage"]["quotas"]
    assert usage["messages_per_day"]["used"] == 1
    assert usage["tokens_per_month"]["used"] == day_tokens


def test_turn_refused_after_the_answer_during_store_outage_ends_with_error(
    qwen_client, qwen_app, fake_dashscope, factory, monkeypatch, caplog
):
    """The error path's bookkeeping meets the outage too: the client still gets its `error`."""
    tenant = factory.tenant(plan="pro")
    headers = factory.headers(factory.user(tenant))
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeReply(text="一二三四五六", **SLOW))
    outage = _StoreOutage(qwen_app, monkeypatch)
    resp = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages",
        headers=headers,
        json={"message": "说", "stream": True},
        buffered=False,
    )
    body = ""
    try:
        for chunk in resp.response:
            body += chunk.decode() if isinstance(chunk, bytes) else chunk
            if outage.saved_port is None and '"delta"' in body:
                # persisting is refused after the model answered, and the bookkeeping meets the outage
                assert qwen_client.delete(f"/api/chat/conversations/{cid}", headers=headers).status_code == 200
                outage.start()
                outage.saved_port = outage.saved_port or -1
    finally:
        outage.stop()
    assert any("settlement of a stored turn deferred" in r.getMessage() for r in caplog.records)  # the fault hit
    events = sse_events(type("R", (), {"get_data": lambda self, as_text: body})())
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "conversation_deleted"
    assert _counts(qwen_app, tenant.id)[:2] == (0, 1)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_conversation_deleted_mid_answer_is_one_domain_error(qwen_client, qwen_app, fake_dashscope, factory, stream):
    """JSON and SSE answer the same `conversation_deleted`; the usage is kept and charged, the hold settled."""
    tenant = factory.tenant(plan="pro")
    headers = factory.headers(factory.user(tenant))
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeReply(text="一二三四五六", **SLOW))
    result: dict = {}

    def send():
        resp = qwen_app.test_client().post(
            f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "慢慢说", "stream": stream}
        )
        result["status"], result["body"] = resp.status_code, resp.get_data(as_text=True)
        result["json"] = None if stream else resp.get_json()

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.5)  # the model is answering
    assert qwen_client.delete(f"/api/chat/conversations/{cid}", headers=headers).status_code == 200
    sender.join(20)
    if stream:
        error = sse_events(type("R", (), {"get_data": lambda self, as_text: result["body"]})())[-1]
        assert result["status"] == 200 and error["type"] == "error"
        code = error["error"]["code"]
    else:
        assert result["status"] == 404, result["body"]
        code = result["json"]["error"]["code"]
    assert code == "conversation_deleted"
    stored, day_messages, day_tokens = _counts(qwen_app, tenant.id)
    assert stored == 0 and day_messages == 1 and day_tokens > 0  # the model's work is metered
    with qwen_app.app_context(), all_tenants(db.session):
        assert (
            db.session.scalar(
                select(func.count(UsageRecord.id)).where(
                    UsageRecord.tenant_id == tenant.id, UsageRecord.kind == "chat", UsageRecord.status == "ok"
                )
            )
            == 1
        )
    assert _counter(qwen_app, tenant.id, "messages_per_day") == (1, 0)  # charged, nothing left held
    assert _counter(qwen_app, tenant.id, "tokens_per_month") == (day_tokens, 0)


def test_a_hold_left_by_a_dead_worker_lapses(app, factory, monkeypatch):
    """A reservation nobody settles (its worker was killed) stops counting after QUOTA_HOLD_S."""
    tenant = factory.tenant(plan="free", quota_overrides={"messages_per_day": 1})
    monkeypatch.setitem(app.config, "QUOTA_HOLD_S", 0.4)
    with app.test_request_context():
        quotas.reserve_chat(tenant, 10)  # the worker dies here: never settled nor released
        with pytest.raises(QuotaExceeded):
            quotas.reserve_chat(tenant, 10)
        time.sleep(0.5)
        held = quotas.reserve_chat(tenant, 10)
        held.release()
    assert _counter(app, tenant.id, "messages_per_day") == (0, 0)


def test_counters_are_reconciled_with_the_aggregates_without_a_query_per_request(app, client, factory, monkeypatch):
    """A counter that drifted (a charge lost with Redis) is set from the database within
    QUOTA_RECONCILE_S; in between, reservations do not query the aggregates."""
    tenant = factory.tenant(plan="free", quota_overrides={"messages_per_day": 3})
    headers = factory.headers(factory.user(tenant))
    monkeypatch.setitem(app.config, "QUOTA_RECONCILE_S", 1.0)
    cid = _conv(client, headers)
    queries = []
    real = quotas.used_from_db
    monkeypatch.setattr(quotas, "used_from_db", lambda *a: queries.append(a) or real(*a))
    for text in ("a", "b"):
        assert (
            client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": text}).status_code
            == 200
        )
    assert len(queries) == 2  # one seed per counter (messages, tokens), not one per turn
    with app.app_context():
        key = quotas._counter_key(tenant.id, "messages_per_day", quotas.period_bounds("messages_per_day")[0])
        get_store().set(key, "3", ttl=3600)  # drifted: says the day is used up
    assert (
        client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "c"}).status_code
        == 429
    )
    time.sleep(1.1)
    assert (
        client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "c"}).status_code
        == 200
    )
    assert _counter(app, tenant.id, "messages_per_day") == (3, 0) == (_counts(app, tenant.id)[1], 0)
