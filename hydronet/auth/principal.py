"""Who is calling: the `require` decorator authenticates, scopes and authorises.

A request carries ``Authorization: Bearer <JWT>`` or ``Bearer hn_…`` (a tenant
API key).  `require(permission)` resolves the caller to a :class:`Principal`,
refuses disabled users and suspended tenants, binds the database session to
the caller's tenant (see tenancy.py) and checks the permission table.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_jwt_extended import get_jwt, verify_jwt_in_request

from hydronet.auth import cache, state
from hydronet.auth.actor import Actor, request_meta
from hydronet.auth.apikeys import authenticate_api_key, is_api_key
from hydronet.auth.permissions import permissions_for
from hydronet.kernel.db import db
from hydronet.kernel.errors import ApiError, Forbidden, Unauthorized
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import ApiKey, Tenant, User


@dataclass
class Principal:
    """The authenticated caller of one request."""

    user: User
    tenant: Tenant
    permissions: frozenset[str]
    api_key: ApiKey | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_platform_admin(self) -> bool:
        return "platform:admin" in self.permissions


class TenantSuspended(ApiError):
    status, code, message = 403, "tenant_suspended", "This organisation is suspended; contact support"


class AccountDisabled(ApiError):
    status, code, message = 403, "account_disabled", "This account has been deactivated"


def check_usable(user: User) -> None:
    """Refuse a deactivated account, or an account of a suspended tenant (the platform admin excepted)."""
    if not user.is_active:
        raise AccountDisabled()
    if not user.tenant.is_usable and not user.is_platform_admin:
        raise TenantSuspended(reason=user.tenant.status_reason or "")


def current_principal() -> Principal:
    """The caller of the current request (inside a `require`-protected view)."""
    principal = state.principal()
    if principal is None:
        raise Unauthorized()
    return principal


def _load_user(user_id: str, tenant_id: str | None) -> User | None:
    """The token's user and tenant: from the cache, else from the database (then cached)."""
    try:
        uid = uuid.UUID(user_id)
    except (ValueError, TypeError):
        return None
    user = cache.cached_user(db.session, uid, tenant_id)
    if user is not None:
        return user
    with all_tenants(db.session):
        user = db.session.get(User, uid)
    if user is not None:
        cache.fill(user, user.tenant)
    return user


def _from_jwt(fresh: bool) -> Principal:
    verify_jwt_in_request(fresh=fresh)
    claims = get_jwt()
    user = _load_user(claims.get("sub", ""), claims.get("tid"))
    if user is None or claims.get("tv") != user.token_version:
        raise Unauthorized("Token is no longer valid; sign in again", code="token_revoked")
    perms = permissions_for(user.role, platform_admin=user.is_platform_admin)
    return Principal(user=user, tenant=user.tenant, permissions=perms, claims=claims)


def _from_api_key(raw: str) -> Principal:
    key, user = authenticate_api_key(raw)
    perms = permissions_for(user.role, platform_admin=False, scopes=list(key.scopes or []))
    return Principal(user=user, tenant=user.tenant, permissions=perms, api_key=key)


def authenticate(*, fresh: bool = False, allow_api_key: bool = True) -> Principal:
    """Resolve the caller, refuse disabled accounts, bind the tenant scope."""
    token = state.bearer_token()
    if token and is_api_key(token):
        if not allow_api_key:
            raise Forbidden("API keys cannot be used for this action", code="api_key_not_allowed")
        principal = _from_api_key(token)
    else:
        principal = _from_jwt(fresh)
    check_usable(principal.user)
    bind_tenant(db.session, principal.tenant.id)
    state.set_principal(principal)
    return principal


def require(
    permission: str | None = None, *, fresh: bool = False, allow_api_key: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Protect a view: authenticated caller holding ``permission`` (None = any signed-in caller)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate(fresh=fresh, allow_api_key=allow_api_key)
            if permission and permission not in principal.permissions:
                raise Forbidden(f"This action needs the '{permission}' permission", permission=permission)
            return view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        wrapper.requires_auth = True  # type: ignore[attr-defined]
        return wrapper

    return decorator


def current_actor() -> Actor:
    """The authenticated caller as a service-layer Actor."""
    p = current_principal()
    return Actor(user=p.user, tenant=p.tenant, meta=request_meta(), api_key_id=str(p.api_key.id) if p.api_key else None)
