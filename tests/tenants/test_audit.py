"""The audit log: one entry per sensitive action, tenant/admin reading, hash chain, archive."""

from __future__ import annotations

import csv
import io

import pytest

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from tests.support.backends import run_as_superuser
from tests.support.factories import PASSWORD


def _actions(client, headers, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return [e["action"] for e in client.get(f"/api/tenant/audit-logs?{query}", headers=headers).get_json()["logs"]]


def test_actions_leave_exactly_one_entry(client, factory, two_tenants):
    owner = two_tenants["a_users"]["owner"]
    h = factory.headers(owner)
    client.post("/api/auth/login", json={"email": owner.email, "password": PASSWORD})
    client.post("/api/auth/login", json={"email": owner.email, "password": "wrong-password-1"})
    new = client.post(
        "/api/tenant/users",
        headers=h,
        json={"email": "new@alpha.example.com", "role": "member", "password": "Good-Pass-123"},
    ).get_json()["user"]
    client.patch(f"/api/tenant/users/{new['id']}", headers=h, json={"role": "viewer"})
    client.delete(f"/api/tenant/users/{new['id']}", headers=h)
    key = client.post("/api/tenant/api-keys", headers=h, json={"name": "ci", "scopes": ["chat"]}).get_json()
    client.delete(f"/api/tenant/api-keys/{key['api_key']['id']}", headers=h)
    client.patch("/api/tenant", headers=h, json={"name": "Alpha Water Co"})
    actions = _actions(client, h, limit=200)
    for action in (
        "auth.login",
        "auth.login_failed",
        "user.create",
        "user.role_change",
        "user.deactivate",
        "api_key.create",
        "api_key.revoke",
        "tenant.update",
    ):
        assert actions.count(action) == 1, (action, actions)


def test_no_secrets_in_details(client, factory, two_tenants, app):
    h = factory.headers(two_tenants["a_users"]["owner"])
    key = client.post("/api/tenant/api-keys", headers=h, json={"name": "ci", "scopes": ["chat"]}).get_json()["key"]
    client.post("/api/tenant/users", headers=h, json={"email": "p@alpha.example.com", "password": "Secret-Pass-77"})
    with app.app_context(), all_tenants(db.session):
        dump = " ".join(str(e.details) for e in db.session.query(AuditLog).all())
    assert key not in dump and "Secret-Pass-77" not in dump


def test_tenant_reads_only_its_own(client, factory, two_tenants):
    client.post(
        "/api/tenant/users",
        headers=factory.headers(two_tenants["b_owner"]),
        json={"email": "b2@beta.example.com", "password": "Good-Pass-123"},
    )
    a_logs = client.get("/api/tenant/audit-logs", headers=factory.headers(two_tenants["a_users"]["admin"])).get_json()[
        "logs"
    ]
    assert all(e["tenant_id"] == str(two_tenants["a"].id) for e in a_logs)
    assert (
        client.get("/api/tenant/audit-logs", headers=factory.headers(two_tenants["a_users"]["member"])).status_code
        == 403
    )


def test_admin_filters_pagination_and_csv(client, factory, two_tenants, platform_admin):
    h = factory.headers(two_tenants["a_users"]["owner"])
    for i in range(3):
        client.post(
            "/api/tenant/users", headers=h, json={"email": f"u{i}@alpha.example.com", "password": "Good-Pass-123"}
        )
    admin = factory.headers(platform_admin)
    page1 = client.get(
        f"/api/admin/audit-logs?tenant_id={two_tenants['a'].id}&action=user.create&limit=2", headers=admin
    ).get_json()
    assert len(page1["logs"]) == 2 and page1["next_cursor"]
    page2 = client.get(
        f"/api/admin/audit-logs?tenant_id={two_tenants['a'].id}&action=user.create&limit=2"
        f"&cursor={page1['next_cursor']}",
        headers=admin,
    ).get_json()
    assert len(page2["logs"]) == 1
    resp = client.get(f"/api/admin/audit-logs?tenant_id={two_tenants['a'].id}&action=user.*&format=csv", headers=admin)
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 3 and {r["action"] for r in rows} == {"user.create"}


@pytest.mark.parametrize("params", ["since=yesterday", "user_id=nope", "cursor=abc", "format=xml"])
def test_bad_filters_are_422(client, factory, platform_admin, params):
    assert client.get(f"/api/admin/audit-logs?{params}", headers=factory.headers(platform_admin)).status_code == 422


def test_no_api_edits_or_deletes(client, factory, platform_admin):
    h = factory.headers(platform_admin)
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert client.open("/api/admin/audit-logs", method=method, headers=h).status_code == 405


def test_chain_verifies_and_detects_tampering(client, factory, two_tenants, platform_admin, app, backends):
    h = factory.headers(two_tenants["a_users"]["owner"])
    for i in range(3):
        client.post(
            "/api/tenant/users", headers=h, json={"email": f"t{i}@alpha.example.com", "password": "Good-Pass-123"}
        )
    admin = factory.headers(platform_admin)
    url = f"/api/admin/audit-logs/verify?tenant_id={two_tenants['a'].id}"
    ok = client.get(url, headers=admin).get_json()
    assert ok["valid"] is True and ok["checked"] == 3
    with app.app_context(), all_tenants(db.session):
        target = db.session.query(AuditLog).filter_by(tenant_id=two_tenants["a"].id).order_by(AuditLog.id).all()[1]
    run_as_superuser(
        backends,
        app,
        "UPDATE audit_logs SET details = %(d)s WHERE id = %(id)s",
        {"d": '{"email": "forged"}', "id": target.id},
    )
    broken = client.get(url, headers=admin).get_json()
    assert broken["valid"] is False and broken["first_broken"]["id"] == target.id


def test_archive_keeps_chain_verifiable(client, factory, two_tenants, platform_admin, app, tmp_path, backends):
    from datetime import timedelta

    from hydronet.kernel.db import utcnow
    from hydronet.tenants.audit_archive import archive_before, verify_chain

    h = factory.headers(two_tenants["a_users"]["owner"])
    for i in range(4):
        client.post(
            "/api/tenant/users", headers=h, json={"email": f"r{i}@alpha.example.com", "password": "Good-Pass-123"}
        )
    from hydronet.kernel.audit import entry_hash

    with app.app_context(), all_tenants(db.session):
        entries = db.session.query(AuditLog).filter_by(tenant_id=two_tenants["a"].id).order_by(AuditLog.id).all()
        db.session.expunge_all()
    # Back-date the two oldest entries and re-chain, as if they had been written a year ago.
    prev = ""
    for i, e in enumerate(entries):
        if i < 2:
            e.created_at = utcnow() - timedelta(days=400)
        e.prev_hash = prev
        e.hash = entry_hash(e)
        prev = e.hash
        run_as_superuser(
            backends,
            app,
            "UPDATE audit_logs SET created_at = %(c)s, prev_hash = %(p)s, hash = %(h)s WHERE id = %(id)s",
            {"c": e.created_at, "p": e.prev_hash, "h": e.hash, "id": e.id},
        )
    with app.app_context():
        result = archive_before(utcnow() - timedelta(days=365), tmp_path)
        assert result["archived"] == 2 and len(result["files"]) == 1
        assert verify_chain(two_tenants["a"].id)["valid"] is True
    client.post("/api/tenant/users", headers=h, json={"email": "after@alpha.example.com", "password": "Good-Pass-123"})
    with app.app_context():
        assert verify_chain(two_tenants["a"].id) == {"valid": True, "checked": 3, "first_broken": None}


def test_entries_name_their_targets_carry_a_time_zone_and_page_views_can_be_left_out(
    client, factory, two_tenants, platform_admin
):
    from datetime import datetime

    h = factory.headers(two_tenants["a_users"]["owner"])
    new = client.post(
        "/api/tenant/users",
        headers=h,
        json={"email": "named@alpha.example.com", "role": "member", "password": "Good-Pass-123"},
    ).get_json()["user"]
    network = client.post("/api/networks/import", headers=h, json={"example": "Net1", "name": "一号管网"}).get_json()
    client.delete(f"/api/networks/{network['network']['id']}", headers=h)
    logs = client.get("/api/tenant/audit-logs", headers=h).get_json()["logs"]
    by_action = {e["action"]: e for e in logs}
    assert by_action["user.create"]["target_name"] == "named@alpha.example.com"
    assert by_action["user.create"]["target_id"] == new["id"]
    assert by_action["network.import"]["target_name"] == "一号管网"
    assert by_action["network.delete"]["target_name"] == "一号管网"  # gone, named from the entry's details
    assert all(datetime.fromisoformat(e["created_at"]).utcoffset() is not None for e in logs)

    admin = factory.headers(platform_admin)
    for _ in range(3):
        client.get("/api/admin/tenants", headers=admin)
    everything = [e["action"] for e in client.get("/api/admin/audit-logs?limit=200", headers=admin).get_json()["logs"]]
    assert everything.count("admin.read") >= 3
    real = [
        e["action"]
        for e in client.get("/api/admin/audit-logs?limit=200&exclude_action=admin.read", headers=admin).get_json()[
            "logs"
        ]
    ]
    assert (
        "admin.read" not in real
        and "user.create" in real
        and len(real) == len(everything) - everything.count("admin.read")
    )
