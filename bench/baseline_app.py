"""The ceiling for our stack: Flask + flask-jwt-extended + Flask-SQLAlchemy/psycopg2 and nothing else.

``GET /api/chat/conversations`` verifies the bearer JWT (the same HS256
tokens HydroNet issues) and lists the caller's 20 most recently active
conversations of its tenant as JSON — the same rows, index and JSON shape as
HydroNet's listing, without tenancy hooks, RLS, Redis, rate limits, metrics
or logging of its own.  Served by ``gunicorn -c gunicorn_config.py
bench.baseline_app:app`` (same worker class, workers and psycogreen patch).

Settings: ``BASELINE_DATABASE_URL`` and ``JWT_SECRET_KEY`` from the environment.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime

from flask import Flask
from flask_jwt_extended import JWTManager, get_jwt, jwt_required
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String, Uuid, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the baseline's single model."""


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


class Conversation(db.Model):  # type: ignore[name-defined]
    """The listing's row: a copy of HydroNet's conversations of one tenant."""

    __tablename__ = "conversations"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_app() -> Flask:
    """The baseline app, configured from the environment."""
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ["BASELINE_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20},
        JWT_SECRET_KEY=os.environ["JWT_SECRET_KEY"],
        JWT_DECODE_ALGORITHMS=["HS256"],
    )
    db.init_app(app)
    JWTManager(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness for the bench's start-up wait."""
        return {"status": "healthy"}

    @app.get("/api/chat/conversations")
    @jwt_required()
    def list_conversations() -> dict[str, object]:
        """The caller's 20 latest conversations."""
        claims = get_jwt()
        rows = db.session.execute(
            select(Conversation)
            .where(Conversation.tenant_id == uuid.UUID(claims["tid"]), Conversation.user_id == uuid.UUID(claims["sub"]))
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            .limit(20)
        ).scalars()
        return {
            "success": True,
            "conversations": [
                {
                    "id": str(c.id),
                    "title": c.title,
                    "archived": False,
                    "channel": "web",
                    "message_count": 0,
                    "created_at": c.created_at.isoformat(),
                    "updated_at": c.updated_at.isoformat(),
                }
                for c in rows
            ],
            "next_cursor": None,
        }

    return app


app = create_app() if os.environ.get("BASELINE_DATABASE_URL") else None
