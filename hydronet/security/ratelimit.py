"""Rate-limit keys and plan-based limits for flask-limiter.

Limits are checked before a view runs, so the caller is identified here from
the bearer credential itself: an API key by its hash, a JWT by its (verified)
subject, anonymous requests by client address (ProxyFix has applied
X-Forwarded-For).  When Redis is unreachable flask-limiter falls back to
per-process in-memory limits (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and logs it.
"""
from __future__ import annotations

import hashlib
import uuid

from flask import current_app, g, request


def client_ip() -> str:
    """The client address."""
    return request.remote_addr or "unknown"


def _claims() -> dict | None:
    cached = g.get("_rl_claims", False)
    if cached is not False:
        return cached
    claims = None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if token and not token.startswith("hn_"):
        from flask_jwt_extended import decode_token

        try:
            claims = decode_token(token)
        except Exception:
            claims = None
    g._rl_claims = claims
    return claims


def client_key() -> str:
    """Per API key or user when a credential is presented, else per address."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if token.startswith("hn_"):
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    claims = _claims()
    if claims and claims.get("sub"):
        from .tokens import announce

        announce(claims)  # the limit's own round trip brings the revocation keys and cached user
        return f"user:{claims['sub']}"
    return f"ip:{client_ip()}"


def tenant_key() -> str:
    """Per tenant when known from the token, else per caller."""
    claims = _claims()
    if claims and claims.get("tid"):
        return f"tenant:{claims['tid']}"
    return client_key()


def login_account_key() -> str:
    """The account a login attempt targets (brute force per account)."""
    body = request.get_json(silent=True) or {}
    email = body.get("email") if isinstance(body, dict) else None
    return f"acct:{email.strip().lower()[:254]}" if isinstance(email, str) else f"ip:{client_ip()}"


def plan_chat_limit() -> str:
    """The tenant plan's requests per minute for chat turns (cached tenant record)."""
    from ..services.plans import PLAN_DEFAULTS

    claims = _claims()
    tenant = _tenant_record(claims.get("tid")) if claims else None
    quotas = dict(PLAN_DEFAULTS.get((tenant or {}).get("plan", "free"), PLAN_DEFAULTS["free"]))
    quotas.update((tenant or {}).get("quota_overrides") or {})
    value = int(quotas.get("requests_per_minute", 60))
    return f"{value if value > 0 else 1_000_000} per minute"


def _tenant_record(tenant_id: str | None) -> dict | None:
    """Plan and overrides of a tenant from the shared cache (invalidated on change)."""
    if not tenant_id:
        return None
    from ..services import cache
    from .tokens import prefetch

    claims = _claims()
    if claims:
        try:
            prefetch(claims)  # the same trip brings what authentication will read next
        except Exception:
            pass  # store down: cached_tenant_record falls back to the database; auth reports it
    record = cache.cached_tenant_record(tenant_id)
    if record is not None:
        return record
    from ..extensions import db
    from ..models import Tenant
    from ..tenancy import all_tenants

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
