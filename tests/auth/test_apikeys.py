"""Tenant API keys: shown once, hashed, scoped, revocable, usable by scripts."""

from __future__ import annotations

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import ApiKey


def _create(client, headers, scopes=("chat",), **extra):
    resp = client.post(
        "/api/tenant/api-keys", headers=headers, json={"name": "script", "scopes": list(scopes), **extra}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_key_shown_once_and_stored_hashed(client, factory, two_tenants, app):
    h = factory.headers(two_tenants["a_users"]["admin"])
    created = _create(client, h)
    raw = created["key"]
    assert raw.startswith("hn_")
    listed = client.get("/api/tenant/api-keys", headers=h).get_json()["api_keys"]
    assert raw not in str(listed) and listed[0]["prefix"] == created["api_key"]["prefix"]
    with app.app_context(), all_tenants(db.session):
        stored = db.session.query(ApiKey).one()
        assert raw not in (stored.key_hash, stored.prefix)


def test_script_can_chat_and_is_stopped_by_scopes(client, factory, two_tenants):
    h = factory.headers(two_tenants["a_users"]["admin"])
    key = _create(client, h, scopes=("chat",))["key"]
    kh = {"Authorization": f"Bearer {key}"}
    cid = client.post("/api/chat/conversations", headers=kh, json={"title": "script"}).get_json()["conversation"]["id"]
    turn = client.post(f"/api/chat/conversations/{cid}/messages", headers=kh, json={"message": "hello"})
    assert turn.status_code == 200
    assert client.get("/api/tenant/users", headers=kh).status_code == 403
    assert client.get("/api/tenant/api-keys", headers=kh).status_code == 403
    read_only = _create(client, h, scopes=("chat:read",))["key"]
    assert (
        client.post("/api/chat/conversations", headers={"Authorization": f"Bearer {read_only}"}, json={}).status_code
        == 403
    )


def test_revoked_expired_and_unknown_keys_refused(client, factory, two_tenants):
    h = factory.headers(two_tenants["a_users"]["admin"])
    created = _create(client, h)
    kh = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/tenant/info", headers=kh).status_code == 200
    client.delete(f"/api/tenant/api-keys/{created['api_key']['id']}", headers=h)
    assert client.get("/api/tenant/info", headers=kh).status_code == 401
    assert client.get("/api/tenant/info", headers={"Authorization": "Bearer hn_deadbeef_nope"}).status_code == 401
    past = client.post(
        "/api/tenant/api-keys", headers=h, json={"name": "x", "scopes": ["chat"], "expires_at": "2000-01-01T00:00:00Z"}
    )
    assert past.status_code == 422


def test_invalid_scopes_are_422(client, factory, two_tenants):
    h = factory.headers(two_tenants["a_users"]["admin"])
    resp = client.post("/api/tenant/api-keys", headers=h, json={"name": "x", "scopes": ["root"]})
    assert resp.status_code == 422 and "scopes" in resp.get_json()["error"]["fields"]


def test_key_of_tenant_a_sees_nothing_of_b(client, factory, two_tenants):
    key = _create(client, factory.headers(two_tenants["a_users"]["admin"]))["key"]
    b_headers = factory.headers(two_tenants["b_owner"])
    cid = client.post("/api/chat/conversations", headers=b_headers, json={}).get_json()["conversation"]["id"]
    assert client.get(f"/api/chat/conversations/{cid}", headers={"Authorization": f"Bearer {key}"}).status_code == 404
