"""/api/auth: register, login, refresh, logout, me, change-password."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from hydronet.auth import accounts as auth_service
from hydronet.auth import tokens
from hydronet.auth.actor import request_meta
from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.auth.ratelimit import limiter, login_account_address_key, login_address_key, login_failed
from hydronet.auth.serialize import tenant_dict, user_dict
from hydronet.kernel.responses import ok
from hydronet.kernel.validation import Fields, json_body

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _login_address_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_ADDRESS"]


def _register_limit() -> str:
    return current_app.config["RATELIMIT_REGISTER"]


def _session_body(user, token_pair, status=200):
    return ok(status, **token_pair, user=user_dict(user), tenant=tenant_dict(user.tenant))


@bp.post("/register")
@limiter.limit(_register_limit)
def register():
    """Create a tenant and its owner account."""
    f = Fields(json_body())
    email = f.email()
    password = f.data.get("password")
    if not isinstance(password, str) or not password:
        f.error("password", "is required")
    tenant_name = f.str("tenant_name", max_len=120)
    name = f.str("name", required=False, max_len=120, default="")
    f.done()
    user, pair = auth_service.register(email, password, tenant_name, name or "", request_meta())
    return _session_body(user, pair, 201)


# Failures only, under fixed scopes: /api/auth/web/login runs this view, so both sign-in routes
# draw on the same two counters.
_failures_per_account_and_address = limiter.shared_limit(
    _login_limit, scope="login-failures:account-address", key_func=login_account_address_key,
    deduct_when=login_failed)
_failures_per_address = limiter.shared_limit(
    _login_address_limit, scope="login-failures:address", key_func=login_address_key, deduct_when=login_failed)


@bp.post("/login")
@_failures_per_account_and_address
@_failures_per_address
def login():
    """Sign in with email and password."""
    f = Fields(json_body())
    email = f.str("email", max_len=254)
    password = f.str("password", max_len=1024, strip=False)
    f.done()
    user, pair = auth_service.login(email, password, request_meta())
    body = {**pair, "user": user_dict(user), "tenant": tenant_dict(user.tenant)}
    body["password_change_required"] = user.password_change_required
    return ok(**body)


@bp.post("/refresh")
def refresh():
    """Exchange a refresh token (in the body or the Authorization header) for a new pair."""
    body = request.get_json(silent=True) or {}
    token = body.get("refresh_token") if isinstance(body, dict) else None
    if isinstance(token, str) and token:
        payload = tokens.verified_refresh_payload(token)
    else:
        verify_jwt_in_request(refresh=True)
        payload = get_jwt()
    user, pair = auth_service.refresh(payload)
    return _session_body(user, pair)


@bp.post("/logout")
@require(allow_api_key=False)
def logout():
    """Revoke the current access token and its refresh token everywhere."""
    body = request.get_json(silent=True) or {}
    refresh_token = body.get("refresh_token") if isinstance(body, dict) else None
    auth_service.logout(current_actor(), get_jwt(), refresh_token if isinstance(refresh_token, str) else None)
    return ok(message="Signed out")


@bp.get("/me")
@require()
def me():
    """The caller's user, tenant and permissions."""
    p = current_principal()
    return ok(user=user_dict(p.user), tenant=tenant_dict(p.tenant), permissions=sorted(p.permissions))


@bp.route("/change-password", methods=["PUT", "POST"])
@require(fresh=True, allow_api_key=False)
def change_password():
    """Change one's password; other sessions are signed out."""
    f = Fields(json_body())
    old = f.str("old_password", max_len=1024, strip=False)
    new = f.data.get("new_password")
    if not isinstance(new, str) or not new:
        f.error("new_password", "is required")
    f.done()
    pair = auth_service.change_password(current_actor(), old, new)
    return ok(message="Password changed", **pair)


@bp.post("/reset-password")
@limiter.limit(_login_limit)
def reset_password():
    """Set a password with a one-time invitation or reset token (also accepts invitations)."""
    f = Fields(json_body())
    token = f.str("token", max_len=200)
    password = f.data.get("password") or f.data.get("new_password")
    if not isinstance(password, str) or not password:
        f.error("password", "is required")
    f.done()
    user, pair = auth_service.redeem_token(token, password, request_meta())
    return _session_body(user, pair)
