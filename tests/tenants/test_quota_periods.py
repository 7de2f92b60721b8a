"""Periodic and count quotas (hydronet/tenants/quotas.py) against hand-computed periods and counts.

Daily and monthly periods in China Standard Time, the reset time reported (the period's end, never its
start), counters lost with the store rebuilt from the database rather than restarted at 0, and the
difference between a limit of 0 (nothing) and -1 (unlimited).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.errors import QuotaExceeded
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Tenant, UsageDaily
from hydronet.tenants import quotas

CST = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("now", "quota", "start", "end"),
    [
        (
            datetime(2026, 3, 15, 10, 30, tzinfo=CST),
            "messages_per_day",
            datetime(2026, 3, 15, tzinfo=CST),
            datetime(2026, 3, 16, tzinfo=CST),
        ),
        (
            datetime(2026, 3, 31, 23, 59, tzinfo=CST),
            "messages_per_day",
            datetime(2026, 3, 31, tzinfo=CST),
            datetime(2026, 4, 1, tzinfo=CST),
        ),
        (
            datetime(2026, 3, 15, 10, 30, tzinfo=CST),
            "tokens_per_month",
            datetime(2026, 3, 1, tzinfo=CST),
            datetime(2026, 4, 1, tzinfo=CST),
        ),
        (
            datetime(2026, 12, 31, 23, 0, tzinfo=CST),
            "tokens_per_month",
            datetime(2026, 12, 1, tzinfo=CST),
            datetime(2027, 1, 1, tzinfo=CST),
        ),
        (
            datetime(2026, 1, 1, 0, 0, tzinfo=CST),
            "tokens_per_month",
            datetime(2026, 1, 1, tzinfo=CST),
            datetime(2026, 2, 1, tzinfo=CST),
        ),
    ],
)
def test_period_bounds(now, quota, start, end):
    assert quotas.period_bounds(quota, now) == (start, end)


def test_counter_keys_name_the_period():
    tid = "00000000-0000-0000-0000-000000000001"
    start = datetime(2026, 3, 5, tzinfo=CST)
    assert quotas._counter_key(tid, "messages_per_day", start) == f"quota:{tid}:messages_per_day:20260305"
    assert quotas._counter_key(tid, "tokens_per_month", start) == f"quota:{tid}:tokens_per_month:202603"


def test_today_is_the_china_standard_time_date():
    assert quotas.today() == datetime.now(CST).date()
    assert quotas._now().utcoffset() == timedelta(hours=8), "a UTC date would agree 16 hours a day"


def _tenant(app, factory, **overrides) -> Tenant:
    tenant = factory.tenant(plan="basic", quota_overrides=overrides)
    return tenant


def _usage(app, tenant, day: date, messages: int = 0, tokens: tuple[int, int] = (0, 0), user_key: str = "") -> None:
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        db.session.add(
            UsageDaily(
                tenant_id=tenant.id,
                user_key=user_key,
                day=day,
                messages=messages,
                input_tokens=tokens[0],
                output_tokens=tokens[1],
            )
        )
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
    assert (
        refused.value.extra["resets_at"]
        == quotas.period_bounds("tokens_per_month")[1].astimezone(timezone.utc).isoformat()
    )


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
        assert {q: store.held(key) for q, key in reservation.keys.items()} == {
            "messages_per_day": 0,
            "tokens_per_month": 0,
        }
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


@pytest.mark.parametrize(
    ("limit", "existing", "adding", "refused"),
    [
        (3, 2, 1, False),
        (3, 3, 1, True),
        (3, 1, 2, False),
        (3, 2, 2, True),
        (0, 0, 1, True),
        (-1, 10**6, 1, False),
    ],
)
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
        assert (
            ttl is not None
            and (end - datetime.now(CST)).total_seconds() < ttl <= (end - datetime.now(CST)).total_seconds() + 86400 + 1
        )
        get_store().set(key, "-3")
        assert quotas.period_usage(t, "messages_per_day") == (0, end)


def _reserved_tokens_used(t) -> tuple[int, int]:
    return quotas.period_usage(t, "messages_per_day")[0], quotas.period_usage(t, "tokens_per_month")[0]


@pytest.mark.parametrize(("actual", "charged"), [(0, 0), (-7, 0), (120, 120)])
def test_settling_charges_one_message_and_the_real_tokens_never_below_zero(app, factory, actual, charged):
    tenant = _tenant(app, factory, messages_per_day=10, tokens_per_month=10_000)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        reservation = quotas.reserve_chat(t, 500)
        reservation.settle(actual)
        reservation.settle(actual)  # once only
        assert _reserved_tokens_used(t) == (1, charged)
        assert {q: get_store().held(k) for q, k in reservation.keys.items()} == {
            "messages_per_day": 0,
            "tokens_per_month": 0,
        }


@pytest.mark.parametrize("estimate", [0, -50])
def test_a_reservation_holds_at_least_one_token(app, factory, estimate):
    tenant = _tenant(app, factory, messages_per_day=10, tokens_per_month=10_000)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        reservation = quotas.reserve_chat(t, estimate)
        assert reservation.amounts == {"messages_per_day": 1, "tokens_per_month": 1}
        assert get_store().held(reservation.keys["tokens_per_month"]) == 1


def _check_ttl_is_the_reconcile_interval(app, key: str) -> None:
    ttl = get_store().ttl(key + ":chk")
    interval = float(app.config["QUOTA_RECONCILE_S"])
    assert ttl is not None and interval - 5 < ttl <= interval


def test_a_counter_due_for_its_check_is_set_from_the_database_again(app, factory):
    """A counter whose check mark lapsed (QUOTA_RECONCILE_S) is replaced by the usage aggregates, not trusted."""
    tenant = _tenant(app, factory)
    _usage(app, tenant, quotas.today(), messages=4)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        start, end = quotas.period_bounds("messages_per_day")
        key = quotas._counter_key(t.id, "messages_per_day", start)
        store = get_store()
        store.set(key, "9")  # drifted (a charge lost), and the check is due: no ":chk" mark
        assert quotas.period_usage(t, "messages_per_day") == (4, end)
        assert store.get(key) == "4"
        _check_ttl_is_the_reconcile_interval(app, key)
        store.set(key, "6")  # checked now: the counter is trusted until the mark lapses
        assert quotas.period_usage(t, "messages_per_day") == (6, end)


def test_a_reservation_seeds_a_lost_counter_with_its_check_mark(app, factory):
    tenant = _tenant(app, factory, messages_per_day=10)
    _usage(app, tenant, quotas.today(), messages=3)
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        reservation = quotas.reserve_chat(t, 1)
        key = reservation.keys["messages_per_day"]
        assert get_store().get(key) == "3" and get_store().held(key) == 1
        _check_ttl_is_the_reconcile_interval(app, key)


@pytest.mark.parametrize(
    ("plan", "overrides", "expected"),
    [
        ("free", {}, "60 per minute"),
        ("pro", {}, "600 per minute"),
        ("pro", {"requests_per_minute": 7}, "7 per minute"),
        ("basic", {"requests_per_minute": 0}, "1000000 per minute"),  # 0 in a plan: no per-minute limit
    ],
)
def test_the_per_minute_limit_follows_the_callers_plan_and_overrides(app, factory, plan, overrides, expected):
    tenant = factory.tenant(plan=plan, quota_overrides=overrides)
    headers = factory.headers(factory.user(tenant))
    with app.test_request_context("/api/chat/conversations", headers=headers):
        assert quotas.chat_rate_limit() == expected
        bind_tenant(db.session, tenant.id)
        assert quotas.rate_limit_for(db.session.get(Tenant, tenant.id)) == expected


def test_an_anonymous_caller_gets_the_free_plans_per_minute_limit(app):
    with app.test_request_context("/api/chat/conversations"):
        assert quotas.chat_rate_limit() == "60 per minute"


def _frozen_clock(monkeypatch, *instants: datetime) -> None:
    """quotas._now answers the given instants in turn, then the last one for ever."""
    answers = list(instants)
    monkeypatch.setattr(quotas, "_now", lambda: answers.pop(0) if len(answers) > 1 else answers[0])


def test_one_instant_decides_the_period_of_a_reservation_made_at_midnight(app, factory, monkeypatch):
    """The clock read once: a reservation straddling midnight keys, bounds and expires on one day."""
    before, after = datetime(2026, 3, 31, 23, 59, 59, 999_999, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST)
    tenant = _tenant(app, factory, messages_per_day=10, tokens_per_month=10_000)
    _forget_counters(app)
    _frozen_clock(monkeypatch, before, after)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        reservation = quotas.reserve_chat(db.session.get(Tenant, tenant.id), 10)
    assert reservation.keys == {
        "messages_per_day": f"quota:{tenant.id}:messages_per_day:20260331",
        "tokens_per_month": f"quota:{tenant.id}:tokens_per_month:202603",
    }


def test_a_seeded_counter_outlives_its_period_by_one_day(app, factory, monkeypatch):
    """The counter's TTL is the rest of its period plus a day (late settlements still find it)."""
    end_of_day = datetime(2026, 3, 16, tzinfo=CST)
    tenant = _tenant(app, factory, messages_per_day=10, tokens_per_month=10_000)
    _forget_counters(app)
    _frozen_clock(monkeypatch, end_of_day - timedelta(hours=1))
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        reservation = quotas.reserve_chat(db.session.get(Tenant, tenant.id), 10)
        day_ttl = get_store().ttl(reservation.keys["messages_per_day"])
        month_ttl = get_store().ttl(reservation.keys["tokens_per_month"])
    assert 3600 + 86400 - 5 < day_ttl <= 3600 + 86400
    to_month_end = (datetime(2026, 4, 1, tzinfo=CST) - end_of_day).total_seconds() + 3600
    assert to_month_end + 86400 - 5 < month_ttl <= to_month_end + 86400


def test_usage_on_the_last_day_of_a_period_counts_and_the_next_day_does_not(app, factory):
    tenant = _tenant(app, factory)
    march = quotas.period_bounds("tokens_per_month", datetime(2026, 3, 10, tzinfo=CST))
    for day, tokens in (
        (date(2026, 2, 28), 1),
        (date(2026, 3, 1), 10),
        (date(2026, 3, 31), 100),
        (date(2026, 4, 1), 1000),
    ):
        _usage(app, tenant, day, messages=1, tokens=(tokens, 0))
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        assert quotas.used_from_db(tenant.id, "tokens_per_month", *march) == 110
        last_day = quotas.period_bounds("messages_per_day", datetime(2026, 3, 31, 12, tzinfo=CST))
        assert quotas.used_from_db(tenant.id, "messages_per_day", *last_day) == 1


@pytest.mark.parametrize(
    ("limit", "used", "estimate", "allowed"),
    [
        (0, 0, 500, False),  # a limit of 0 is none at all, even before anything is used
        (0, 0, 0, False),
        (1000, 1000, 500, False),  # used up exactly
        (1000, 999, 500, True),  # one token left: the turn may overshoot it
        (-1, 10**9, 500, True),  # unlimited
    ],
)
def test_a_token_quota_refuses_once_the_month_is_used_up(app, factory, limit, used, estimate, allowed):
    tenant = _tenant(app, factory, tokens_per_month=limit, messages_per_day=-1)
    if used:
        _usage(app, tenant, quotas.today(), tokens=(used, 0))
    _forget_counters(app)
    with app.test_request_context():
        bind_tenant(db.session, tenant.id)
        t = db.session.get(Tenant, tenant.id)
        if allowed:
            assert quotas.reserve_chat(t, estimate).amounts["tokens_per_month"] == estimate
        else:
            with pytest.raises(QuotaExceeded) as refused:
                quotas.reserve_chat(t, estimate)
            assert (refused.value.extra["quota"], refused.value.extra["limit"], refused.value.extra["used"]) == (
                "tokens_per_month",
                limit,
                used,
            )


def test_usage_from_the_database_is_the_tenants_own_even_across_tenants(app, factory):
    """The reconciler and platform-admin views read usage with every tenant visible: the sum names its tenant."""
    mine, other = _tenant(app, factory), _tenant(app, factory)
    _usage(app, mine, quotas.today(), messages=2, tokens=(10, 0))
    _usage(app, other, quotas.today(), messages=5, tokens=(1000, 0))
    with app.app_context(), all_tenants(db.session):
        assert quotas.used_from_db(mine.id, "messages_per_day", *quotas.period_bounds("messages_per_day")) == 2
        assert quotas.used_from_db(mine.id, "tokens_per_month", *quotas.period_bounds("tokens_per_month")) == 10


def test_the_reset_time_of_a_refusal_is_in_utc_whatever_the_servers_time_zone(app, factory, monkeypatch):
    tenant = _tenant(app, factory, messages_per_day=0)
    _forget_counters(app)
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        with app.test_request_context():
            bind_tenant(db.session, tenant.id)
            with pytest.raises(QuotaExceeded) as refused:
                quotas.reserve_chat(db.session.get(Tenant, tenant.id), 1)
    finally:
        monkeypatch.undo()
        time.tzset()
    end = quotas.period_bounds("messages_per_day")[1]
    assert refused.value.extra["resets_at"] == end.astimezone(timezone.utc).isoformat()
    assert refused.value.extra["resets_at"].endswith("+00:00")
