"""Platform admin API: tenants, plans and quotas, suspension, users, stats."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin_headers(factory, platform_admin):
    return factory.headers(platform_admin)


def test_list_and_search_tenants(client, admin_headers, two_tenants):
    body = client.get("/api/admin/tenants?q=alpha", headers=admin_headers).get_json()
    assert [t["name"] for t in body["tenants"]] == ["Alpha Water"]
    assert body["tenants"][0]["users"] == 4
    assert "usage_this_month" in body["tenants"][0]


def test_create_tenant(client, admin_headers):
    resp = client.post("/api/admin/tenants", headers=admin_headers, json={"name": "Gamma Water", "plan": "basic"})
    assert resp.status_code == 201
    assert resp.get_json()["tenant"]["plan"] == "basic"


def test_change_plan_and_quotas(client, admin_headers, two_tenants, factory):
    tid = str(two_tenants["a"].id)
    resp = client.patch(
        f"/api/admin/tenants/{tid}",
        headers=admin_headers,
        json={"plan": "basic", "quotas": {"messages_per_day": 500, "networks": 7}},
    )
    assert resp.status_code == 200, resp.get_json()
    quotas = resp.get_json()["quotas"]
    assert quotas["messages_per_day"] == 500 and quotas["networks"] == 7
    info = client.get("/api/tenant/info", headers=factory.headers(two_tenants["a_users"]["viewer"])).get_json()
    assert info["tenant"]["plan"] == "basic" and info["quotas"]["messages_per_day"] == 500


@pytest.mark.parametrize(
    "body, field",
    [
        ({"plan": "platinum"}, "plan"),
        ({"quotas": {"messages_per_dya": 5}}, "quotas.messages_per_dya"),
        ({"quotas": {"users": -5}}, "quotas.users"),
        ({"status": "suspended"}, "reason"),
    ],
)
def test_invalid_tenant_changes(client, admin_headers, two_tenants, body, field):
    resp = client.patch(f"/api/admin/tenants/{two_tenants['a'].id}", headers=admin_headers, json=body)
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


def test_suspension_locks_out_issued_tokens_at_once(client, admin_headers, two_tenants, factory):
    member = factory.headers(two_tenants["a_users"]["member"])
    assert client.get("/api/tenant/info", headers=member).status_code == 200
    resp = client.patch(
        f"/api/admin/tenants/{two_tenants['a'].id}",
        headers=admin_headers,
        json={"status": "suspended", "reason": "unpaid invoice"},
    )
    assert resp.status_code == 200
    refused = client.get("/api/tenant/info", headers=member)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "tenant_suspended"
    client.patch(f"/api/admin/tenants/{two_tenants['a'].id}", headers=admin_headers, json={"status": "active"})
    assert client.get("/api/tenant/info", headers=member).status_code == 200


def test_unknown_tenant_is_404(client, admin_headers):
    assert client.get("/api/admin/tenants/not-a-uuid", headers=admin_headers).status_code == 404
    assert (
        client.get("/api/admin/tenants/00000000-0000-0000-0000-000000000000", headers=admin_headers).status_code == 404
    )


def test_users_across_tenants_deactivate_and_reset(client, admin_headers, two_tenants, factory):
    victim = two_tenants["b_owner"]
    found = client.get(f"/api/admin/users?q={victim.email}", headers=admin_headers).get_json()["users"]
    assert [u["id"] for u in found] == [str(victim.id)]
    victim_headers = factory.headers(victim)
    resp = client.post(f"/api/admin/users/{victim.id}/reset-password", headers=admin_headers)
    token = resp.get_json()["reset_token"]
    assert client.get("/api/auth/me", headers=victim_headers).status_code == 401
    reset = client.post("/api/auth/reset-password", json={"token": token, "password": "Brand-New-Pass-9"})
    assert reset.status_code == 200
    assert (
        client.post("/api/auth/reset-password", json={"token": token, "password": "Brand-New-Pass-9"}).status_code
        == 400
    )
    resp = client.patch(f"/api/admin/users/{victim.id}", headers=admin_headers, json={"is_active": False})
    assert resp.get_json()["user"]["is_active"] is False
    login = client.post("/api/auth/login", json={"email": victim.email, "password": "Brand-New-Pass-9"})
    assert login.status_code == 403


def test_stats_and_health(client, admin_headers, two_tenants):
    stats = client.get("/api/admin/stats", headers=admin_headers).get_json()["stats"]
    assert stats["tenants"]["total"] >= 2 and stats["users"] >= 5
    health = client.get("/api/admin/health", headers=admin_headers).get_json()
    assert health["dependencies"]["database"] == "ok"


def test_admin_usage_matches_tenant_view(client, admin_headers, two_tenants, factory):
    tid = two_tenants["a"].id
    admin_view = client.get(f"/api/admin/tenants/{tid}/usage", headers=admin_headers).get_json()["usage"]
    tenant_view = client.get("/api/tenant/usage", headers=factory.headers(two_tenants["a_users"]["owner"])).get_json()[
        "usage"
    ]
    assert admin_view["quotas"] == tenant_view["quotas"]
