"""flask-jwt-extended wiring: pinned algorithm, revocation check, JSON errors."""
from __future__ import annotations

from flask import Flask

from ..errors import error_response
from ..extensions import jwt
from .tokens import is_revoked


def init_jwt(app: Flask) -> None:
    """Configure JWT settings and make every JWT failure answer in the error shape."""
    app.config.setdefault("JWT_ALGORITHM", "HS256")
    app.config["JWT_DECODE_ALGORITHMS"] = ["HS256"]  # pinned: never trust the token's "alg"
    app.config.setdefault("JWT_TOKEN_LOCATION", ["headers"])
    app.config.setdefault("JWT_ERROR_MESSAGE_KEY", "message")
    jwt.init_app(app)

    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload) -> bool:
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
