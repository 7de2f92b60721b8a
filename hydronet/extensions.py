"""Extension objects, created unbound here and bound to the app in create_app."""
from __future__ import annotations

from flask import current_app, g, has_request_context
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from .models.base import Base
from .store import MemoryStore, Store

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()

JWT_MEMO = "_jwt_decoded"  # g key of RequestJWTManager's per-request memo


class RequestJWTManager(JWTManager):
    """Verifies a given token at most once per request.

    The rate limiter (to key limits by user and tenant) and the view both need
    the verified claims; decoding and checking the signature twice was the
    largest single CPU cost of a small request.  The memo lives in ``g`` and
    is dropped at the end of the request (security/jwt_handlers.py).
    Failures are not remembered: they raise again for every caller.
    """

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if not has_request_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        memo = g.setdefault(JWT_MEMO, {})
        key = (encoded_token, csrf_value, allow_expired)
        if key not in memo:
            memo[key] = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        return dict(memo[key])


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
