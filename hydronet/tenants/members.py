"""A tenant's profile and its users, as managed by the tenant's owners and admins."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from hydronet.auth import passwords
from hydronet.auth.accounts import email_taken, refuse_reserved_email
from hydronet.auth.actor import Actor
from hydronet.auth.permissions import can_manage_role
from hydronet.kernel import audit
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import ApiError, Conflict, Forbidden, ValidationError
from hydronet.kernel.lookup import get_or_404
from hydronet.models import ROLES, Tenant, User
from hydronet.tenants import quotas

INVITE_TTL = timedelta(days=7)
TENANT_SETTING_KEYS = ("assistant_instructions", "model", "language", "timezone", "wechat_welcome")


def update_tenant(actor: Actor, tenant: Tenant, name: str | None, settings: dict[str, Any] | None) -> Tenant:
    """Rename a tenant and/or merge allowed settings."""
    changes: dict[str, Any] = {}
    if name is not None and name != tenant.name:
        changes["name"] = {"from": tenant.name, "to": name}
        tenant.name = name
    if settings is not None:
        unknown = sorted(set(settings) - set(TENANT_SETTING_KEYS))
        if unknown:
            raise ValidationError({"settings": f"unknown keys {unknown}; allowed: {', '.join(TENANT_SETTING_KEYS)}"})
        merged = dict(tenant.settings or {})
        merged.update(settings)
        tenant.settings = merged
        changes["settings"] = sorted(settings)
    if changes:
        audit.record(actor, "tenant.update", target_type="tenant", target_id=tenant.id, details=changes)
    db.session.commit()
    return tenant


def list_users(limit: int = 200) -> list[User]:
    """Users of the caller's tenant (scoped by the session), oldest first."""
    return list(db.session.execute(select(User).order_by(User.created_at).limit(limit)).scalars())


def get_user(user_id: str) -> User:
    """A user of the caller's tenant, or 404."""
    return get_or_404(User, user_id, "User")


def create_user(actor: Actor, email: str, name: str, role: str, password: str | None) -> tuple[User, str | None]:
    """Add a user with an initial password or a one-time invitation token (returned once)."""
    assert actor.user is not None and actor.tenant is not None
    if role not in ROLES:
        raise ValidationError({"role": f"must be one of: {', '.join(ROLES)}"})
    if not can_manage_role(actor.user.role, role):
        raise Forbidden(f"A {actor.user.role} cannot create a {role}")
    refuse_reserved_email(email)
    if password is not None:
        problem = passwords.password_problem(password, email)
        if problem:
            raise ValidationError({"password": problem})
    if email_taken(email):
        raise Conflict("An account with this email already exists", code="email_taken")
    quotas.check_count(actor.tenant, "users", lambda: count_active_users(actor.tenant.id))
    invite = None
    user = User(tenant_id=actor.tenant.id, email=email, name=name or email.split("@")[0], role=role)
    if password is not None:
        user.password_hash = passwords.hash_password(password)
    else:
        invite = secrets.token_urlsafe(32)
        user.invite_token_hash = hashlib.sha256(invite.encode()).hexdigest()
        user.invite_expires_at = utcnow() + INVITE_TTL
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor,
        "user.create",
        target_type="user",
        target_id=user.id,
        details={"email": user.email, "role": role, "invited": invite is not None},
    )
    db.session.commit()
    return user, invite


def _guard_last_owner(user: User) -> None:
    if user.role != "owner":
        return
    owners = db.session.execute(
        select(func.count(User.id)).where(
            User.role == "owner", User.is_active.is_(True), User.tenant_id == user.tenant_id
        )
    ).scalar_one()
    if owners <= 1:
        raise ApiError("The last owner cannot be demoted or removed", code="last_owner", status=409)


def change_role(actor: Actor, user: User, role: str) -> User:
    """Change a user's role, respecting the role hierarchy and the last owner."""
    assert actor.user is not None
    if role not in ROLES:
        raise ValidationError({"role": f"must be one of: {', '.join(ROLES)}"})
    if role == user.role:
        return user
    if not (can_manage_role(actor.user.role, user.role) and can_manage_role(actor.user.role, role)):
        raise Forbidden(f"A {actor.user.role} cannot change a {user.role} into a {role}")
    if user.role == "owner":
        _guard_last_owner(user)
    previous = user.role
    user.role = role
    user.token_version += 1  # tokens carry no role, but sessions restart with the new rights
    audit.record(
        actor, "user.role_change", target_type="user", target_id=user.id, details={"from": previous, "to": role}
    )
    db.session.commit()
    return user


def deactivate_user(actor: Actor, user: User) -> User:
    """Deactivate a user (their tokens stop working at once)."""
    assert actor.user is not None
    if not can_manage_role(actor.user.role, user.role):
        raise Forbidden(f"A {actor.user.role} cannot deactivate a {user.role}")
    if not user.is_active:
        return user
    _guard_last_owner(user)
    user.is_active = False
    user.token_version += 1
    audit.record(actor, "user.deactivate", target_type="user", target_id=user.id, details={"email": user.email})
    db.session.commit()
    return user


def seat_filter():
    """Users that take a seat: active, and not WeChat followers' automatic accounts (by the column)."""
    return (User.is_active.is_(True), User.is_wechat_follower.is_(False))


def count_active_users(tenant_id: uuid.UUID) -> int:
    """Seats used in a tenant (for the users quota); followers of its WeChat account are free."""
    return db.session.execute(
        select(func.count(User.id)).where(User.tenant_id == tenant_id, *seat_filter())
    ).scalar_one()
