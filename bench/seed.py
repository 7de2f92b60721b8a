"""Bench databases: roles, migration through init_database.py, bulk data generated inside PostgreSQL.

``bench_hydronet`` is laid out like production (deploy/install.sh): an owner
role runs the migrations, the app connects as a role that owns nothing and
is subject to Row-Level Security.  ``bench_baseline`` holds one table for the
minimal baseline app.  Rows are generated server-side with
``INSERT … SELECT … generate_series`` (no row crosses the socket), ids are
time-ordered UUIDv7 like the app's own, and everything is ANALYZEd.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://{user}@127.0.0.1:5432/{db}"
HYDRONET_DB, BASELINE_DB = "bench_hydronet", "bench_baseline"
OWNER_ROLE, APP_ROLE = "bench_owner", "bench_app"

LIST_USERS, LIST_CONVERSATIONS = 400, 10_000  # tenant of phase (b): 25 conversations per user
TURN_HISTORY = 40  # messages already in the conversation of phase (c) (the model's history window)
STREAMS_PER_USER = 5  # keeps every user under the default 300 requests/minute
HISTORY_SIZES = {"1k": 1_000, "1m": 1_000_000}

# A UUIDv7 from a timestamp expression and a row number (same layout as hydronet.kernel.db_base.uuid7).
UUID7 = (
    "(lpad(to_hex((extract(epoch from {ts}) * 1000)::bigint), 12, '0') || '7' "
    "|| substr(md5({n}::text || '{salt}'), 1, 3) || '8' || substr(md5({n}::text || '{salt}'), 4, 15))::uuid"
)


@dataclass
class Dataset:
    """Ids of what the phases use (saved next to the results for --reuse-db)."""

    list_tenant: str = ""
    list_users: list[str] = field(default_factory=list)
    list_small_user: str = ""  # a user of the same tenant with a single conversation
    turn_user: str = ""
    turn_conversation: str = ""
    count_user: str = ""
    count_conversation: str = ""
    history: dict[str, dict[str, str]] = field(default_factory=dict)  # "1k"/"1m" -> {user, conversation}
    streams: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # str(N) -> {users, conversations}
    seed_seconds: dict[str, float] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Dataset:
        return cls(**json.loads(path.read_text()))


def url(db: str, user: str = "postgres", driver: bool = False) -> str:
    """A loopback URL (trust authentication) for ``user`` on ``db``."""
    base = PG.format(user=user, db=db)
    return base.replace("postgresql://", "postgresql+psycopg2://") if driver else base


def _connect(db: str, user: str = "postgres") -> psycopg2.extensions.connection:
    conn = psycopg2.connect(url(db, user))
    conn.autocommit = True
    return conn


def _run(conn, *statements: str, params: Any = None) -> None:
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql, params)


def create_databases() -> None:
    """(Re)create both databases and the owner/app roles of bench_hydronet."""
    admin = _connect("postgres")
    _run(admin, f"DROP DATABASE IF EXISTS {BASELINE_DB} WITH (FORCE)", f"CREATE DATABASE {BASELINE_DB}")
    admin.close()
    create_owned_database(HYDRONET_DB)


def create_owned_database(name: str) -> None:
    """(Re)create database ``name`` owned by the owner role, the app role granted as deploy/install.sh does."""
    admin = _connect("postgres")
    _run(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    for role, extra in ((OWNER_ROLE, "BYPASSRLS"), (APP_ROLE, "NOBYPASSRLS NOINHERIT")):
        _run(
            admin,
            f"DO $$BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$",
            f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE {extra}",
        )
    _run(admin, f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
    admin.close()
    conn = _connect(name)
    _run(
        conn,
        f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}",
        f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER_ROLE} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER_ROLE} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}",
    )
    conn.close()


def migrate(env: dict[str, str], db: str = HYDRONET_DB) -> str:
    """Run the deployment guide's ``python init_database.py`` as the owner role; returns its output."""
    run_env = {**os.environ, **env, "DATABASE_URL": url(db, OWNER_ROLE), "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "init_database.py"], cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=180
    )
    if done.returncode != 0:
        raise RuntimeError(f"init_database.py failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _tenant(cur, slug: str, plan: str = "enterprise") -> str:
    cur.execute(
        "INSERT INTO tenants (id, created_at, updated_at, name, slug, plan, status, settings, quota_overrides, is_platform)"
        " VALUES (gen_random_uuid(), now(), now(), %s, %s, %s, 'active', '{}', '{}', false) RETURNING id",
        (f"Bench {slug}", slug, plan),
    )
    return str(cur.fetchone()[0])


def _users(cur, tenant: str, prefix: str, count: int) -> list[str]:
    cur.execute(
        "INSERT INTO users (id, created_at, updated_at, tenant_id, email, password_hash, name, role,"
        " is_platform_admin, is_active, token_version, password_change_required)"
        " SELECT " + UUID7.format(ts="clock_timestamp()", n="n", salt=prefix) + ", now(), now(), %s,"
        " %s || n || '@bench.example.com', NULL, 'Bench ' || n, 'member', false, true, 1, false"
        " FROM generate_series(1, %s) AS n ORDER BY n RETURNING id",
        (tenant, prefix, count),
    )
    return [str(r[0]) for r in cur.fetchall()]


def _conversations(cur, tenant: str, users: list[str], count: int, salt: str, messages: int = 0) -> list[str]:
    """``count`` conversations dealt round-robin to ``users`` (owner of #n: users[(n-1) % len])."""
    cur.execute(
        "INSERT INTO conversations (id, created_at, updated_at, tenant_id, user_id, title, archived, channel, message_count)"
        " SELECT " + UUID7.format(ts="ts", n="n", salt=salt) + ", ts, ts, %s, (%s::uuid[])[1 + (n - 1) %% %s],"
        " 'Bench conversation ' || n, false, 'web', %s"
        " FROM generate_series(1, %s) AS n, LATERAL (SELECT now() - interval '30 days' + n * interval '1 second' AS ts) t"
        " ORDER BY n RETURNING id",
        (tenant, users, len(users), messages, count),
    )
    return [str(r[0]) for r in cur.fetchall()]


def _messages(cur, tenant: str, user: str, conversation: str, count: int, salt: str) -> None:
    """``count`` alternating user/assistant messages, one second apart, ending a minute ago."""
    cur.execute(
        "INSERT INTO messages (id, created_at, tenant_id, conversation_id, user_id, role, content,"
        " input_tokens, output_tokens, model, metadata)"
        " SELECT " + UUID7.format(ts="ts", n="n", salt=salt) + ", ts, %s, %s, %s,"
        " CASE WHEN n %% 2 = 1 THEN 'user' ELSE 'assistant' END,"
        " 'Message ' || n || ': the pressure at junction J-' || (n %% 97) || ' stays above 20 m through the day; '"
        " || repeat('水力分析 ', 12),"
        " CASE WHEN n %% 2 = 0 THEN 120 ELSE 0 END, CASE WHEN n %% 2 = 0 THEN 80 ELSE 0 END,"
        " CASE WHEN n %% 2 = 0 THEN 'qwen-turbo' END, '{}'"
        " FROM generate_series(1, %s) AS n,"
        " LATERAL (SELECT now() - interval '1 minute' - (%s - n) * interval '1 second' AS ts) t",
        (tenant, conversation, user, count, count),
    )


def seed(stream_steps: list[int]) -> Dataset:
    """Fill bench_hydronet (as the superuser, beside RLS) and bench_baseline."""
    data = Dataset()
    conn = _connect(HYDRONET_DB)
    with conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '256MB'")
        started = time.perf_counter()
        data.list_tenant = _tenant(cur, "bench-list")
        data.list_users = _users(cur, data.list_tenant, "list", LIST_USERS + 1)
        data.list_small_user = data.list_users.pop()
        _conversations(cur, data.list_tenant, data.list_users, LIST_CONVERSATIONS, "list")
        _conversations(cur, data.list_tenant, [data.list_small_user], 1, "small")
        data.seed_seconds["conversations_10k"] = round(time.perf_counter() - started, 2)

        tenant = _tenant(cur, "bench-turns")
        data.turn_user, data.count_user = _users(cur, tenant, "turn", 2)
        data.turn_conversation = _conversations(cur, tenant, [data.turn_user], 1, "turn", TURN_HISTORY)[0]
        _messages(cur, tenant, data.turn_user, data.turn_conversation, TURN_HISTORY, "turn")
        data.count_conversation = _conversations(cur, tenant, [data.count_user], 1, "count")[0]

        for label, size in HISTORY_SIZES.items():
            started = time.perf_counter()
            tenant = _tenant(cur, f"bench-history-{label}")
            user = _users(cur, tenant, f"hist{label}", 1)[0]
            conversation = _conversations(cur, tenant, [user], 1, f"hist{label}", size)[0]
            _messages(cur, tenant, user, conversation, size, f"hist{label}")
            data.history[label] = {"user": user, "conversation": conversation}
            data.seed_seconds[f"messages_{label}"] = round(time.perf_counter() - started, 2)

        for step in stream_steps:
            tenant = _tenant(cur, f"bench-streams-{step}")
            users = _users(cur, tenant, f"s{step}-", math.ceil(step / STREAMS_PER_USER))
            conversations = _conversations(cur, tenant, users, step, f"s{step}")
            data.streams[str(step)] = {"users": users, "conversations": conversations}
        started = time.perf_counter()
        cur.execute("VACUUM (ANALYZE)")
        data.seed_seconds["vacuum_analyze"] = round(time.perf_counter() - started, 2)
    conn.close()
    _seed_baseline(data)
    return data


def _seed_baseline(data: Dataset) -> None:
    """The baseline's single table: a copy of the listing tenant's conversations."""
    conn = _connect(BASELINE_DB)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE conversations (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, user_id uuid NOT NULL,"
            " title varchar(200) NOT NULL, updated_at timestamptz NOT NULL, created_at timestamptz NOT NULL)"
        )
        cur.execute("CREATE INDEX ix_listing ON conversations (tenant_id, user_id, updated_at, id)")
        source = _connect(HYDRONET_DB)
        with source.cursor() as src:
            src.execute(
                "SELECT id, tenant_id, user_id, title, updated_at, created_at FROM conversations WHERE tenant_id = %s",
                (data.list_tenant,),
            )
            rows = src.fetchall()
        source.close()
        from psycopg2.extras import execute_values

        execute_values(cur, "INSERT INTO conversations VALUES %s", rows, page_size=2000)
        cur.execute("ANALYZE conversations")
    conn.close()
