"""Metering: usage records written with the work they describe, daily aggregates, reports."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from hydronet.kernel import tenancy
from hydronet.kernel.db import db
from hydronet.models import ApiKey, Conversation, McpServer, Network, Tenant, UsageDaily, UsageRecord, User
from hydronet.tenants import quotas
from hydronet.tenants.members import seat_filter
from hydronet.tenants.plans import UNLIMITED, effective_quotas

# Estimated list prices, CNY per 1,000 tokens (input, output).  Update with Alibaba Cloud's price list.
PRICES_CNY_PER_1K: dict[str, tuple[Decimal, Decimal]] = {
    "qwen-turbo": (Decimal("0.0003"), Decimal("0.0006")),
    "qwen-plus": (Decimal("0.0008"), Decimal("0.002")),
    "qwen-max": (Decimal("0.0024"), Decimal("0.0096")),
    "qwen-long": (Decimal("0.0005"), Decimal("0.002")),
    "offline": (Decimal("0"), Decimal("0")),
}
OFFLINE_MODEL = "offline"


def estimate_cost(model: str | None, input_tokens: int, output_tokens: int) -> Decimal:
    """Estimated cost in CNY of one model call."""
    price_in, price_out = PRICES_CNY_PER_1K.get(model or "", PRICES_CNY_PER_1K["qwen-turbo"])
    return (price_in * input_tokens + price_out * output_tokens) / 1000


def event(
    *,
    kind: str,
    model: str | None = None,
    tool: str | None = None,
    conversation_id: uuid.UUID | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    latency_ms: float = 0,
    messages: int = 0,
    status: str = "ok",
) -> dict[str, Any]:
    """One billable event for `record` (a model call, a tool run, an analysis)."""
    return {
        "kind": kind,
        "model": model,
        "tool": tool,
        "conversation_id": conversation_id,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "latency_ms": int(latency_ms),
        "cost_cny": estimate_cost(model, input_tokens, output_tokens) if kind == "chat" else Decimal("0"),
        "status": status,
        "messages": messages,
    }


def meter(tenant_id: uuid.UUID, user_id: uuid.UUID | None, **fields: Any) -> None:
    """Record one event (see `event` for the fields), in the caller's transaction."""
    record(tenant_id, user_id, [event(**fields)])


def record(tenant_id: uuid.UUID, user_id: uuid.UUID | None, events: list[dict[str, Any]]) -> None:
    """Insert the events' usage records and bump the day's aggregate, in the caller's transaction.

    Two statements whatever the number of events: one multi-row INSERT and one
    upsert of the (tenant, user, day) totals, both built once per process and
    run on the session's connection — a chat turn meters on its hot path.
    """
    if not events:
        return
    rows = [
        {k: v for k, v in e.items() if k != "messages"} | {"tenant_id": tenant_id, "user_id": user_id} for e in events
    ]
    tenancy.execute(db.session, _RECORD_INSERT, rows)
    dialect = db.session.get_bind().dialect.name
    tenancy.execute(
        db.session,
        _daily_upsert(dialect),
        [
            {
                "tenant_id": tenant_id,
                "user_key": str(user_id) if user_id else "",
                "day": quotas.today(),
                "messages": sum(e["messages"] for e in events),
                "offline_messages": sum(e["messages"] for e in events if e["model"] == OFFLINE_MODEL),
                "input_tokens": sum(e["input_tokens"] for e in events),
                "output_tokens": sum(e["output_tokens"] for e in events),
                "tool_runs": sum(1 for e in events if e["kind"] != "chat"),
                "cost_cny": sum((e["cost_cny"] for e in events), Decimal("0")),
            }
        ],
    )


_RECORD_INSERT = UsageRecord.__table__.insert()
_DAILY_SUMS = ("messages", "offline_messages", "input_tokens", "output_tokens", "tool_runs", "cost_cny")


@functools.cache
def _daily_upsert(dialect: str):
    """INSERT … ON CONFLICT (tenant, user, day) DO UPDATE adding the sums (PostgreSQL and SQLite)."""
    table = UsageDaily.__table__
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = upsert(table).values({name: bindparam(name) for name in ("tenant_id", "user_key", "day", *_DAILY_SUMS)})
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", "user_key", "day"],
        set_={name: table.c[name] + stmt.excluded[name] for name in _DAILY_SUMS},
    )


def _count(model, tenant_id: uuid.UUID, *conds) -> int:
    return int(
        db.session.execute(select(func.count(model.id)).where(model.tenant_id == tenant_id, *conds)).scalar_one()
    )


def storage_bytes(tenant_id: uuid.UUID) -> int:
    """Bytes of network files stored by a tenant."""
    return int(
        db.session.execute(
            select(func.coalesce(func.sum(Network.size_bytes), 0)).where(Network.tenant_id == tenant_id)
        ).scalar_one()
    )


def report(tenant: Tenant, days: int = 30) -> dict[str, Any]:
    """Each quota's limit, use and reset time, plus a daily series for the last ``days`` days."""
    limits = effective_quotas(tenant)
    items: dict[str, Any] = {}
    for name in ("messages_per_day", "tokens_per_month"):
        used, resets = quotas.period_usage(tenant, name)
        items[name] = _quota_item(limits[name], used, resets.astimezone(timezone.utc).isoformat())

    counts = {
        "users": _count(User, tenant.id, *seat_filter()),
        "conversations": _count(Conversation, tenant.id),
        "networks": _count(Network, tenant.id),
        "mcp_servers": _count(McpServer, tenant.id),
        "api_keys": _count(ApiKey, tenant.id, ApiKey.revoked_at.is_(None)),
    }
    for name, used in counts.items():
        items[name] = _quota_item(limits[name], used, None)
    items["storage_mb"] = _quota_item(limits["storage_mb"], round(storage_bytes(tenant.id) / 1048576, 3), None)
    items["requests_per_minute"] = _quota_item(limits["requests_per_minute"], None, None)
    return {
        "plan": tenant.plan,
        "models": limits["models"],
        "quotas": items,
        "daily": daily_series(tenant.id, days),
        "totals_this_month": month_totals(tenant.id),
    }


def _quota_item(limit: int, used: Any, resets_at: str | None) -> dict[str, Any]:
    unlimited = int(limit) == UNLIMITED
    remaining = None if unlimited or used is None else max(0, int(limit) - used)
    return {
        "limit": None if unlimited else limit,
        "unlimited": unlimited,
        "used": used,
        "remaining": remaining,
        "resets_at": resets_at,
    }


def daily_series(tenant_id: uuid.UUID, days: int) -> list[dict[str, Any]]:
    """Messages, tokens and cost per day for the last ``days`` days (zeros included)."""
    end = quotas.today()
    start = end - timedelta(days=days - 1)
    rows = db.session.execute(
        select(
            UsageDaily.day,
            func.sum(UsageDaily.messages),
            func.sum(UsageDaily.input_tokens),
            func.sum(UsageDaily.output_tokens),
            func.sum(UsageDaily.tool_runs),
            func.sum(UsageDaily.cost_cny),
            func.sum(UsageDaily.offline_messages),
        )
        .where(UsageDaily.tenant_id == tenant_id, UsageDaily.day >= start)
        .group_by(UsageDaily.day)
    ).all()
    by_day = {r[0]: r for r in rows}
    series = []
    for i in range(days):
        day = start + timedelta(days=i)
        r = by_day.get(day)
        series.append(
            {
                "date": day.isoformat(),
                "messages": int(r[1] or 0) if r else 0,
                "offline_messages": int(r[6] or 0) if r else 0,
                "input_tokens": int(r[2] or 0) if r else 0,
                "output_tokens": int(r[3] or 0) if r else 0,
                "tokens": int((r[2] or 0) + (r[3] or 0)) if r else 0,
                "tool_runs": int(r[4] or 0) if r else 0,
                "cost_cny": float(r[5] or 0) if r else 0.0,
            }
        )
    return series


def month_totals(tenant_id: uuid.UUID) -> dict[str, Any]:
    """This month's messages, tokens and cost."""
    start, _end = quotas.period_bounds("tokens_per_month")
    row = db.session.execute(
        select(
            func.coalesce(func.sum(UsageDaily.messages), 0),
            func.coalesce(func.sum(UsageDaily.input_tokens), 0),
            func.coalesce(func.sum(UsageDaily.output_tokens), 0),
            func.coalesce(func.sum(UsageDaily.cost_cny), 0),
            func.coalesce(func.sum(UsageDaily.offline_messages), 0),
        ).where(UsageDaily.tenant_id == tenant_id, UsageDaily.day >= start.date())
    ).one()
    return {
        "messages": int(row[0]),
        "offline_messages": int(row[4]),
        "input_tokens": int(row[1]),
        "output_tokens": int(row[2]),
        "tokens": int(row[1]) + int(row[2]),
        "cost_cny": float(row[3]),
    }
