"""Registry of the browser-session endpoints (/api/auth/web): the bodies of /api/auth, the refresh token in a cookie."""
from __future__ import annotations

from hydronet.web.openapi.endpoints import CORE
from hydronet.web.openapi.ops import Op
from hydronet.web.openapi.schemas import BOOL, INT, STR, envelope, ref

CSRF_HEADER = {"name": "X-CSRF-Token", "in": "header", "required": False, "schema": STR,
               "description": "the csrf_token of the last session answer (double-submit with the hn_csrf cookie)"}
_SESSION = {"access_token": STR, "token_type": {"const": "Bearer"}, "expires_in": INT, "csrf_token": STR}
WEB_SESSION = envelope({**_SESSION, "user": ref("User"), "tenant": ref("Tenant")})
COOKIE_NOTE = ("The refresh token is set as the httpOnly cookie `hn_refresh` (path /api/auth/web) and never "
               "appears in the body; `hn_csrf` carries the CSRF token.")

WEB: dict[str, Op] = {
    "web_session.login": Op(
        ok={200: envelope({**_SESSION, "user": ref("User"), "tenant": ref("Tenant"),
                           "password_change_required": BOOL})},
        body=CORE["auth.login"].body,
        errors=(401, 403), description=COOKIE_NOTE,
    ),
    "web_session.register": Op(
        ok={201: WEB_SESSION},
        body=CORE["auth.register"].body,
        errors=(409,), description=COOKIE_NOTE,
    ),
    "web_session.reset_password": Op(
        ok={200: WEB_SESSION},
        body=CORE["auth.reset_password"].body,
        errors=(403,), description=COOKIE_NOTE,
    ),
    "web_session.change_password": Op(
        ok={200: envelope({"message": STR, **_SESSION})},
        body=CORE["auth.change_password"].body,
        same_auth_as="auth.change_password", description=COOKIE_NOTE,
    ),
    "web_session.refresh": Op(
        ok={200: WEB_SESSION}, query=(CSRF_HEADER,), errors=(401, 403), security=("refreshCookie",),
        description="Needs the `hn_refresh` cookie and the X-CSRF-Token header. " + COOKIE_NOTE,
    ),
    "web_session.logout": Op(
        ok={200: envelope({"message": STR})}, query=(CSRF_HEADER,), errors=(403,),
        description="Ends the browser session named by the `hn_refresh` cookie (X-CSRF-Token required when "
                    "there is one) and clears the cookies; without a cookie it just answers 200.",
    ),
}
