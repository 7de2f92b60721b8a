"""Sign-in throttling: failures per (account, address) and per address; successes never count.

Both sign-in routes (/api/auth/login and /api/auth/web/login) draw on the same counters, and the
account is the email as sign-in folds it (case, outer spaces), so neither a second route nor a
respelling buys an attacker more guesses — and failures from other addresses never stop the owner.
"""

from __future__ import annotations

import pytest

from hydronet.auth.accounts import LOCK_THRESHOLD
from hydronet.kernel.db import db
from hydronet.web.app import create_app
from tests.support.factories import PASSWORD

ROUTES = ("/api/auth/login", "/api/auth/web/login")


def sign_in(client, email, password, address, route="/api/auth/login"):
    return client.post(route, json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def owner(two_tenants):
    return two_tenants["a_users"]["owner"]


def respellings(email):
    return [email, email.upper(), f"  {email} ", email.title()]


def test_failures_from_other_addresses_never_lock_the_owner_out(app, client, owner):
    limit = int(app.config["RATELIMIT_LOGIN"].split()[0])
    for i in range(3 * limit):
        spelled = respellings(owner.email)[i % 4]
        resp = sign_in(client, spelled, "wrong-password", f"203.0.113.{i % 40 + 1}", ROUTES[i % 2])
        assert resp.status_code in (401, 429)
    for route in ROUTES:
        resp = sign_in(client, owner.email, PASSWORD, "198.51.100.7", route)
        assert resp.status_code == 200, resp.get_json()


def test_successes_never_count(app, client, owner):
    limit = int(app.config["RATELIMIT_LOGIN"].split()[0])
    for route in ROUTES:
        codes = [sign_in(client, owner.email, PASSWORD, "198.51.100.8", route).status_code for _ in range(limit + 2)]
        assert codes == [200] * (limit + 2)


def test_failures_per_address_share_one_counter_across_both_routes(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_ADDRESS", "4 per minute")
    codes = [
        sign_in(client, f"nobody{i}@example.org", "wrong-password", "203.0.113.50", ROUTES[i % 2]).status_code
        for i in range(4)
    ]
    assert codes == [401] * 4
    for route in ROUTES:
        refused = sign_in(client, "someone-else@example.org", "wrong-password", "203.0.113.50", route)
        assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
    # another address is not affected
    assert sign_in(client, "nobody0@example.org", "wrong-password", "203.0.113.51").status_code == 401


def test_failures_per_account_and_address_fold_the_email_and_span_both_routes(app, client, owner, monkeypatch):
    # Below the backoff threshold, so the limiter (not the backoff) answers; the address-wide
    # limit stays higher, so it is the per-account one that refuses.
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_ADDRESS", "20 per minute")
    for i, spelled in enumerate(respellings(owner.email)[:3]):
        assert sign_in(client, spelled, "wrong-password", "203.0.113.60", ROUTES[i % 2]).status_code == 401
    refused = sign_in(client, owner.email, PASSWORD, "203.0.113.60", "/api/auth/web/login")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    # another account from the same address, and the owner from their own, are untouched
    assert sign_in(client, "other@example.org", "wrong-password", "203.0.113.60").status_code == 401
    assert sign_in(client, owner.email, PASSWORD, "198.51.100.9").status_code == 200


@pytest.fixture
def servers(backends, app):
    """The app, and with Redis another app on the same database and store, as a second server would be.

    Embedded mode keeps its stores in the process, so it is one server.
    """
    if not backends.redis_url:
        yield [app]
        return
    other = create_app(backends.app_config())
    yield [app, other]
    with other.app_context():
        db.session.remove()


def alternate(servers, owner_email, password, address, count):
    """``count`` sign-ins, alternating between the servers and between both sign-in routes."""
    answers = []
    for i in range(count):
        server = servers[i % len(servers)]
        resp = sign_in(server.test_client(), owner_email, password, address, ROUTES[(i // len(servers)) % 2])
        answers.append((resp.status_code, (resp.get_json() or {}).get("error", {}).get("code")))
    return answers


def test_each_failure_counts_once_whichever_server_and_route_answers(servers, owner, monkeypatch):
    """One failed sign-in is one hit on the (account, address) limit, on every server sharing the store.

    The limit sits below the backoff threshold, so the limiter answers first: a double count
    would refuse after half as many failures.
    """
    limit = LOCK_THRESHOLD - 1
    for server in servers:
        monkeypatch.setitem(server.config, "RATELIMIT_LOGIN", f"{limit} per minute")
    answers = alternate(servers, owner.email, "wrong-password", "203.0.113.70", limit + 2)
    assert answers == [(401, "invalid_credentials")] * limit + [(429, "rate_limited")] * 2


def test_with_the_default_settings_the_backoff_answers_before_the_per_account_limit(app, servers, owner):
    """LOCK_THRESHOLD failures of one account from one address start the backoff on every server.

    The backoff (5 s, doubling) refuses the next attempt with login_locked before the (account,
    address) limit of RATELIMIT_LOGIN is reached; the owner signing in from their own address is
    not affected.
    """
    assert LOCK_THRESHOLD < int(app.config["RATELIMIT_LOGIN"].split()[0])
    answers = alternate(servers, owner.email, "wrong-password", "203.0.113.71", LOCK_THRESHOLD + 3)
    assert answers == [(401, "invalid_credentials")] * LOCK_THRESHOLD + [(429, "login_locked")] * 3
    for server in servers:
        assert sign_in(server.test_client(), owner.email, PASSWORD, "198.51.100.10").status_code == 200
