"""Shared fixtures: a migrated database and a store per test session, cleaned per test.

Backends come from the environment:
- HYDRONET_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) — a fresh
  database named hydronet_test_<pid> is created on that server and dropped afterwards;
  unset → a SQLite file (embedded mode).
- HYDRONET_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/14) — flushed before each test;
  unset → in-process store.
- HYDRONET_REQUIRE_SERVICES=1 (CI) makes a missing or unreachable backend an error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `tests.…` imports however pytest is started

from tests.support.backends import Backends, provision_backends  # noqa: E402
from tests.support.constants import QWEN_TEST_KEY  # noqa: E402
from tests.support.factories import Factory  # noqa: E402

# Fixture modules shared by several packages of tests (the fake MCP server and the apps that use it).
pytest_plugins = ["tests.fakes.mcp_server"]

# Property tests (hypothesis, schemathesis) draw their examples reproducibly: the "ci" profile derives each
# test's seed from its name, so a run passes or fails the same way every time (bugs found while exploring are
# kept as fixed cases in tests/web/test_fuzz_findings.py). HYDRONET_FUZZ_PROFILE=explore draws fresh random examples
# for an on-demand hunt (with HYDRONET_FUZZ_SCALE=10 for ten times as many); a failure prints its
# @reproduce_failure blob.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYDRONET_FUZZ_PROFILE", "ci"))


@pytest.fixture(scope="session")
def backends(tmp_path_factory) -> Backends:
    """The database and store URLs of this test session (created once, dropped at the end)."""
    b = provision_backends(tmp_path_factory.mktemp("db"))
    yield b
    b.teardown()


@pytest.fixture(scope="session")
def app(backends):
    """The app under test, migrated to head once per session."""
    from hydronet.web.app import create_app
    from hydronet.web.cli import upgrade_locked

    app = create_app(backends.app_config())
    backends.apps.append(app)
    with app.app_context():
        upgrade_locked()
    return app


@pytest.fixture(autouse=True)
def _clean_state(request, backends):
    """Every test starts with empty tables and an empty store."""
    yield
    if "app" in request.fixturenames or "client" in request.fixturenames:
        backends.clean()


@pytest.fixture
def app_ctx(app):
    """An application context (for service-level tests)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()


@pytest.fixture
def factory(app) -> Factory:
    """Builds tenants, users and tokens directly in the database."""
    return Factory(app)


@pytest.fixture
def two_tenants(factory):
    """Tenant A with one user of every role, tenant B with an owner."""
    a = factory.tenant("Alpha Water", plan="pro")
    b = factory.tenant("Beta Water", plan="pro")
    users = {role: factory.user(a, role=role) for role in ("owner", "admin", "member", "viewer")}
    return {"a": a, "b": b, "a_users": users, "b_owner": factory.user(b, role="owner")}


@pytest.fixture
def member_user(two_tenants):
    """A plain member of tenant A."""
    return two_tenants["a_users"]["member"]


@pytest.fixture
def member(factory, member_user):
    """A plain member of tenant A and its auth header: (user, headers)."""
    return member_user, factory.headers(member_user)


@pytest.fixture
def platform_admin(factory):
    """The platform administrator (in the platform tenant)."""
    platform = factory.tenant("HydroNet Platform", plan="enterprise", slug="platform", is_platform=True)
    return factory.user(platform, role="owner", platform_admin=True)


def pytest_report_header(config):
    db = os.environ.get("HYDRONET_TEST_DATABASE_URL") or "sqlite (embedded)"
    redis = os.environ.get("HYDRONET_TEST_REDIS_URL") or "in-process store (embedded)"
    return [f"hydronet backends: database={db.split('@')[-1]} store={redis}"]


@pytest.fixture(scope="session")
def fake_dashscope():
    """A fake DashScope server (real SDK wire format) for the whole session."""
    from tests.fakes.fake_dashscope import FakeDashScope

    with FakeDashScope(api_key=QWEN_TEST_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def qwen_app(backends, app, fake_dashscope):
    """The app configured with a Qwen key, talking to the fake DashScope server."""
    from hydronet.web.app import create_app

    qapp = create_app(
        backends.app_config(
            ALIYUN_API_KEY=QWEN_TEST_KEY,
            DASHSCOPE_HTTP_BASE_URL=fake_dashscope.url,
            LLM_MAX_RETRIES=1,
            LLM_READ_TIMEOUT_S=5,
            LLM_TOTAL_TIMEOUT_S=20,
        )
    )
    backends.apps.append(qapp)
    return qapp


@pytest.fixture
def qwen_client(qwen_app, fake_dashscope):
    """A test client of the Qwen-configured app; the fake's script is reset per test."""
    fake_dashscope.clear()
    yield qwen_app.test_client()
    fake_dashscope.clear()
