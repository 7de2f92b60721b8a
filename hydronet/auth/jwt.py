"""flask-jwt-extended: the JWT manager, pinned algorithm, key rotation, revocation check, JSON errors."""

from __future__ import annotations

import hashlib

from flask import Flask, current_app

from hydronet.auth import state
from hydronet.auth.speedups import VerifiedClaimsJWTManager, serve_verified_headers
from hydronet.auth.tokens import is_revoked
from hydronet.kernel.responses import error_response

jwt = VerifiedClaimsJWTManager()


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
    serve_verified_headers()
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
