"""flask-jwt-extended: the JWT manager, pinned algorithm, key rotation, revocation check, JSON errors."""
from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import flask_jwt_extended.view_decorators as _jwt_views
from flask import Flask, current_app, has_app_context
from flask_jwt_extended import JWTManager

from hydronet.auth import state
from hydronet.auth.tokens import is_revoked
from hydronet.kernel.responses import error_response


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


def key_id(secret: str) -> str:
    """A short public fingerprint of a signing secret (the JWT ``kid`` header)."""
    return hashlib.sha256(("hydronet-jwt:" + secret).encode()).hexdigest()[:12]


def init_jwt(app: Flask) -> None:
    """Configure JWT settings and make every JWT failure answer in the error shape."""
    app.config.setdefault("JWT_ALGORITHM", "HS256")
    app.config["JWT_DECODE_ALGORITHMS"] = ["HS256"]  # pinned: never trust the token's "alg"
    app.config.setdefault("JWT_TOKEN_LOCATION", ["headers"])
    app.config.setdefault("JWT_ERROR_MESSAGE_KEY", "message")
    jwt.init_app(app)
    state.init_app(app)

    # The loaders are global to the JWTManager: read the keys of the current app.
    @jwt.additional_headers_loader
    def _kid(_identity) -> dict:
        return {"kid": key_id(current_app.config["JWT_SECRET_KEY"])}

    @jwt.decode_key_loader
    def _decode_key(header, _payload) -> str:
        # Tokens signed before a rotation carry the old key's id and still verify
        # until they expire; everything new is signed with JWT_SECRET_KEY.
        current = current_app.config["JWT_SECRET_KEY"]
        for secret in current_app.config.get("JWT_PREVIOUS_SECRET_KEYS") or []:
            if secret and key_id(secret) == header.get("kid"):
                return secret
        return current

    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload) -> bool:
        # One round trip: the revocation keys plus the caller's cached user and tenant.
        return is_revoked(payload)

    @jwt.unauthorized_loader
    def _missing(reason: str):
        return error_response(401, "unauthorized", "Authentication required: send 'Authorization: Bearer <token>'")

    @jwt.invalid_token_loader
    def _invalid(reason: str):
        return error_response(401, "invalid_token", "The token is invalid")

    @jwt.expired_token_loader
    def _expired(_header, _payload):
        return error_response(401, "token_expired", "The token has expired; refresh it or sign in again")

    @jwt.revoked_token_loader
    def _revoked_answer(_header, _payload):
        return error_response(401, "token_revoked", "The token has been revoked; sign in again")

    @jwt.needs_fresh_token_loader
    def _needs_fresh(_header, _payload):
        return error_response(401, "fresh_login_required", "This action needs a fresh sign-in")

    @jwt.user_lookup_error_loader
    def _lookup_error(_header, _payload):
        return error_response(401, "token_revoked", "The token's user no longer exists")
