"""What one request costs in SQL statements and Redis round trips — counted, never timed.

The budgets below are the counts measured when they were written (bench/README.md,
"Guard tests").  A change that needs more must raise a budget on purpose; a count
that grows with the number of rows (conversations, messages) is an N+1 and fails
whatever the budget.  Counting: bench/counting.py (SQLAlchemy cursor events;
every packet written by a redis-py connection).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from bench.counting import Counts, counting
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.tenancy import bind_tenant
from hydronet.models import Conversation, Message

# Statements (round trips) per request.  PostgreSQL's transaction-local Row-Level Security
# settings ride with each transaction's first statement (tenancy.install_engine): no extra trip.
SQL_BUDGET = {
    "postgresql": {"list": 1, "history": 2, "turn": 6, "turn_streamed": 6},
    "sqlite": {"list": 1, "history": 2, "turn": 6, "turn_streamed": 6},
}
# The signed-in user and tenant come from the cache (services/cache.py): no SQL for them.
# Redis round trips per request: one pipeline with the rate-limit hit + window and the token's
# revocation keys + cached user/tenant (MGET).  A turn reads the tenant's plan before its limits
# (so the MGET goes first, alone), then the quota reservation and its reconciliation.
REDIS_BUDGET = {"list": 1, "history": 1, "turn": 4, "turn_streamed": 4}
SMALL, LARGE = 1, 30


def _dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def _cost(app, client, method: str, path: str, headers: dict[str, str], body: dict | None = None) -> Counts:
    """Counts of one request, made once unmeasured first (pools, scripts, caches warm)."""
    with app.app_context():
        engine = db.engine
    for measured in (False, True):
        with counting(engine) as counts:
            resp = client.open(path, method=method, headers=headers, json=body)
            resp.get_data()  # a streamed answer is produced while it is read
        assert resp.status_code == 200, resp.get_data(as_text=True)
        if measured:
            return counts
    raise AssertionError("unreachable")


def _add_conversations(app, user, n: int) -> list[str]:
    with app.app_context():
        bind_tenant(db.session, user.tenant_id)
        now = utcnow()
        convs = [
            Conversation(
                tenant_id=user.tenant_id, user_id=user.id, title=f"c{i}", updated_at=now - timedelta(seconds=i)
            )
            for i in range(n)
        ]
        db.session.add_all(convs)
        db.session.commit()
        return [str(c.id) for c in convs]


def _add_messages(app, user, conversation_id: str, n: int) -> None:
    with app.app_context():
        bind_tenant(db.session, user.tenant_id)
        start = utcnow() - timedelta(hours=1)
        db.session.add_all(
            [
                Message(
                    tenant_id=user.tenant_id,
                    conversation_id=uuid.UUID(conversation_id),
                    user_id=user.id,
                    role="user" if i % 2 == 0 else "assistant",
                    content=f"message {i}",
                    meta={},
                    created_at=start + timedelta(seconds=i),
                )
                for i in range(n)
            ]
        )
        db.session.commit()


def _check(app, backends, name: str, small: Counts, large: Counts) -> None:
    """Same cost with few and many rows, within the budgets."""
    shape_small, shape_large = small.as_dict()["sql"], large.as_dict()["sql"]
    assert shape_large == shape_small, f"{name}: SQL grows with the data:\n{shape_small}\n{shape_large}"
    budget = SQL_BUDGET[_dialect(app)][name]
    assert small.sql_statements <= budget, f"{name}: {small.sql_statements} statements > {budget}:\n" + "\n".join(
        small.sql
    )
    if backends.redis_url:
        assert large.redis == small.redis, f"{name}: Redis round trips differ: {small.redis} / {large.redis}"
        assert small.redis_round_trips <= REDIS_BUDGET[name], f"{name}: {small.redis}"


def test_listing_cost_is_constant(app, client, backends, member):
    user, headers = member
    _add_conversations(app, user, SMALL)
    small = _cost(app, client, "GET", "/api/chat/conversations", headers)
    _add_conversations(app, user, LARGE - SMALL)
    large = _cost(app, client, "GET", "/api/chat/conversations", headers)
    _check(app, backends, "list", small, large)
    if backends.redis_url:  # the limit's hit and window, the revocation keys and the cached user: one trip
        assert small.redis == ["EVALSHA+MGET"], small.redis


def test_history_page_cost_is_constant(app, client, backends, member):
    user, headers = member
    conv = _add_conversations(app, user, 1)[0]
    _add_messages(app, user, conv, SMALL)
    small = _cost(app, client, "GET", f"/api/chat/conversations/{conv}/messages?limit=20", headers)
    _add_messages(app, user, conv, 2 * LARGE)
    first = client.get(f"/api/chat/conversations/{conv}/messages?limit=20", headers=headers).get_json()
    assert first["next_cursor"]  # the measured page continues from a cursor, deep in the history
    large = _cost(
        app, client, "GET", f"/api/chat/conversations/{conv}/messages?limit=20&cursor={first['next_cursor']}", headers
    )
    _check(app, backends, "history", small, large)


@pytest.mark.parametrize("name, stream", [("turn", False), ("turn_streamed", True)])
def test_chat_turn_cost_is_constant(app, client, backends, member, name, stream):
    """A turn reads the latest messages once, whatever the length of the conversation (offline assistant)."""
    user, headers = member
    conv = _add_conversations(app, user, 1)[0]
    path = f"/api/chat/conversations/{conv}/messages"
    body = {"message": "hello, how are you?", "stream": stream}
    small = _cost(app, client, "POST", path, headers, body)
    _add_messages(app, user, conv, 2 * LARGE)
    large = _cost(app, client, "POST", path, headers, body)
    _check(app, backends, name, small, large)
    # stored set-based: one UPDATE of the counter, one INSERT for both messages, usage in two
    statements = [s.rsplit(";\n", 1)[-1] for s in small.sql]  # minus RLS settings riding along (tenancy.py)
    writes = [s.split("(")[0].split(" SET")[0].strip() for s in statements if not s.startswith(("SELECT", "select"))]
    assert sorted(writes) == [
        "INSERT INTO messages",
        "INSERT INTO usage_daily",
        "INSERT INTO usage_records",
        "UPDATE conversations",
    ], small.sql


def test_chat_turn_redis_round_trips(app, client, backends, member):
    """Every Redis round trip of a turn, by command: limiter, revocation, quota reserve and reconcile."""
    if not backends.redis_url:
        pytest.skip("embedded mode: no Redis")
    user, headers = member
    conv = _add_conversations(app, user, 1)[0]
    counts = _cost(app, client, "POST", f"/api/chat/conversations/{conv}/messages", headers, {"message": "hello"})
    assert counts.redis_round_trips <= REDIS_BUDGET["turn"], counts.redis
    # revocation keys and the cached user and tenant come together, not one by one
    assert counts.redis.count("MGET") == 1 and "GET" not in counts.redis
