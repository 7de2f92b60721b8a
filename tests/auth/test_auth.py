"""Sign-up, sign-in, refresh rotation, logout and password changes."""

from __future__ import annotations

import pytest

from tests.support.factories import PASSWORD


def register(client, email="owner@alpha.example.com", password="Test@123", tenant_name="Alpha 水务"):
    return client.post("/api/auth/register", json={"email": email, "password": password, "tenant_name": tenant_name})


def test_register_creates_tenant_and_owner(client):
    resp = register(client)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["success"] is True
    assert body["access_token"] and body["refresh_token"]
    assert body["user"]["role"] == "owner"
    assert body["tenant"]["name"] == "Alpha 水务"
    assert body["tenant"]["plan"] == "free"


def test_register_duplicate_email_case_insensitive(client):
    assert register(client).status_code == 201
    resp = register(client, email="OWNER@Alpha.example.com")
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": "Test@123", "tenant_name": "x"}, "email"),
        ({"email": "not-an-email", "password": "Test@123", "tenant_name": "x"}, "email"),
        ({"email": "a@b.example.com", "password": "short", "tenant_name": "x"}, "password"),
        ({"email": "a@b.example.com", "password": "password123", "tenant_name": "x"}, "password"),
        ({"email": "a@b.example.com", "password": "x" * 129, "tenant_name": "x"}, "password"),
        ({"email": "a@b.example.com", "password": "Test@123"}, "tenant_name"),
    ],
)
def test_register_validation(client, body, field):
    resp = client.post("/api/auth/register", json=body)
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "validation_error"
    assert field in err["fields"]


def test_register_leaves_nothing_half_written(client, app):
    from hydronet.kernel.db import db
    from hydronet.kernel.tenancy import all_tenants
    from hydronet.models import Tenant

    client.post("/api/auth/register", json={"email": "x@y.example.com", "password": "short", "tenant_name": "T"})
    with app.app_context(), all_tenants(db.session):
        assert db.session.query(Tenant).count() == 0


def test_login_same_error_for_unknown_email_and_wrong_password(client, factory):
    tenant = factory.tenant()
    user = factory.user(tenant)
    wrong = client.post("/api/auth/login", json={"email": user.email, "password": "Wrong-Pass-1"})
    unknown = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "Wrong-Pass-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_login_and_me(client, factory):
    user = factory.user(factory.tenant(), role="admin")
    resp = client.post("/api/auth/login", json={"email": user.email.upper(), "password": PASSWORD})
    assert resp.status_code == 200
    token = resp.get_json()["access_token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["user"]["email"] == user.email
    assert "users:manage" in me.get_json()["permissions"]


def test_disabled_user_and_suspended_tenant_refused(client, factory):
    tenant = factory.tenant()
    disabled = factory.user(tenant, active=False)
    resp = client.post("/api/auth/login", json={"email": disabled.email, "password": PASSWORD})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "account_disabled"
    suspended = factory.tenant(status="suspended")
    user = factory.user(suspended)
    resp = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "tenant_suspended"


def test_refresh_rotates_and_reuse_revokes_family(client, factory, monkeypatch):
    monkeypatch.setattr("hydronet.auth.tokens.ROTATION_GRACE_S", 0)  # the replay comes "later"
    user = factory.user(factory.tenant())
    login = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).get_json()
    first = client.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert first.status_code == 200
    new_pair = first.get_json()
    # The old refresh token is replayed: refused, and the whole family dies.
    replay = client.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert replay.status_code == 401
    again = client.post("/api/auth/refresh", json={"refresh_token": new_pair["refresh_token"]})
    assert again.status_code == 401


def test_refresh_replayed_within_grace_window_rotates_again(client, factory):
    """A lost refresh answer (tab closed mid-request) must not sign the user out."""
    user = factory.user(factory.tenant())
    login = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).get_json()
    assert client.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]}).status_code == 200
    again = client.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert again.status_code == 200
    assert (
        client.post("/api/auth/refresh", json={"refresh_token": again.get_json()["refresh_token"]}).status_code == 200
    )


def test_logout_revokes_access_and_refresh(client, factory):
    user = factory.user(factory.tenant())
    login = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    assert (
        client.post("/api/auth/logout", headers=headers, json={"refresh_token": login["refresh_token"]}).status_code
        == 200
    )
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]}).status_code == 401


def test_change_password_revokes_other_tokens(client, factory):
    user = factory.user(factory.tenant())
    other_session = factory.headers(user)
    headers = factory.headers(user)
    resp = client.put(
        "/api/auth/change-password", headers=headers, json={"old_password": PASSWORD, "new_password": "Another-Pass-77"}
    )
    assert resp.status_code == 200
    assert client.get("/api/auth/me", headers=other_session).status_code == 401
    new_headers = {"Authorization": f"Bearer {resp.get_json()['access_token']}"}
    assert client.get("/api/auth/me", headers=new_headers).status_code == 200
    assert client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 401
    assert client.post("/api/auth/login", json={"email": user.email, "password": "Another-Pass-77"}).status_code == 200


def test_change_password_wrong_old_password(client, factory):
    user = factory.user(factory.tenant())
    resp = client.put(
        "/api/auth/change-password",
        headers=factory.headers(user),
        json={"old_password": "nope-nope-1", "new_password": "Another-Pass-77"},
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_old_password"


def test_change_password_needs_fresh_login(client, factory):
    user = factory.user(factory.tenant())
    resp = client.put(
        "/api/auth/change-password",
        headers=factory.headers(user, fresh=False),
        json={"old_password": PASSWORD, "new_password": "Another-Pass-77"},
    )
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "fresh_login_required"


def test_repeated_failures_back_off_per_account(client, factory):
    user = factory.user(factory.tenant())
    codes = [
        client.post("/api/auth/login", json={"email": user.email, "password": f"bad-{i}-xxxx"}).status_code
        for i in range(7)
    ]
    assert codes[:5] == [401] * 5
    assert 429 in codes[5:]
    locked = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
