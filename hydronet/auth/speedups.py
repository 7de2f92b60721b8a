"""The one place HydroNet reaches into a library's internals, and why.

flask-jwt-extended verifies the bearer token on every request, and a request
that is rate limited by user needs the claims twice (the limiter's key, then
the view): PyJWT parses and checks the signature each time, the largest CPU
cost of a small authenticated request.  The library offers no hook to reuse a
verification, so this module overrides two of its internals:

- `VerifiedClaimsJWTManager._decode_jwt_from_config` (a private method of
  `JWTManager`) remembers a successful verification per process, keyed by the
  token and the signing keys it was checked against, until the token's
  ``exp`` (+ leeway).  Failures are never remembered; revocation is still
  checked per request by the blocklist loader.
- `serve_verified_headers()` replaces the name `get_unverified_jwt_headers`
  in `flask_jwt_extended.view_decorators`, which re-reads the header of the
  token it has just verified: a verified token's header comes from the same
  cache.

They exist because bench target (b) (listing throughput ≥ 0.8 × the bare
baseline, see bench/RESULTS.md) depends on them.  tests/auth/test_speedups.py
pins the library surface they rely on and fails when flask-jwt-extended
changes it; remove this module (use `JWTManager` and drop the call in
`auth/jwt.py`) rather than patch around such a change.
"""

from __future__ import annotations

import time
from datetime import timedelta

import flask_jwt_extended.view_decorators as jwt_views
from flask import current_app, has_app_context
from flask_jwt_extended import JWTManager

MAX_ENTRIES = 20_000
CLAIMS = "hydronet.jwt_verified"
HEADERS = "hydronet.jwt_headers"

_library_header_reader = jwt_views.get_unverified_jwt_headers


class VerifiedClaimsJWTManager(JWTManager):
    """A `JWTManager` that verifies a given token once per process while it is valid."""

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if allow_expired or not has_app_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        cfg = current_app.config
        cache = current_app.extensions.setdefault(CLAIMS, {})
        key = (encoded_token, csrf_value, cfg["JWT_SECRET_KEY"], tuple(cfg.get("JWT_PREVIOUS_SECRET_KEYS") or ()))
        hit = cache.get(key)
        if hit is not None and time.time() < hit[0]:
            return dict(hit[1])
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if isinstance(claims.get("exp"), (int, float)):
            headers = current_app.extensions.setdefault(HEADERS, {})  # never more entries than `cache`
            if len(cache) >= MAX_ENTRIES:
                cache.clear()  # crude but bounded: refilled by one verification per live token
                headers.clear()
            leeway = cfg.get("JWT_DECODE_LEEWAY") or 0
            leeway = leeway.total_seconds() if isinstance(leeway, timedelta) else leeway
            cache[key] = (claims["exp"] + leeway, claims)
            headers[encoded_token] = _library_header_reader(encoded_token)
        return dict(claims)


def verified_header(encoded_token: str) -> dict:
    """The header of a token this process verified (from the cache), else the library's own read."""
    if has_app_context():
        header = current_app.extensions.get(HEADERS, {}).get(encoded_token)
        if header is not None:
            return dict(header)
    return _library_header_reader(encoded_token)


def serve_verified_headers() -> None:
    """Make flask-jwt-extended's view decorators read verified headers from the cache (idempotent)."""
    jwt_views.get_unverified_jwt_headers = verified_header
