"""Keys for flask-limiter: per caller when signed in, per client address otherwise."""
from __future__ import annotations

from flask import g, request


def client_ip() -> str:
    """The client address (ProxyFix has already applied X-Forwarded-For)."""
    return request.remote_addr or "unknown"


def client_key() -> str:
    """Per-user/API key when authenticated, else per IP."""
    principal = g.get("principal")
    if principal is not None:
        return principal.rate_key
    return f"ip:{client_ip()}"


def login_account_key() -> str:
    """The account a login/register attempt targets (brute force per account)."""
    body = request.get_json(silent=True) or {}
    email = body.get("email") if isinstance(body, dict) else None
    return f"acct:{str(email).strip().lower()[:254]}" if isinstance(email, str) else f"ip:{client_ip()}"
