"""/api/auth: register, login, refresh, logout, me, change-password."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from hydronet.auth import accounts as auth_service
from hydronet.auth import tokens
from hydronet.auth.actor import request_meta
from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.auth.ratelimit import limiter, login_account_address_key, login_address_key, login_failed
from hydronet.auth.schemas import (
    ChangePasswordBody,
    LoginAnswer,
    LoginBody,
    Me,
    Notice,
    PasswordChanged,
    RefreshTokenBody,
    RegisterBody,
    ResetPasswordBody,
    Session,
)
from hydronet.auth.serialize import tenant_dict, user_dict
from hydronet.kernel.contracts import contract
from hydronet.kernel.responses import ok

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
@contract(body=RegisterBody, ok={201: Session}, errors=(409,))
def register(body: RegisterBody):
    """Create a tenant and its owner account."""
    user, pair = auth_service.register(body.email, body.password, body.tenant_name, body.name or "", request_meta())
    return _session_body(user, pair, 201)


# Failures only, under fixed scopes: /api/auth/web/login runs this view, so both sign-in routes
# draw on the same two counters.
_failures_per_account_and_address = limiter.shared_limit(
    _login_limit, scope="login-failures:account-address", key_func=login_account_address_key, deduct_when=login_failed
)
_failures_per_address = limiter.shared_limit(
    _login_address_limit, scope="login-failures:address", key_func=login_address_key, deduct_when=login_failed
)


@bp.post("/login")
@_failures_per_account_and_address
@_failures_per_address
@contract(body=LoginBody, ok={200: LoginAnswer}, errors=(401, 403))
def login(body: LoginBody):
    """Sign in with email and password."""
    user, pair = auth_service.login(body.email, body.password, request_meta())
    return ok(
        **pair,
        user=user_dict(user),
        tenant=tenant_dict(user.tenant),
        password_change_required=user.password_change_required,
    )


@bp.post("/refresh")
@contract(
    body=RefreshTokenBody,
    body_required=False,
    ok={200: Session},
    errors=(401, 403),
    parse_input=False,
    description="The refresh token goes in the body or as `Authorization: Bearer <refresh token>`; "
    "it rotates on every use and a reused one revokes its family.",
)
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
@contract(body=RefreshTokenBody, body_required=False, ok={200: Notice}, parse_input=False)
def logout():
    """Revoke the current access token and its refresh token everywhere."""
    body = request.get_json(silent=True) or {}
    refresh_token = body.get("refresh_token") if isinstance(body, dict) else None
    auth_service.logout(current_actor(), get_jwt(), refresh_token if isinstance(refresh_token, str) else None)
    return ok(message="Signed out")


@bp.get("/me")
@require()
@contract(ok={200: Me})
def me():
    """The caller's user, tenant and permissions."""
    p = current_principal()
    return ok(user=user_dict(p.user), tenant=tenant_dict(p.tenant), permissions=sorted(p.permissions))


@bp.route("/change-password", methods=["PUT", "POST"])
@require(fresh=True, allow_api_key=False)
@contract(body=ChangePasswordBody, ok={200: PasswordChanged})
def change_password(body: ChangePasswordBody):
    """Change one's password; other sessions are signed out."""
    pair = auth_service.change_password(current_actor(), body.old_password, body.new_password)
    return ok(message="Password changed", **pair)


@bp.post("/reset-password")
@limiter.limit(_login_limit)
@contract(body=ResetPasswordBody, ok={200: Session}, errors=(403,))
def reset_password(body: ResetPasswordBody):
    """Set a password with a one-time invitation or reset token (also accepts invitations)."""
    user, pair = auth_service.redeem_token(body.token, body.password, request_meta())
    return _session_body(user, pair)
