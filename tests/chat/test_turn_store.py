"""How a chat turn is stored: counters added by the database, one set of rows, usage batched."""

from __future__ import annotations

from decimal import Decimal

from hydronet.chat import conversations
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Conversation, UsageDaily, UsageRecord
from hydronet.tenants import usage


def _conversation(app, factory, two_tenants, title=""):
    user = two_tenants["a_users"]["member"]
    with app.app_context():
        bind_tenant(db.session, user.tenant_id)
        conv = Conversation(tenant_id=user.tenant_id, user_id=user.id, title=title, message_count=4)
        db.session.add(conv)
        db.session.commit()
        return user, conv.id


def test_turns_counted_concurrently_are_not_lost(app, factory, two_tenants):
    """Two turns finishing together each add their messages (the count is incremented in SQL)."""
    user, cid = _conversation(app, factory, two_tenants)
    with app.app_context():
        bind_tenant(db.session, user.tenant_id)
        stale = db.session.get(Conversation, cid)  # loaded before the other turn commits
        assert stale.message_count == 4
        with app.app_context():  # another request, its own session
            bind_tenant(db.session, user.tenant_id)
            assert conversations.record_turn(cid, added=2, title=None)
            db.session.commit()
        assert conversations.record_turn(cid, added=2, title=None)
        db.session.commit()
        assert stale.message_count == 8  # the loaded copy was brought up to date from RETURNING
    with app.app_context(), all_tenants(db.session):
        assert db.session.get(Conversation, cid).message_count == 8


def test_title_is_set_only_while_untitled(app, factory, two_tenants):
    user, cid = _conversation(app, factory, two_tenants)
    with app.app_context():
        bind_tenant(db.session, user.tenant_id)
        assert conversations.record_turn(cid, added=2, title="第一条")
        assert conversations.record_turn(cid, added=2, title="第二条")
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        assert db.session.get(Conversation, cid).title == "第一条"


def test_another_tenants_conversation_is_not_counted(app, factory, two_tenants):
    user, cid = _conversation(app, factory, two_tenants)
    other = two_tenants["b_owner"]
    with app.app_context():
        bind_tenant(db.session, other.tenant_id)
        assert conversations.record_turn(cid, added=2, title="x") is False
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        conv = db.session.get(Conversation, cid)
        assert (conv.message_count, conv.title) == (4, "")


def test_usage_events_are_recorded_and_summed_once(app, factory, two_tenants):
    user = two_tenants["a_users"]["member"]
    with app.app_context():
        bind_tenant(db.session, user.tenant_id)
        usage.record(
            user.tenant_id,
            user.id,
            [
                usage.event(kind="chat", model="qwen-plus", input_tokens=1000, output_tokens=500, messages=1),
                usage.event(kind="chat", model="qwen-plus", input_tokens=200, output_tokens=100),
                usage.event(kind="tool", tool="hydraulic_analysis", latency_ms=12.7, status="error"),
            ],
        )
        usage.meter(user.tenant_id, user.id, kind="tool", tool="list_networks")
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        records = db.session.query(UsageRecord).filter_by(tenant_id=user.tenant_id).all()
        assert sorted((r.kind, r.tool or r.model, r.status) for r in records) == [
            ("chat", "qwen-plus", "ok"),
            ("chat", "qwen-plus", "ok"),
            ("tool", "hydraulic_analysis", "error"),
            ("tool", "list_networks", "ok"),
        ]
        assert {r.latency_ms for r in records if r.tool == "hydraulic_analysis"} == {12}
        (daily,) = db.session.query(UsageDaily).filter_by(tenant_id=user.tenant_id).all()
        assert (daily.messages, daily.input_tokens, daily.output_tokens, daily.tool_runs) == (1, 1200, 600, 2)
        expected = usage.estimate_cost("qwen-plus", 1000, 500) + usage.estimate_cost("qwen-plus", 200, 100)
        assert Decimal(str(daily.cost_cny)) == expected


def test_core_statements_take_their_tenant_from_the_binding_not_the_caller(app, factory, two_tenants):
    """The hot path's Core statements get the tenant predicate from tenancy.execute, never from the caller."""
    import pytest

    from hydronet.kernel.tenancy import TenantViolation

    user, cid = _conversation(app, factory, two_tenants)
    other = two_tenants["b_owner"]
    with app.app_context():
        bind_tenant(db.session, other.tenant_id)
        # bound to tenant B, A's conversation id matches nothing: the predicate is B's
        assert conversations.record_turn(cid, added=2, title=None) is False
        with pytest.raises(TenantViolation):  # a row naming another tenant is refused
            usage.meter(user.tenant_id, user.id, kind="tool", tool="list_networks")
        db.session.rollback()
    with app.app_context(), all_tenants(db.session):
        assert db.session.get(Conversation, cid).message_count == 4
        assert db.session.query(UsageRecord).filter_by(tenant_id=user.tenant_id).count() == 0
