"""Extension objects, created unbound here and bound to the app in create_app."""
from __future__ import annotations

import time
from datetime import timedelta

import flask_jwt_extended.view_decorators as _jwt_views
from flask import current_app, has_app_context
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from .models.base import Base
from .store import MemoryStore, Store

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


class RequestJWTManager(JWTManager):
    """Verifies a given token once per process while it is valid, not on every use.

    Every authenticated request needs the verified claims (the rate limiter to
    key limits by user and tenant, then the view), and PyJWT parses a token
    three times per verification: the largest CPU cost of a small request.
    Claims are immutable once signed, so the result of a successful
    verification is kept, keyed by the token and the keys it was checked
    against, until the token's ``exp`` (+ leeway) — checked again on every
    use.  Failures are never remembered; revocation is checked per request
    elsewhere (the blocklist loader), so a cached token can still be refused.

    flask-jwt-extended also re-reads the header of the token it has just
    verified (`get_unverified_jwt_headers`, PyJWT checking the encoding
    character by character: ~25 µs a request).  The header of a token that
    verified is kept beside its claims and served by `_verified_header`.
    """

    MAX_ENTRIES = 20_000
    CLAIMS = "hydronet.jwt_verified"
    HEADERS = "hydronet.jwt_headers"

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if allow_expired or not has_app_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        cfg = current_app.config
        cache = current_app.extensions.setdefault(self.CLAIMS, {})
        key = (encoded_token, csrf_value, cfg["JWT_SECRET_KEY"], tuple(cfg.get("JWT_PREVIOUS_SECRET_KEYS") or ()))
        hit = cache.get(key)
        if hit is not None and time.time() < hit[0]:
            return dict(hit[1])
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if isinstance(claims.get("exp"), (int, float)):
            headers = current_app.extensions.setdefault(self.HEADERS, {})  # never more entries than `cache`
            if len(cache) >= self.MAX_ENTRIES:
                cache.clear()  # crude but bounded; refilled by one verification per live token
                headers.clear()
            leeway = cfg.get("JWT_DECODE_LEEWAY") or 0
            leeway = leeway.total_seconds() if isinstance(leeway, timedelta) else leeway
            cache[key] = (claims["exp"] + leeway, claims)
            headers[encoded_token] = _unverified_header(encoded_token)
        return dict(claims)


def _verified_header(encoded_token: str) -> dict:
    """`get_unverified_jwt_headers` for flask-jwt-extended: a verified token's header from the cache."""
    if has_app_context():
        header = current_app.extensions.get(RequestJWTManager.HEADERS, {}).get(encoded_token)
        if header is not None:
            return dict(header)
    return _unverified_header(encoded_token)


_unverified_header = _jwt_views.get_unverified_jwt_headers
_jwt_views.get_unverified_jwt_headers = _verified_header  # the name its view decorators call


jwt = RequestJWTManager()


def _limiter_key() -> str:
    from .security.ratelimit import client_key

    return client_key()


def _default_limit() -> str:
    from .security.ratelimit import default_api_limit

    return default_api_limit()


def _exempt() -> bool:
    from .security.ratelimit import exempt_from_default

    return exempt_from_default()


limiter = Limiter(key_func=_limiter_key, headers_enabled=True, default_limits=[_default_limit],
                  default_limits_exempt_when=_exempt)


def get_store() -> Store:
    """The app's shared store (Redis or in-process)."""
    return current_app.extensions.get("hydronet_store") or MemoryStore()
