"""Fixtures for the deploy tests (helpers live in deploy_support.py).

The directory is put on sys.path here so `import deploy_support` works under
any pytest import mode and next to other conftest.py files.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_support import PG_ADMIN_URL, Processes, database_url, psql  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "deploy: real nginx/gunicorn/PostgreSQL on loopback (tests/deploy)")


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    yield procs
    procs.close()


@pytest.fixture(scope="module")
def module_processes(tmp_path_factory):
    procs = Processes(tmp_path_factory.mktemp("procs"))
    yield procs
    procs.close()


@pytest.fixture(scope="session")
def pg_admin():
    """The admin URL of the test PostgreSQL (HYDRONET_TEST_PG_ADMIN_URL)."""
    if shutil.which("psql") is None or shutil.which("pg_dump") is None:
        pytest.fail("psql/pg_dump missing: install postgresql-client")
    try:
        psql(PG_ADMIN_URL, "SELECT 1")
    except AssertionError as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL} (set HYDRONET_TEST_PG_ADMIN_URL): {exc}")
    return PG_ADMIN_URL


@pytest.fixture
def make_database(pg_admin):
    """Create uniquely named throwaway databases; drop them afterwards."""
    created: list[str] = []

    def make() -> str:
        name = f"hn_deploy_{uuid.uuid4().hex[:12]}"
        psql(pg_admin, f'CREATE DATABASE "{name}"')
        created.append(name)
        return database_url(name)

    yield make
    for name in created:
        psql(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', check=False)


@pytest.fixture(scope="module")
def app_env(backends):
    """Settings for the real app on the session's fresh PostgreSQL database and Redis (tests/conftest.py)."""
    if not (backends.is_postgres and backends.redis_url):
        pytest.skip("needs HYDRONET_TEST_DATABASE_URL (PostgreSQL) and HYDRONET_TEST_REDIS_URL")
    return {
        "DATABASE_URL": backends.database_url,
        "DATABASE_OWNER_URL": backends.owner_url,  # migrations as the table owner (RLS setups)
        "REDIS_URL": backends.redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "DEBUG": "False",
        "HYDRONET_REQUIRE_SERVICES": "true",
        "LOG_JSON": "True",
    }
