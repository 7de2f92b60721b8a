"""/api/auth/web: browser sessions whose refresh token never reaches JavaScript.

The browser keeps only a short-lived access token, in memory.  The refresh
token lives in an httpOnly, SameSite=Strict cookie scoped to this blueprint's
path (Secure over HTTPS), so an injected script can neither read it nor have it
sent anywhere but here.  Refresh and logout also need a CSRF token
(double-submit): a readable cookie whose value the page echoes in the
``X-CSRF-Token`` header.  The value is signed with the app secret and bound to
the refresh token's family, so a cookie planted by a sibling subdomain is
useless.

Sign-in, registration, password change and reset reuse the JSON endpoints of
``auth.py`` (same validation, rate limits — counted per endpoint — login backoff and
audit entries) and move the refresh token out of the answer into the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from hydronet.auth import accounts as auth_service
from hydronet.auth import routes as auth
from hydronet.auth import tokens
from hydronet.auth.actor import Actor, request_meta
from hydronet.auth.schemas import (
    CSRF_HEADER_PARAMETER,
    ChangePasswordBody,
    LoginBody,
    Notice,
    RegisterBody,
    ResetPasswordBody,
    WebLoginAnswer,
    WebPasswordChanged,
    WebSession,
)
from hydronet.auth.serialize import tenant_dict, user_dict
from hydronet.kernel.contracts import contract
from hydronet.kernel.db import db
from hydronet.kernel.errors import ApiError
from hydronet.kernel.responses import error_response, ok
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import User

bp = Blueprint("web_session", __name__, url_prefix="/api/auth/web")

REFRESH_COOKIE = "hn_refresh"
CSRF_COOKIE = "hn_csrf"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_NOTE = (
    "The refresh token is set as the httpOnly cookie `hn_refresh` (path /api/auth/web) and never "
    "appears in the body; `hn_csrf` carries the CSRF token."
)


class CsrfFailed(ApiError):
    status, code, message = 403, "csrf_failed", "Missing or invalid CSRF token; reload the page"


def _csrf_token(family: str) -> str:
    """A random value signed together with the session's refresh family."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_signature(nonce, family)}"


def _csrf_signature(nonce: str, family: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"hydronet-csrf:{family}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def _check_csrf(family: str | None) -> None:
    """The header must equal the cookie, and the cookie must be signed for this session."""
    header = request.headers.get(CSRF_HEADER, "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not header or not cookie or not hmac.compare_digest(header, cookie):
        raise CsrfFailed()
    nonce, _, signature = cookie.partition(".")
    if not family or not hmac.compare_digest(signature, _csrf_signature(nonce, family)):
        raise CsrfFailed()


def _session_response(body: dict[str, Any], status: int, refresh_token: str, family: str) -> Response:
    """``body`` plus a new CSRF token as JSON; the refresh and CSRF tokens as cookies."""
    csrf = _csrf_token(family)
    resp = jsonify({**body, "csrf_token": csrf})
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    max_age = current_app.config["JWT_REFRESH_TOKEN_DAYS"] * 86400
    secure = request.is_secure
    resp.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=max_age,
        path=bp.url_prefix,
        secure=secure,
        httponly=True,
        samesite="Strict",
    )
    resp.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, path="/", secure=secure, httponly=False, samesite="Strict")
    return resp


def _clear_cookies(resp: Response) -> Response:
    resp.delete_cookie(REFRESH_COOKIE, path=bp.url_prefix, secure=request.is_secure, httponly=True, samesite="Strict")
    resp.delete_cookie(CSRF_COOKIE, path="/", secure=request.is_secure, samesite="Strict")
    return resp


def _as_cookie_session(json_view: Callable[[], Any]) -> Response:
    """Run an auth.py view and move its refresh token from the JSON body into the cookie."""
    inner = json_view()
    body = dict(inner.get_json())
    refresh_token = body.pop("refresh_token")
    payload = tokens.decode_refresh_token(refresh_token)
    if payload is None:
        raise RuntimeError("auth.py issued an unreadable refresh token")
    return _session_response(body, inner.status_code, refresh_token, payload["fam"])


def _failure(err: ApiError) -> Response:
    """The error answer, clearing the cookies of a session that cannot be used any more."""
    return _clear_cookies(error_response(err.status, err.code, err.message, err.headers, **err.extra))


# The JSON views of auth.py parse these bodies (parse_input=False: declared here for the document).
@bp.post("/login")
@contract(body=LoginBody, ok={200: WebLoginAnswer}, errors=(401, 403), description=COOKIE_NOTE, parse_input=False)
def login():
    """Sign in with email and password (the limits and backoff of /api/auth/login apply)."""
    return _as_cookie_session(auth.login)


@bp.post("/register")
@contract(body=RegisterBody, ok={201: WebSession}, errors=(409,), description=COOKIE_NOTE, parse_input=False)
def register():
    """Create a tenant and its owner, signed in (the limit of /api/auth/register applies)."""
    return _as_cookie_session(auth.register)


@bp.post("/reset-password")
@contract(body=ResetPasswordBody, ok={200: WebSession}, errors=(403,), description=COOKIE_NOTE, parse_input=False)
def reset_password():
    """Set a password with a one-time invitation or reset token, signed in."""
    return _as_cookie_session(auth.reset_password)


@bp.route("/change-password", methods=["PUT", "POST"])
@contract(
    body=ChangePasswordBody,
    ok={200: WebPasswordChanged},
    same_auth_as="auth.change_password",
    description=COOKIE_NOTE,
    parse_input=False,
)
def change_password():
    """Change one's password (fresh access token); the other sessions end, this one continues."""
    return _as_cookie_session(auth.change_password)


@bp.post("/refresh")
@contract(
    ok={200: WebSession},
    headers=(CSRF_HEADER_PARAMETER,),
    errors=(401, 403),
    security=("refreshCookie",),
    description="Needs the `hn_refresh` cookie and the X-CSRF-Token header. " + COOKIE_NOTE,
)
def refresh():
    """A new access token from the cookie (rotating it); needs the CSRF header."""
    raw = request.cookies.get(REFRESH_COOKIE)
    if not raw:  # nothing to clear (and clearing could race a sign-in answered meanwhile)
        return error_response(401, "no_session", "No browser session; sign in")
    unverified = tokens.decode_refresh_token(raw)
    try:
        _check_csrf(unverified.get("fam") if unverified else None)
    except CsrfFailed as err:  # the session is kept: a forged request must not end it
        return error_response(err.status, err.code, err.message)
    try:
        payload = tokens.verified_refresh_payload(raw)
        user, pair = auth_service.refresh(payload)
    except ApiError as err:
        return _failure(err)
    body = {
        "success": True,
        **{k: v for k, v in pair.items() if k != "refresh_token"},
        "user": user_dict(user),
        "tenant": tenant_dict(user.tenant),
    }
    return _session_response(body, 200, pair["refresh_token"], payload["fam"])


@bp.post("/logout")
@contract(
    ok={200: Notice},
    headers=(CSRF_HEADER_PARAMETER,),
    errors=(403,),
    description="Ends the browser session named by the `hn_refresh` cookie (X-CSRF-Token required when "
    "there is one) and clears the cookies; without a cookie it just answers 200.",
)
def logout():
    """Revoke this browser session (its refresh family and every access token of it) and clear the cookies."""
    raw = request.cookies.get(REFRESH_COOKIE)
    payload = tokens.decode_refresh_token(raw) if raw else None
    if payload is None:
        return _clear_cookies(ok(message="Signed out"))
    try:
        _check_csrf(payload.get("fam"))
    except CsrfFailed as err:
        return error_response(err.status, err.code, err.message)
    user = _load_user(payload.get("sub"))
    if user is not None:
        bind_tenant(db.session, user.tenant_id)
        auth_service.logout(Actor(user=user, tenant=user.tenant, meta=request_meta()), payload, None)
    else:
        tokens.revoke_family(payload["fam"])
    return _clear_cookies(ok(message="Signed out"))


def _load_user(subject: Any) -> User | None:
    try:
        uid = uuid.UUID(str(subject))
    except ValueError:
        return None
    with all_tenants(db.session):
        return db.session.get(User, uid)
