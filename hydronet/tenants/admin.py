"""Platform administration across tenants.

Every function here crosses tenants on purpose, through the explicit
`all_tenants` escape; callers are platform-admin routes only, and every
change is audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select

from hydronet.auth.accounts import unique_slug
from hydronet.auth.actor import Actor
from hydronet.kernel import audit
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import ApiError, ValidationError
from hydronet.kernel.lookup import get_or_404, parse_id
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import PLANS, TENANT_STATUSES, Tenant, UsageDaily, UsageRecord, User
from hydronet.models.tenant import BLOCKED_STATUSES
from hydronet.tenants import quotas
from hydronet.tenants.plans import PLAN_DEFAULTS, QUOTA_NAMES

RESET_TTL = timedelta(hours=24)


def get_tenant(tenant_id: str) -> Tenant:
    """Any tenant by id, or 404."""
    with all_tenants(db.session):
        return get_or_404(Tenant, tenant_id, "Tenant")


def list_tenants(query: str | None, status: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Tenants with user counts and this month's usage, newest first."""
    with all_tenants(db.session):
        stmt = select(Tenant)
        if query:
            like = f"%{query.lower()}%"
            stmt = stmt.where(or_(func.lower(Tenant.name).like(like), func.lower(Tenant.slug).like(like)))
        if status:
            stmt = stmt.where(Tenant.status == status)
        total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        tenants = (
            db.session.execute(stmt.order_by(Tenant.created_at.desc()).limit(limit).offset(offset)).scalars().all()
        )
        ids = [t.id for t in tenants]
        users = (
            dict(
                db.session.execute(
                    select(User.tenant_id, func.count(User.id)).where(User.tenant_id.in_(ids)).group_by(User.tenant_id)
                ).all()
            )
            if ids
            else {}
        )
        start, _end = quotas.period_bounds("tokens_per_month")
        month = (
            {
                r[0]: r
                for r in db.session.execute(
                    select(
                        UsageDaily.tenant_id,
                        func.sum(UsageDaily.messages),
                        func.sum(UsageDaily.input_tokens + UsageDaily.output_tokens),
                        func.sum(UsageDaily.cost_cny),
                    )
                    .where(UsageDaily.tenant_id.in_(ids), UsageDaily.day >= start.date())
                    .group_by(UsageDaily.tenant_id)
                ).all()
            }
            if ids
            else {}
        )
    rows = []
    for t in tenants:
        m = month.get(t.id)
        rows.append(
            {
                "tenant": t,
                "users": int(users.get(t.id, 0)),
                "usage_this_month": {
                    "messages": int(m[1] or 0) if m else 0,
                    "tokens": int(m[2] or 0) if m else 0,
                    "cost_cny": float(m[3] or 0) if m else 0.0,
                },
            }
        )
    return rows, int(total)


def create_tenant(actor: Actor, name: str, plan: str, slug: str | None) -> Tenant:
    """Create a tenant (its owner is added with the users API or registration)."""
    if plan not in PLANS:
        raise ValidationError({"plan": f"must be one of: {', '.join(PLANS)}"})
    with all_tenants(db.session):
        if slug and db.session.execute(select(Tenant.id).where(Tenant.slug == slug)).first():
            raise ValidationError({"slug": "is already taken"})
        tenant = Tenant(name=name, slug=slug or unique_slug(name), plan=plan, status="active")
        db.session.add(tenant)
        db.session.flush()
        audit.record(
            actor,
            "tenant.create",
            target_type="tenant",
            target_id=tenant.id,
            tenant_id=tenant.id,
            details={"name": name, "plan": plan, "by_platform_admin": True},
        )
        db.session.commit()
    return tenant


def _validate_quotas(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "models":
            known = {m for p in PLAN_DEFAULTS.values() for m in p["models"]}
            if value is not None and (
                not isinstance(value, list)
                or not value
                or not all(isinstance(m, str) for m in value)
                or not set(value) <= known
            ):
                raise ValidationError({"quotas.models": f"must be a non-empty list from {sorted(known)}"})
        elif name not in QUOTA_NAMES:
            raise ValidationError({f"quotas.{name}": f"unknown quota; known: {', '.join(QUOTA_NAMES)}, models"})
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < -1):
            raise ValidationError({f"quotas.{name}": "must be an integer ≥ 0, -1 for unlimited, or null to reset"})
        clean[name] = value
    return clean


def update_tenant(
    actor: Actor,
    tenant: Tenant,
    *,
    plan: str | None,
    quotas_in: dict[str, Any] | None,
    status: str | None,
    reason: str | None,
    name: str | None,
) -> Tenant:
    """Change plan, quota overrides, status (with a reason) or name; one audit entry per kind of change."""
    overrides = _validate_quotas(quotas_in) if quotas_in is not None else None
    if plan is not None and plan not in PLANS:
        raise ValidationError({"plan": f"must be one of: {', '.join(PLANS)}"})
    if status is not None and status not in TENANT_STATUSES:
        raise ValidationError({"status": f"must be one of: {', '.join(TENANT_STATUSES)}"})
    if status in BLOCKED_STATUSES and status != tenant.status and not (reason or "").strip():
        raise ValidationError({"reason": "is required to suspend or cancel a tenant"})
    with all_tenants(db.session):
        tenant = db.session.merge(tenant)
        if name is not None and name != tenant.name:
            audit.record(
                actor,
                "tenant.update",
                target_type="tenant",
                target_id=tenant.id,
                tenant_id=tenant.id,
                details={"name": {"from": tenant.name, "to": name}},
            )
            tenant.name = name
        if plan is not None and plan != tenant.plan:
            audit.record(
                actor,
                "tenant.plan_change",
                target_type="tenant",
                target_id=tenant.id,
                tenant_id=tenant.id,
                details={"from": tenant.plan, "to": plan},
            )
            tenant.plan = plan
        if overrides is not None:
            merged = dict(tenant.quota_overrides or {})
            for k, v in overrides.items():
                if v is None:
                    merged.pop(k, None)
                else:
                    merged[k] = v
            audit.record(
                actor,
                "tenant.quota_change",
                target_type="tenant",
                target_id=tenant.id,
                tenant_id=tenant.id,
                details={"overrides": overrides},
            )
            tenant.quota_overrides = merged
        if status is not None and status != tenant.status:
            action = "tenant.suspend" if status in BLOCKED_STATUSES else "tenant.reactivate"
            audit.record(
                actor,
                action,
                target_type="tenant",
                target_id=tenant.id,
                tenant_id=tenant.id,
                details={"from": tenant.status, "to": status, "reason": reason},
            )
            tenant.status = status
            tenant.status_reason = reason if status in BLOCKED_STATUSES else None
        db.session.commit()
    return tenant


def search_users(query: str | None, tenant_id: str | None, limit: int, offset: int) -> tuple[list[User], int]:
    """Users across tenants, by email/name fragment and/or tenant."""
    with all_tenants(db.session):
        stmt = select(User)
        if query:
            like = f"%{query.lower()}%"
            stmt = stmt.where(or_(User.email.like(like), func.lower(User.name).like(like)))
        if tenant_id:
            stmt = stmt.where(User.tenant_id == parse_id(tenant_id, "Tenant"))
        total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        users = db.session.execute(stmt.order_by(User.created_at.desc()).limit(limit).offset(offset)).scalars().all()
    return list(users), int(total)


def get_user(user_id: str) -> User:
    """Any user by id, or 404."""
    with all_tenants(db.session):
        return get_or_404(User, user_id, "User")


def set_user_active(actor: Actor, user: User, active: bool) -> User:
    """Deactivate (tokens die at once) or reactivate a user of any tenant."""
    with all_tenants(db.session):
        user = db.session.merge(user)
        if user.is_active != active:
            user.is_active = active
            user.token_version += 1
            audit.record(
                actor,
                "user.deactivate" if not active else "user.reactivate",
                target_type="user",
                target_id=user.id,
                tenant_id=user.tenant_id,
                details={"email": user.email, "by_platform_admin": True},
            )
            db.session.commit()
    return user


def force_password_reset(actor: Actor, user: User) -> str:
    """Invalidate a user's password and sessions; returns a one-time reset token."""
    if user.is_wechat_follower:  # a password would make it a person who takes no seat
        raise ApiError("A WeChat follower's account has no password to reset", code="wechat_follower", status=409)
    token = secrets.token_urlsafe(32)
    with all_tenants(db.session):
        user = db.session.merge(user)
        user.password_hash = None
        user.password_change_required = True
        user.token_version += 1
        user.invite_token_hash = hashlib.sha256(token.encode()).hexdigest()
        user.invite_expires_at = utcnow() + RESET_TTL
        audit.record(
            actor,
            "user.password_reset_forced",
            target_type="user",
            target_id=user.id,
            tenant_id=user.tenant_id,
            details={"email": user.email},
        )
        db.session.commit()
    return token


def stats() -> dict[str, Any]:
    """Platform totals: tenants by status, users, today's messages/tokens, model error rate."""
    today = quotas.today()
    since = utcnow() - timedelta(hours=24)
    with all_tenants(db.session):
        by_status = dict(db.session.execute(select(Tenant.status, func.count(Tenant.id)).group_by(Tenant.status)).all())
        users = db.session.execute(select(func.count(User.id))).scalar_one()
        row = db.session.execute(
            select(
                func.coalesce(func.sum(UsageDaily.messages), 0),
                func.coalesce(func.sum(UsageDaily.input_tokens + UsageDaily.output_tokens), 0),
            ).where(UsageDaily.day == today)
        ).one()
        calls = dict(
            db.session.execute(
                select(UsageRecord.status, func.count(UsageRecord.id))
                .where(UsageRecord.kind == "chat", UsageRecord.created_at >= since)
                .group_by(UsageRecord.status)
            ).all()
        )
    total_calls = sum(calls.values())
    errors = sum(v for k, v in calls.items() if k not in ("ok", "interrupted"))
    return {
        "tenants": {"total": sum(by_status.values()), **{s: int(by_status.get(s, 0)) for s in TENANT_STATUSES}},
        "users": int(users),
        "messages_today": int(row[0]),
        "tokens_today": int(row[1]),
        "model_calls_24h": total_calls,
        "model_error_rate_24h": round(errors / total_calls, 4) if total_calls else 0.0,
    }
