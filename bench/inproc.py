"""The app in the bench's own process: access tokens, and exact per-request costs (phase c).

Counting happens here, with Flask's test client against the same PostgreSQL
database (as the RLS-bound app role), Redis and fake upstream as the
gunicorn under load — deterministic numbers, free of the other load.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask

from bench.counting import Counts, counting


def tag_message(
    tag: str, first_ms: float = 0, chunks: int = 4, every_ms: float = 0, text: str = "请总结一下管网压力"
) -> str:
    """A chat message whose bench tag sets the fake upstream's behaviour (see bench/fake_upstream.py)."""
    return f"[bench id={tag} first_ms={first_ms:g} chunks={chunks} every_ms={every_ms:g}] {text}"


class InProcessApp:
    """create_app() with the bench's settings, for tokens and counting."""

    def __init__(self, config: dict[str, Any]) -> None:
        from hydronet.web.app import create_app

        self.app: Flask = create_app(config)
        self.client = self.app.test_client()

    def tokens(self, user_ids: list[str]) -> list[str]:
        """An access token per user id (lifetime JWT_ACCESS_TOKEN_MINUTES)."""
        from hydronet.auth.tokens import issue_tokens
        from hydronet.kernel.db import db
        from hydronet.kernel.tenancy import all_tenants
        from hydronet.models import User

        out: list[str] = []
        with self.app.test_request_context(), all_tenants(db.session):
            users = {str(u.id): u for u in db.session.query(User).filter(User.id.in_([uuid.UUID(i) for i in user_ids]))}
            for user_id in user_ids:
                out.append(issue_tokens(users[user_id], fresh=False)["access_token"])
            db.session.remove()
        return out

    def _engine(self):
        from hydronet.kernel.db import db

        with self.app.app_context():
            return db.engine

    def measure(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None, *, expect: int = 200
    ) -> Counts:
        """SQL statements and Redis round trips of one request (the body is read to the end)."""
        headers = {"Authorization": f"Bearer {token}"}
        with counting(self._engine()) as counts:
            resp = self.client.open(path, method=method, headers=headers, json=body)
            resp.get_data()
            status = resp.status_code
            resp.close()
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}: {resp.get_data(as_text=True)[:300]}")
        return counts

    def close(self) -> None:
        from hydronet.kernel.db import db

        with self.app.app_context():
            db.engine.dispose()


def request_costs(inproc: InProcessApp, data: Any, tokens: dict[str, str]) -> dict[str, Any]:
    """Per-request SQL/Redis counts of the measured endpoints, and whether they grow with the data.

    ``tokens`` maps user ids to access tokens.  Every request is made twice
    first (pools, caches, scripts loaded), then measured.
    """
    out: dict[str, Any] = {}

    def cost(name: str, method: str, path: str, user: str, body_of=None, repeat: int = 1) -> list[Counts]:
        for i in range(2):
            inproc.measure(method, path, tokens[user], body_of(f"{name}-warm{i}") if body_of else None)
        runs = [
            inproc.measure(method, path, tokens[user], body_of(f"{name}-{i}") if body_of else None)
            for i in range(repeat)
        ]
        out[name] = runs[-1].as_dict()
        out[name]["all_runs"] = [(c.sql_statements, c.redis_round_trips) for c in runs]
        return runs

    cost("list_25_conversations", "GET", "/api/chat/conversations", data.list_users[0])
    cost("list_1_conversation", "GET", "/api/chat/conversations", data.list_small_user)
    turn_path = f"/api/chat/conversations/{data.count_conversation}/messages"
    cost("turn", "POST", turn_path, data.count_user, lambda tag: {"message": tag_message(tag)}, repeat=10)
    cost(
        "turn_streamed",
        "POST",
        turn_path,
        data.count_user,
        lambda tag: {"message": tag_message(tag), "stream": True},
        repeat=3,
    )
    for label, ids in data.history.items():
        cost(f"history_{label}", "GET", f"/api/chat/conversations/{ids['conversation']}/messages", ids["user"])
    turns = out["turn"]["all_runs"]
    out["summary"] = {
        "list_sql": out["list_25_conversations"]["sql_statements"],
        "list_redis": out["list_25_conversations"]["redis_round_trips"],
        "list_constant": out["list_25_conversations"]["all_runs"] == out["list_1_conversation"]["all_runs"],
        "turn_sql": out["turn"]["sql_statements"],
        "turn_redis": out["turn"]["redis_round_trips"],
        # the conversation grows by 2 messages per turn: constant counts mean no N+1
        "turn_constant": len(set(turns)) == 1,
        "history_constant": out["history_1k"]["all_runs"] == out["history_1m"]["all_runs"],
    }
    return out
