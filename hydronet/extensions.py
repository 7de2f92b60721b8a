"""Extension objects, created unbound here and bound to the app in create_app."""
from __future__ import annotations

from flask import current_app
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from .models.base import Base
from .store import MemoryStore, Store

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
jwt = JWTManager()


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
