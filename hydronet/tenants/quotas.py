"""Quota enforcement before work: atomic reservations in the shared store.

Periodic quotas (messages per day, tokens per month) are counters in Redis of
what was committed, plus holds: one round trip (a Lua script) holds a turn's
estimate before the model is called, another settles the real cost once the
turn is stored.  A hold has a deadline, so a turn lost with its worker gives
its reservation back within QUOTA_HOLD_S.  The database is the truth: a
missing counter (new period, Redis restarted) is seeded from the usage
aggregates, and every counter is set from them again every QUOTA_RECONCILE_S
(a charge that could not be settled, Redis unreachable, is caught up then).
Count quotas (users, networks, …) are counted in the database under a
transaction-scoped advisory lock, so racing creations cannot pass the limit.
"""

from __future__ import annotations

import hashlib
import time as clock
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
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
    """Amounts held before a model call: settled with the real cost once stored, or given back.

    The hold lapses by itself at its deadline (QUOTA_HOLD_S), so a turn lost with
    its worker gives its reservation back without anyone settling it.
    """

    tenant_id: uuid.UUID
    keys: dict[str, str]
    amounts: dict[str, int]
    hold_id: str = ""
    open: bool = True

    def settle(self, actual_tokens: int) -> None:
        """Charge the stored turn (one message, its real token count) and drop the hold."""
        charges = {"messages_per_day": 1, "tokens_per_month": max(0, int(actual_tokens))}
        self._close([charges.get(q, 0) for q in self.keys])

    def release(self) -> None:
        """Give back everything held (the call failed; nothing is charged)."""
        self._close([0] * len(self.keys))

    def _close(self, charges: list[int]) -> None:
        if not self.open:
            return
        get_store().settle(list(self.keys.values()), self.hold_id, charges)
        self.open = False


def reserve_chat(tenant: Tenant, estimated_tokens: int) -> Reservation:
    """Hold one message and an estimate of tokens, or raise QuotaExceeded (429).

    A counter that is missing (new period, Redis restarted) or was not checked
    against the usage aggregates for QUOTA_RECONCILE_S seconds is set from the
    database first: one aggregate query per tenant and period every few
    minutes, never per request.
    """
    cfg = current_app.config
    limits = effective_quotas(tenant)
    # every turn uses tokens: holding at least one keeps the token check below exact at a limit of 0
    wanted = {"messages_per_day": 1, "tokens_per_month": max(1, estimated_tokens)}
    now = _now()
    names = list(wanted)
    bounds = {q: period_bounds(q, now) for q in names}
    keys = [_counter_key(tenant.id, q, bounds[q][0]) for q in names]
    ttls = [int((bounds[q][1] - now).total_seconds()) + 86400 for q in names]
    lims = []
    for q in names:
        limit = int(limits.get(q, UNLIMITED))
        # Both refuse once used (committed + held) >= limit.  Tokens: the estimate may overshoot the
        # month, so the store's check `used + estimate > limit'` gets limit' = limit + estimate - 1.
        lims.append(limit if q == "messages_per_day" or limit < 0 else limit + wanted[q] - 1)
    store = get_store()
    hold_id = uuid.uuid4().hex
    deadline = clock.time() + float(cfg["QUOTA_HOLD_S"])
    for _attempt in range(3):
        status, idx, used = store.reserve(keys, [wanted[q] for q in names], lims, ttls, hold_id, deadline)
        if status == 1:
            return Reservation(tenant.id, dict(zip(names, keys, strict=True)), dict(wanted), hold_id)
        if status == 2:
            q = names[idx]
            store.seed(keys[idx], used_from_db(tenant.id, q, *bounds[q]), ttls[idx], float(cfg["QUOTA_RECONCILE_S"]))
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
    """Committed amount and reset time of a periodic quota (from Redis, set from the DB when due)."""
    start, end = period_bounds(quota)
    key = _counter_key(tenant.id, quota, start)
    store = get_store()
    raw, checked = store.mget([key, key + ":chk"])
    if raw is None or checked is None:
        value = used_from_db(tenant.id, quota, start, end)
        store.seed(key, value, (end - _now()).total_seconds() + 86400, float(current_app.config["QUOTA_RECONCILE_S"]))
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
