"""Provisioning real PostgreSQL/Redis (or embedded SQLite/in-process) for a test session."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg2
import redis

REQUIRE = os.environ.get("HYDRONET_REQUIRE_SERVICES", "").lower() in ("1", "true", "yes")
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def _server_url(url: str, dbname: str) -> str:
    parts = urlparse(url.replace("postgresql+psycopg2://", "postgresql://"))
    return urlunparse(parts._replace(path="/" + dbname))


@dataclass
class Backends:
    """URLs of the session's database and store, and how to reset them."""

    database_url: str
    redis_url: str
    admin_url: str | None = None
    dbname: str | None = None
    apps: list[Any] = field(default_factory=list)
    owner_url: str = ""
    roles: RoleDatabase | None = None

    @property
    def superuser_url(self) -> str:
        """The test database as the server's superuser (cleaning, tampering in tests)."""
        assert self.admin_url and self.dbname
        return _server_url(self.admin_url, self.dbname)

    def superuser_connection(self):
        """An autocommit psycopg2 connection to the test database as superuser."""
        conn = psycopg2.connect(self.superuser_url)
        conn.autocommit = True
        return conn

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def app_config(self, **overrides: Any) -> dict[str, Any]:
        """Config for create_app pointing at these backends."""
        cfg = {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "JWT_SECRET_KEY": TEST_SECRET + "-jwt",
            "DATABASE_URL": self.database_url,
            "DATABASE_OWNER_URL": self.owner_url,
            "REDIS_URL": self.redis_url,
            "LOG_JSON": False,
            "LOG_LEVEL": "WARNING",
            "ALIYUN_API_KEY": "",
            "JOBS_INLINE": True,
            "REQUIRE_SERVICES": REQUIRE,
        }
        cfg.update(overrides)
        return cfg

    def env(self) -> dict[str, str]:
        """Environment for a subprocess (gunicorn) using these backends."""
        return {
            "SECRET_KEY": TEST_SECRET,
            "JWT_SECRET_KEY": TEST_SECRET + "-jwt",
            "DATABASE_URL": self.database_url,
            "DATABASE_OWNER_URL": self.owner_url,
            "REDIS_URL": self.redis_url,
            "DEBUG": "false",
        }

    def clean(self) -> None:
        """Empty every table and the store."""
        from hydronet.auth.ratelimit import limiter
        from hydronet.kernel.db import Base, db

        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if self.is_postgres:
            conn = self.superuser_connection()
            with conn.cursor() as cur:
                cur.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
            conn.close()
        if self.redis_url:
            redis.Redis.from_url(self.redis_url).flushdb()
        for app in self.apps:
            with app.app_context():
                if not self.is_postgres:
                    for name in tables:
                        db.session.execute(db.text(f"DELETE FROM {name}"))
                    db.session.commit()
                store = app.extensions.get("hydronet_store")
                if store is not None and store.kind == "memory":
                    store._data.clear()  # type: ignore[attr-defined]
                try:
                    limiter.reset()
                except Exception:
                    pass

    def teardown(self) -> None:
        """Drop the session's PostgreSQL database (and its roles)."""
        if self.admin_url and self.dbname:
            from hydronet.kernel.db import db

            for app in self.apps:
                with app.app_context():
                    db.engine.dispose()
            if self.roles is not None:
                self.roles.drop()
                return
            conn = psycopg2.connect(self.admin_url)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            conn.close()


def provision_backends(tmp: Path) -> Backends:
    """Create a fresh database (PostgreSQL when configured) and check Redis."""
    db_url = os.environ.get("HYDRONET_TEST_DATABASE_URL", "")
    redis_url = os.environ.get("HYDRONET_TEST_REDIS_URL", "")
    if REQUIRE and not (db_url and redis_url):
        raise RuntimeError(
            "HYDRONET_REQUIRE_SERVICES is set: HYDRONET_TEST_DATABASE_URL and HYDRONET_TEST_REDIS_URL are required"
        )
    if redis_url:
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            raise RuntimeError(f"Redis at {redis_url} is unreachable: {exc}") from exc
    if not db_url:
        return Backends(database_url=f"sqlite:///{tmp / 'hydronet-test.db'}", redis_url=redis_url)
    admin_url = db_url.replace("postgresql+psycopg2://", "postgresql://")
    dbname = f"hydronet_test_{os.getpid()}"
    try:
        conn = psycopg2.connect(admin_url, connect_timeout=5)
    except psycopg2.Error as exc:
        raise RuntimeError(f"PostgreSQL at {admin_url} is unreachable: {exc}") from exc
    if os.environ.get("HYDRONET_TEST_RLS", "").lower() in ("1", "true", "yes"):
        # The production arrangement: migrations as the table owner, the app as a role subject to RLS.
        conn.close()
        rd = provision_role_database(admin_url, f"t{os.getpid()}")
        return Backends(
            database_url=rd.app_url,
            redis_url=redis_url,
            admin_url=admin_url,
            dbname=rd.dbname,
            owner_url=rd.owner_url,
            roles=rd,
        )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{dbname}"')
    conn.close()
    return Backends(
        database_url=_server_url(admin_url, dbname), redis_url=redis_url, admin_url=admin_url, dbname=dbname
    )


@dataclass
class RoleDatabase:
    """A database owned by a migration role, used by an app role subject to RLS."""

    admin_url: str
    dbname: str
    owner: str
    app_role: str

    def url(self, role: str) -> str:
        parts = urlparse(self.admin_url)
        netloc = f"{role}@{parts.hostname}:{parts.port or 5432}"
        return urlunparse(parts._replace(netloc=netloc, path="/" + self.dbname))

    @property
    def owner_url(self) -> str:
        return self.url(self.owner)

    @property
    def app_url(self) -> str:
        return self.url(self.app_role)

    def drop(self) -> None:
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            for role in (self.app_role, self.owner):
                cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.close()


def provision_role_database(admin_url: str, suffix: str) -> RoleDatabase:
    """Create owner and app roles (no BYPASSRLS) and a database the owner owns (trust auth)."""
    admin_url = admin_url.replace("postgresql+psycopg2://", "postgresql://")
    rd = RoleDatabase(admin_url, f"hydronet_rls_{suffix}", f"hydronet_owner_{suffix}", f"hydronet_app_{suffix}")
    rd.drop()
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE ROLE "{rd.owner}" LOGIN NOSUPERUSER NOBYPASSRLS')
        cur.execute(f'CREATE ROLE "{rd.app_role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE')
        cur.execute(f'CREATE DATABASE "{rd.dbname}" OWNER "{rd.owner}"')
    conn.close()
    conn = psycopg2.connect(_server_url(admin_url, rd.dbname))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'GRANT USAGE ON SCHEMA public TO "{rd.app_role}"')
        cur.execute(
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{rd.owner}" IN SCHEMA public '
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{rd.app_role}"'
        )
        cur.execute(
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{rd.owner}" IN SCHEMA public '
            f'GRANT USAGE, SELECT ON SEQUENCES TO "{rd.app_role}"'
        )
    conn.close()
    return rd


def run_as_superuser(backends: Backends, app, sql: str, params: dict | None = None) -> None:
    """Run SQL bypassing the app's role (to tamper with data in tests, as an intruder with DB access would)."""
    if backends.is_postgres:
        conn = backends.superuser_connection()
        with conn.cursor() as cur:
            cur.execute(sql, params or {})
        conn.close()
        return
    from hydronet.kernel.db import db

    with app.app_context():
        db.session.execute(db.text(sql.replace("%(", ":").replace(")s", "")), params or {})
        db.session.commit()
