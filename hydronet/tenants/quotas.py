"""Quota enforcement before work: atomic reservations in the shared store.

Periodic quotas (messages per day, tokens per month) are counters in Redis,
reserved in one round trip by a Lua script before the model is called and
reconciled with the real token count afterwards.  The database is the truth:
a missing counter (new period, Redis restarted) is seeded from usage records.
Count quotas (users, networks, …) are counted in the database under a
transaction-scoped advisory lock, so racing creations cannot pass the limit.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from hydronet.auth.ratelimit import caller_tenant
from hydronet.kernel.db import db
from hydronet.kernel.errors import QuotaExceeded
from hydronet.kernel.store import get_store
from hydronet.models import Tenant, UsageDaily
from hydronet.tenants.plans import UNLIMITED, effective_quotas, per_minute_limit, quotas_for

QUOTA_TZ = ZoneInfo("Asia/Shanghai")  # periods follow China Standard Time (our users' day)


def _now() -> datetime:
    return datetime.now(QUOTA_TZ)


def period_bounds(quota: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of the current period of a periodic quota, tz-aware."""
    now = now or _now()
    if quota == "messages_per_day":
        start = datetime.combine(now.date(), time(), QUOTA_TZ)
        return start, start + timedelta(days=1)
    start = datetime(now.year, now.month, 1, tzinfo=QUOTA_TZ)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=QUOTA_TZ)
    return start, end


def _counter_key(tenant_id: uuid.UUID, quota: str, start: datetime) -> str:
    stamp = start.strftime("%Y%m%d" if quota == "messages_per_day" else "%Y%m")
    return f"quota:{tenant_id}:{quota}:{stamp}"


def used_from_db(tenant_id: uuid.UUID, quota: str, start: datetime, end: datetime) -> int:
    """The truth: usage in a period, from the daily aggregates."""
    day_start, day_end = start.date(), (end - timedelta(seconds=1)).date()
    column = UsageDaily.messages if quota == "messages_per_day" else UsageDaily.input_tokens + UsageDaily.output_tokens
    value = db.session.execute(
        select(func.coalesce(func.sum(column), 0)).where(
            UsageDaily.tenant_id == tenant_id, UsageDaily.day >= day_start, UsageDaily.day <= day_end
        )
    ).scalar_one()
    return int(value or 0)


@dataclass
class Reservation:
    """Amounts reserved before a model call, to reconcile or release afterwards."""

    tenant_id: uuid.UUID
    keys: dict[str, str]
    amounts: dict[str, int]

    def adjust_tokens(self, actual: int) -> None:
        """Replace the token estimate with the real count."""
        key = self.keys.get("tokens_per_month")
        if key is None:
            return
        delta = actual - self.amounts["tokens_per_month"]
        if delta:
            get_store().incr(key, delta)
        self.amounts["tokens_per_month"] = actual

    def release(self) -> None:
        """Give back everything reserved (the call failed; nothing is charged)."""
        store = get_store()
        for quota, key in self.keys.items():
            if self.amounts.get(quota):
                store.incr(key, -self.amounts[quota])
        self.amounts = {q: 0 for q in self.amounts}


def reserve_chat(tenant: Tenant, estimated_tokens: int) -> Reservation:
    """Reserve one message and an estimate of tokens, or raise QuotaExceeded (429)."""
    limits = effective_quotas(tenant)
    wanted = {"messages_per_day": 1, "tokens_per_month": max(0, estimated_tokens)}
    now = _now()
    names = list(wanted)
    bounds = {q: period_bounds(q, now) for q in names}
    keys = [_counter_key(tenant.id, q, bounds[q][0]) for q in names]
    ttls = [int((bounds[q][1] - now).total_seconds()) + 86400 for q in names]
    lims = []
    for q in names:
        limit = int(limits.get(q, UNLIMITED))
        # tokens: refuse only when the month is already used up (the estimate may overshoot)
        lims.append(limit if q == "messages_per_day" or limit < 0 else limit + wanted[q])
    store = get_store()
    for _attempt in range(3):
        status, idx, used = store.reserve(keys, [wanted[q] for q in names], lims, ttls)
        if status == 1:
            return Reservation(tenant.id, dict(zip(names, keys)), dict(wanted))
        if status == 2:
            q = names[idx]
            store.set(keys[idx], str(used_from_db(tenant.id, q, *bounds[q])), ttl=ttls[idx], nx=True)
            continue
        q = names[idx]
        raise QuotaExceeded(q, int(limits[q]), used, bounds[q][1].astimezone(timezone.utc).isoformat())
    raise RuntimeError("quota counters could not be seeded")


def check_count(tenant: Tenant, quota: str, count: Callable[[], int], adding: int = 1) -> None:
    """Refuse creating ``adding`` more of something counted by a count quota.

    The count is the database's (deletions need no bookkeeping).  To stay exact
    when creations race, on any worker or server, the check takes a
    transaction-scoped PostgreSQL advisory lock on (tenant, quota) before
    counting: the next creation of the same kind in the same tenant waits
    until this transaction commits (and then counts the new row) or rolls
    back.  Unlimited quotas take no lock.
    """
    limit = int(effective_quotas(tenant).get(quota, UNLIMITED))
    if limit < 0:
        return
    _lock_count_quota(tenant.id, quota)
    current = int(count())
    if current + adding > limit:
        raise QuotaExceeded(quota, limit, current, None)


def _lock_count_quota(tenant_id: uuid.UUID, quota: str) -> None:
    """Serialise count-quota checks of one tenant and quota until the transaction ends."""
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite (embedded, single process) serialises writers itself
    digest = hashlib.blake2b(f"quota:{tenant_id}:{quota}".encode(), digest_size=8).digest()
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest, "big", signed=True)})


def period_usage(tenant: Tenant, quota: str) -> tuple[int, datetime]:
    """Used amount and reset time of a periodic quota (from Redis, seeded from the DB)."""
    start, end = period_bounds(quota)
    key = _counter_key(tenant.id, quota, start)
    store = get_store()
    raw = store.get(key)
    if raw is None:
        value = used_from_db(tenant.id, quota, start, end)
        store.set(key, str(value), ttl=(end - _now()).total_seconds() + 86400, nx=True)
        return value, end
    return max(0, int(raw)), end


def today() -> date:
    """Today's date in the quota time zone."""
    return _now().date()


def rate_limit_for(tenant: Tenant) -> str:
    """The tenant's plan's per-minute request limit (flask-limiter syntax)."""
    return per_minute_limit(effective_quotas(tenant))


def chat_rate_limit() -> str:
    """The per-minute limit of the calling tenant's plan, for chat turns (read before the view runs)."""
    record = caller_tenant() or {}
    return per_minute_limit(quotas_for(record.get("plan", "free"), record.get("quota_overrides")))
