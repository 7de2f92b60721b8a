"""Sign-up, sign-in, token refresh, sign-out and password changes."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import unicodedata
import uuid
from datetime import timezone
from typing import Any

from sqlalchemy import select

from hydronet.auth import passwords, tokens
from hydronet.auth.actor import Actor, RequestMeta
from hydronet.auth.principal import AccountDisabled, check_usable
from hydronet.kernel import audit
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import ApiError, Conflict, Unauthorized, ValidationError
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Tenant, User
from hydronet.models.tenant import SYNTHETIC_DOMAIN

log = logging.getLogger(__name__)

LOCK_THRESHOLD = 5  # failures (per account and address) before backoff starts
LOCK_MAX_SECONDS = 15 * 60  # backoff never exceeds this: a victim is never locked out for long
FAIL_WINDOW_SECONDS = 30 * 60
DEFAULT_ADMIN_PASSWORD = "HydroNet@2025"


class InvalidCredentials(ApiError):
    status, code, message = 401, "invalid_credentials", "Email or password is incorrect"


class LoginLocked(ApiError):
    status, code, message = 429, "login_locked", "Too many failed sign-ins; try again later"


def slugify(name: str) -> str:
    """An ASCII slug from a tenant name (Chinese names get a random slug)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40]
    return slug or f"org-{secrets.token_hex(3)}"


def unique_slug(name: str) -> str:
    """A slug not yet taken by another tenant."""
    base = slugify(name)
    slug = base
    with all_tenants(db.session):
        while db.session.execute(select(Tenant.id).where(Tenant.slug == slug)).first():
            slug = f"{base}-{secrets.token_hex(2)}"
    return slug


def refuse_reserved_email(email: str) -> None:
    """People may not take the WeChat followers' placeholder domain (or a subdomain of it)."""
    domain = email.strip().lower().rpartition("@")[2]
    if domain == SYNTHETIC_DOMAIN or domain.endswith("." + SYNTHETIC_DOMAIN):
        raise ValidationError({"email": f"addresses @{SYNTHETIC_DOMAIN} are reserved for WeChat followers"})


def email_taken(email: str) -> bool:
    """True when any tenant has a user with this email."""
    with all_tenants(db.session):
        return db.session.execute(select(User.id).where(User.email == email.lower())).first() is not None


def register(email: str, password: str, tenant_name: str, name: str, meta: RequestMeta) -> tuple[User, dict[str, Any]]:
    """Create a tenant and its owner; return the owner and a fresh token pair."""
    refuse_reserved_email(email)
    problem = passwords.password_problem(password, email)
    if problem:
        raise ValidationError({"password": problem})
    if email_taken(email):
        raise Conflict("An account with this email already exists", code="email_taken")
    tenant = Tenant(name=tenant_name, slug=unique_slug(tenant_name), plan="free", status="active")
    db.session.add(tenant)
    db.session.flush()
    bind_tenant(db.session, tenant.id)
    user = User(
        tenant_id=tenant.id,
        email=email,
        name=name or email.split("@")[0],
        role="owner",
        password_hash=passwords.hash_password(password),
        last_login_at=utcnow(),
    )
    user.tenant = tenant
    db.session.add(user)
    db.session.flush()
    actor = Actor(user=user, tenant=tenant, meta=meta)
    audit.record(
        actor, "tenant.create", target_type="tenant", target_id=tenant.id, details={"name": tenant_name, "plan": "free"}
    )
    audit.record(actor, "auth.register", target_type="user", target_id=user.id, details={"email": user.email})
    db.session.commit()
    return user, tokens.issue_tokens(user, fresh=True)


def _fail_key(email: str, ip: str | None) -> str:
    return f"login:fail:{email}:{ip or '-'}"


def _check_backoff(email: str, ip: str | None) -> None:
    store = get_store()
    fails = int(store.get(_fail_key(email, ip)) or 0)
    if fails < LOCK_THRESHOLD:
        return
    until = store.get(_fail_key(email, ip) + ":until")
    if until:
        remaining = float(until) - utcnow().timestamp()
        if remaining > 0:
            raise LoginLocked(headers={"Retry-After": str(math.ceil(remaining))}, retry_after=math.ceil(remaining))


def _record_failure(email: str, ip: str | None) -> None:
    store = get_store()
    fails = store.incr(_fail_key(email, ip), 1, ttl=FAIL_WINDOW_SECONDS)
    if fails >= LOCK_THRESHOLD:
        delay = min(LOCK_MAX_SECONDS, 2 ** (fails - LOCK_THRESHOLD) * 5)
        store.set(_fail_key(email, ip) + ":until", str(utcnow().timestamp() + delay), ttl=delay)


def login(email: str, password: str, meta: RequestMeta) -> tuple[User, dict[str, Any]]:
    """Check credentials (same answer and timing for unknown accounts) and issue tokens."""
    email = email.strip().lower()
    _check_backoff(email, meta.ip)
    with all_tenants(db.session):
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None:
        _record_failure(email, meta.ip)
        # Failed logins are audited in their own transaction: nothing else is written.
        audit.record(
            Actor(user=None, tenant=user.tenant if user else None, meta=meta),
            "auth.login_failed",
            target_type="user",
            target_id=user.id if user else None,
            details={"email": email, "reason": "bad_credentials"},
        )
        db.session.commit()
        raise InvalidCredentials()
    check_usable(user)
    get_store().delete(_fail_key(email, meta.ip), _fail_key(email, meta.ip) + ":until")
    bind_tenant(db.session, user.tenant_id)
    if passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = passwords.hash_password(password)
    if user.is_platform_admin and password == DEFAULT_ADMIN_PASSWORD:
        user.password_change_required = True
        log.warning("platform admin %s still uses the well-known default password; change it now", user.email)
    user.last_login_at = utcnow()
    audit.record(Actor(user=user, tenant=user.tenant, meta=meta), "auth.login", target_type="user", target_id=user.id)
    db.session.commit()
    return user, tokens.issue_tokens(user, fresh=True)


def refresh(payload: dict[str, Any]) -> tuple[User, dict[str, Any]]:
    """Rotate a refresh token: new pair in the same family; reuse revokes the family."""
    with all_tenants(db.session):
        user = db.session.get(User, _uuid(payload.get("sub")))
    if user is None or payload.get("tv") != user.token_version:
        raise Unauthorized("Token is no longer valid; sign in again", code="token_revoked")
    check_usable(user)
    if not tokens.rotate_refresh(payload):
        raise Unauthorized("This refresh token was already used; the session has been revoked", code="token_reused")
    return user, tokens.issue_tokens(user, fresh=False, family=payload.get("fam"))


def logout(actor: Actor, access_payload: dict[str, Any], refresh_token: str | None) -> None:
    """Revoke this session's access and refresh tokens everywhere."""
    tokens.revoke_jti(access_payload["jti"], access_payload.get("exp"))
    if access_payload.get("rjti"):
        tokens.revoke_jti(access_payload["rjti"], None)
    if access_payload.get("fam"):
        tokens.revoke_family(access_payload["fam"])
    if refresh_token:
        payload = tokens.decode_refresh_token(refresh_token)
        if payload and payload.get("sub") == access_payload.get("sub"):
            tokens.revoke_jti(payload["jti"], payload.get("exp"))
    audit.record(actor, "auth.logout", target_type="user", target_id=actor.user.id if actor.user else None)
    db.session.commit()


def change_password(actor: Actor, old_password: str, new_password: str) -> dict[str, Any]:
    """Change the caller's password, revoke their other tokens, return a new pair."""
    user = actor.user
    assert user is not None
    if not passwords.verify_password(user.password_hash, old_password):
        raise ApiError(
            "The current password is incorrect",
            code="invalid_old_password",
            status=400,
            fields={"old_password": "is incorrect"},
        )
    problem = passwords.password_problem(new_password, user.email)
    if problem:
        raise ValidationError({"new_password": problem})
    if old_password == new_password:
        raise ValidationError({"new_password": "must differ from the current password"})
    set_password(user, new_password)
    audit.record(actor, "auth.password_change", target_type="user", target_id=user.id)
    db.session.commit()
    return tokens.issue_tokens(user, fresh=True)


def set_password(user: User, new_password: str) -> None:
    """Store a new hash and invalidate every token issued before."""
    user.password_hash = passwords.hash_password(new_password)
    user.password_change_required = False
    user.token_version = (user.token_version or 1) + 1


def _uuid(value: Any):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def redeem_token(token: str, new_password: str, meta: RequestMeta) -> tuple[User, dict[str, Any]]:
    """Set a password with a one-time invitation or reset token; signs the user in."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with all_tenants(db.session):
        user = db.session.execute(select(User).where(User.invite_token_hash == digest)).scalar_one_or_none()
    if user is None or user.invite_expires_at is None or _aware(user.invite_expires_at) <= utcnow():
        raise ApiError("This link is invalid or has expired", code="invalid_token", status=400)
    problem = passwords.password_problem(new_password, user.email)
    if problem:
        raise ValidationError({"password": problem})
    if not user.is_active:
        raise AccountDisabled()
    bind_tenant(db.session, user.tenant_id)
    set_password(user, new_password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    user.last_login_at = utcnow()
    audit.record(
        Actor(user=user, tenant=user.tenant, meta=meta),
        "auth.password_set",
        target_type="user",
        target_id=user.id,
        tenant_id=user.tenant_id,
    )
    db.session.commit()
    return user, tokens.issue_tokens(user, fresh=True)


def _aware(value):
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
