"""Periodic and count quotas (hydronet/tenants/quotas.py) against hand-computed periods and counts.

Daily and monthly periods in China Standard Time, the reset time reported (the period's end, never its
start), counters lost with the store rebuilt from the database rather than restarted at 0, and the
difference between a limit of 0 (nothing) and -1 (unlimited).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.errors import QuotaExceeded
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import bind_tenant
from hydronet.models import Tenant, UsageDaily
from hydronet.tenants import quotas

CST = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("now", "quota", "start", "end"), [
    (datetime(2026, 3, 15, 10, 30, tzinfo=CST), "messages_per_day",
     datetime(2026, 3, 15, tzinfo=CST), datetime(2026, 3, 16, tzinfo=CST)),
    (datetime(2026, 3, 31, 23, 59, tzinfo=CST), "messages_per_day",
     datetime(2026, 3, 31, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST)),
    (datetime(2026, 3, 15, 10, 30, tzinfo=CST), "tokens_per_month",
     datetime(2026, 3, 1, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST)),
    (datetime(2026, 12, 31, 23, 0, tzinfo=CST), "tokens_per_month",
     datetime(2026, 12, 1, tzinfo=CST), datetime(2027, 1, 1, tzinfo=CST)),
    (datetime(2026, 1, 1, 0, 0, tzinfo=CST), "tokens_per_month",
     datetime(2026, 1, 1, tzinfo=CST), datetime(2026, 2, 1, tzinfo=CST)),
])
def test_period_bounds(now, quota, start, end):
    assert quotas.period_bounds(quota, now) == (start, end)


def test_counter_keys_name_the_period():
    tid = "00000000-0000-0000-0000-000000000001"
    start = datetime(2026, 3, 5, tzinfo=CST)
    assert quotas._counter_key(tid, "messages_per_day", start) == f"quota:{tid}:messages_per_day:20260305"
    assert quotas._counter_key(tid, "tokens_per_month", start) == f"quota:{tid}:tokens_per_month:202603"


def test_today_is_the_china_standard_time_date():
    assert quotas.today() == datetime.now(CST).date()


def _tenant(app, factory, **overrides) -> Tenant:
    tenant = factory.tenant(plan="basic", quota_overrides=overrides)
    return tenant


def _usage(app, tenant, day: date, messages: int = 0, tokens: tuple[int, int] = (0, 0), user_key: str = "") -> None:
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        db.session.add(UsageDaily(tenant_id=tenant.id, user_key=user_key, day=day, messages=messages,
                                  input_tokens=tokens[0], output_tokens=tokens[1]))
        db.session.commit()


def _forget_counters(app) -> None:
    with app.app_context():
        store = get_store()
        if store.kind == "redis":
            store.client.flushdb()
        else:
            store._data.clear()


def test_used_from_db_sums_only_the_period(app, factory):
    tenant = _tenant(app, factory)
    today = quotas.today()
    first = today.replace(day=1)
    _usage(app, tenant, today, messages=3, tokens=(100, 20))
    _usage(app, tenant, today, messages=2, tokens=(5, 5), user_key="someone")
    _usage(app, tenant, today - timedelta(days=1), messages=7, tokens=(1000, 0))
    _usage(app, tenant, first - timedelta(days=1), messages=11, tokens=(50_000, 0))  # last month
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        day = quotas.period_bounds("messages_per_day")
        month = quotas.period_bounds("tokens_per_month")
        assert quotas.used_from_db(tenant.id, "messages_per_day", *day) == 5
        expected_month = 130 + (1000 if today.day > 1 else 0)
        assert quotas.used_from_db(tenant.id, "tokens_per_month", *month) == expected_month


def test_a_lost_daily_counter_is_rebuilt_from_the_database_not_restarted(app, factory):
    tenant = _tenant(app, factory, messages_per_day=3)
    _usage(app, tenant, quotas.today(), messages=2)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        quotas.reserve_chat(t, 10)  # the third message of the day
        with pytest.raises(QuotaExceeded) as refused:
            quotas.reserve_chat(t, 10)
    err = refused.value.extra
    assert (err["quota"], err["limit"], err["used"]) == ("messages_per_day", 3, 3)
    end = quotas.period_bounds("messages_per_day")[1]
    assert err["resets_at"] == end.astimezone(timezone.utc).isoformat()  # the end of the day, not its start


def test_the_daily_quota_is_daily(app, factory):
    """Yesterday's messages do not count today (a monthly period would count them)."""
    tenant = _tenant(app, factory, messages_per_day=2)
    today = quotas.today()
    if today.day == 1:
        pytest.skip("on the 1st the day and the month begin together")
    _usage(app, tenant, today - timedelta(days=1), messages=2)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        quotas.reserve_chat(t, 1).settle(0)
        used, resets = quotas.period_usage(t, "messages_per_day")
    assert used == 1 and resets == quotas.period_bounds("messages_per_day")[1]


def test_tokens_refuse_only_when_the_month_is_used_up(app, factory):
    tenant = _tenant(app, factory, tokens_per_month=1000, messages_per_day=-1)
    _usage(app, tenant, quotas.today(), tokens=(900, 0))
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        reservation = quotas.reserve_chat(t, 500)  # 900 used: the estimate may overshoot the month
        reservation.settle(150)  # the real count: 1050 used now, past the month's 1000
        assert quotas.period_usage(t, "tokens_per_month")[0] == 1050
        with pytest.raises(QuotaExceeded) as refused:
            quotas.reserve_chat(t, 1)
    assert refused.value.extra["quota"] == "tokens_per_month" and refused.value.extra["used"] == 1050
    assert refused.value.extra["resets_at"] == quotas.period_bounds("tokens_per_month")[1].astimezone(
        timezone.utc).isoformat()


def test_release_gives_everything_back(app, factory):
    tenant = _tenant(app, factory, messages_per_day=5, tokens_per_month=10_000)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        reservation = quotas.reserve_chat(t, 300)
        store = get_store()
        held = {q: store.held(key) for q, key in reservation.keys.items()}
        assert held == {"messages_per_day": 1, "tokens_per_month": 300}  # held, not yet charged
        assert quotas.period_usage(t, "messages_per_day")[0] == 0
        reservation.release()
        reservation.release()  # twice: nothing more is given back
        assert {q: store.held(key) for q, key in reservation.keys.items()} == {"messages_per_day": 0,
                                                                             "tokens_per_month": 0}
        assert quotas.period_usage(t, "messages_per_day")[0] == 0
        assert quotas.period_usage(t, "tokens_per_month")[0] == 0


@pytest.mark.parametrize(("limit", "allowed"), [(0, 0), (-1, 5), (2, 2)])
def test_zero_is_nothing_and_minus_one_is_unlimited(app, factory, limit, allowed):
    tenant = _tenant(app, factory, messages_per_day=limit)
    _forget_counters(app)
    results = []
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        for _ in range(5):
            try:
                quotas.reserve_chat(t, 1)
                results.append(True)
            except QuotaExceeded:
                results.append(False)
    assert results == [True] * allowed + [False] * (5 - allowed)


@pytest.mark.parametrize(("limit", "existing", "adding", "refused"), [
    (3, 2, 1, False), (3, 3, 1, True), (3, 1, 2, False), (3, 2, 2, True), (0, 0, 1, True), (-1, 10**6, 1, False),
])
def test_check_count_boundaries(app, factory, limit, existing, adding, refused):
    tenant = _tenant(app, factory, networks=limit)
    calls = []

    def count():
        calls.append(1)
        return existing

    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        if refused:
            with pytest.raises(QuotaExceeded) as err:
                quotas.check_count(t, "networks", count, adding)
            assert (err.value.extra["limit"], err.value.extra["used"]) == (limit, existing)
            assert err.value.extra["resets_at"] is None
        else:
            quotas.check_count(t, "networks", count, adding)
        db.session.rollback()
    assert calls == ([] if limit < 0 else [1])  # unlimited: nothing counted, no lock taken


def test_period_usage_seeds_and_never_reports_below_zero(app, factory):
    tenant = _tenant(app, factory)
    _usage(app, tenant, quotas.today(), messages=4)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        start, end = quotas.period_bounds("messages_per_day")
        assert quotas.period_usage(t, "messages_per_day") == (4, end)
        key = quotas._counter_key(t.id, "messages_per_day", start)
        assert get_store().get(key) == "4"  # seeded for the next reader
        ttl = get_store().ttl(key)
        assert ttl is not None and (end - datetime.now(CST)).total_seconds() < ttl <= (
            end - datetime.now(CST)).total_seconds() + 86400 + 1
        get_store().set(key, "-3")
        assert quotas.period_usage(t, "messages_per_day") == (0, end)
