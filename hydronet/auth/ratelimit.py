"""Rate limits: the flask-limiter object and the keys that identify a caller.

Limits are checked before a view runs, so the caller is identified here from
the bearer credential itself: an API key by its hash, a JWT by its (verified)
subject, anonymous requests by client address (ProxyFix has applied
X-Forwarded-For).  When Redis is unreachable flask-limiter falls back to
per-process in-memory limits (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and logs it.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from flask import current_app, request
from flask_limiter import Limiter

from hydronet.auth import cache, state
from hydronet.auth.apikeys import is_api_key
from hydronet.auth.tokens import announce, prefetch
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Tenant


def client_ip() -> str:
    """The client address."""
    return request.remote_addr or "unknown"


def caller_claims() -> dict[str, Any] | None:
    """The verified claims of the request's bearer JWT, if any (read once per request)."""
    token = state.bearer_token()
    return state.token_claims(is_api_key=token is not None and is_api_key(token))


def client_key() -> str:
    """Per API key or user when a credential is presented, else per address."""
    token = state.bearer_token() or ""
    if is_api_key(token):
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    claims = caller_claims()
    if claims and claims.get("sub"):
        announce(claims)  # the limit's own round trip brings the revocation keys and cached user
        return f"user:{claims['sub']}"
    return f"ip:{client_ip()}"


def tenant_key() -> str:
    """Per tenant when known from the token, else per caller."""
    claims = caller_claims()
    if claims and claims.get("tid"):
        return f"tenant:{claims['tid']}"
    return client_key()


def login_email() -> str | None:
    """The account a sign-in attempt targets, folded as sign-in folds it (case, outer spaces)."""
    body = request.get_json(silent=True) or {}
    email = body.get("email") if isinstance(body, dict) else None
    return email.strip().lower()[:254] if isinstance(email, str) else None


def login_account_address_key() -> str:
    """Sign-in failures per (account, client address): another address cannot use up the owner's."""
    return f"acct:{login_email() or '-'}|ip:{client_ip()}"


def login_address_key() -> str:
    """Sign-in failures per client address, whatever account they target."""
    return f"ip:{client_ip()}"


def login_failed(response) -> bool:
    """Only a refused credential counts against the sign-in limits; a success never does."""
    return response.status_code == 401


def caller_tenant() -> dict[str, Any] | None:
    """Plan, status and quota overrides of the caller's tenant, from the shared cache (invalidated on change)."""
    claims = caller_claims()
    tenant_id = claims.get("tid") if claims else None
    if not claims or not tenant_id:
        return None
    try:
        prefetch(claims)  # the same trip brings what authentication will read next
    except Exception:
        pass  # store down: cached_tenant_record falls back to the database; auth reports it
    record = cache.cached_tenant_record(tenant_id)
    if record is not None:
        return record
    try:
        with all_tenants(db.session):
            tenant = db.session.get(Tenant, uuid.UUID(tenant_id))
    except ValueError:
        return None
    if tenant is None:
        return None
    cache.fill(tenant)
    return {"plan": tenant.plan, "status": tenant.status, "quota_overrides": tenant.quota_overrides or {}}


def default_api_limit() -> str:
    """The per-caller limit applied to every /api route."""
    return current_app.config["RATELIMIT_DEFAULT_API"]


def exempt_from_default() -> bool:
    """Only /api routes carry the default limit."""
    return not request.path.startswith("/api") or request.path == "/api/health"


limiter = Limiter(
    key_func=client_key,
    headers_enabled=True,
    default_limits=[default_api_limit],
    default_limits_exempt_when=exempt_from_default,
)
