"""The signed-in user and tenant come from the shared cache, and every change reaches the next request.

services/cache.py keeps snapshots of users and tenants in the store; a commit
that changes one leaves a tombstone.  These tests prove the cache is used
(no user/tenant SQL on a hit), that what a platform admin or a tenant admin
changes is seen at once, and that secrets never enter the cache.
"""

from __future__ import annotations

import json
import re

from bench.counting import counting
from hydronet.auth import cache
from hydronet.kernel.db import db
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Tenant, User
from tests.support.factories import PASSWORD


def _me(client, headers):
    return client.get("/api/auth/me", headers=headers)


def _assert_cached(app, user) -> None:
    """The user's and tenant's snapshots are in the store (so an invalidation test tests invalidation)."""
    with app.app_context():
        raw_user, raw_tenant = get_store().mget([cache.USER_KEY + str(user.id), cache.TENANT_KEY + str(user.tenant_id)])
    assert json.loads(raw_user)["id"] == str(user.id)
    assert json.loads(raw_tenant)["id"] == str(user.tenant_id)


def _user_selects(app, client, headers) -> list[str]:
    with app.app_context():
        engine = db.engine
    with counting(engine) as counts:
        assert client.get("/api/chat/conversations", headers=headers).status_code == 200
    return [s for s in counts.sql if re.search(r"\bFROM (users|tenants)\b", s)]


def test_second_request_reads_user_and_tenant_from_the_cache(app, client, factory, two_tenants):
    user = two_tenants["a_users"]["member"]
    headers = factory.headers(user)
    assert _user_selects(app, client, headers)  # first request: a miss, loaded and cached
    assert _user_selects(app, client, headers) == []  # then: no SQL for them at all
    with app.app_context():
        raw = get_store().mget([cache.USER_KEY + str(user.id), cache.TENANT_KEY + str(user.tenant_id)])
    snapshot = json.loads(raw[0])
    assert snapshot["role"] == "member" and snapshot["token_version"] == user.token_version
    assert json.loads(raw[1])["plan"] == two_tenants["a"].plan


def test_secrets_never_enter_the_cache(app, client, factory, two_tenants):
    user = two_tenants["a_users"]["member"]
    assert _me(client, factory.headers(user)).status_code == 200
    with app.app_context():
        raw = get_store().get(cache.USER_KEY + str(user.id))
    assert raw and "password_hash" not in raw and "invite_token_hash" not in raw and "$argon2" not in raw


def test_suspension_is_seen_by_the_next_request(app, client, factory, two_tenants, platform_admin):
    member = two_tenants["a_users"]["member"]
    headers = factory.headers(member)
    assert _me(client, headers).status_code == 200 and _me(client, headers).status_code == 200  # cached
    _assert_cached(app, member)
    resp = client.patch(
        f"/api/admin/tenants/{two_tenants['a'].id}",
        headers=factory.headers(platform_admin),
        json={"status": "suspended", "reason": "unpaid"},
    )
    assert resp.status_code == 200, resp.get_json()
    resp = _me(client, headers)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "tenant_suspended"
    reactivated = client.patch(
        f"/api/admin/tenants/{two_tenants['a'].id}", headers=factory.headers(platform_admin), json={"status": "active"}
    )
    assert reactivated.status_code == 200
    assert _me(client, headers).status_code == 200


def test_plan_change_is_seen_by_the_next_request(app, client, factory, two_tenants, platform_admin):
    owner = two_tenants["a_users"]["owner"]
    headers = factory.headers(owner)
    assert client.get("/api/tenant/info", headers=headers).get_json()["tenant"]["plan"] == "pro"
    _assert_cached(app, owner)
    resp = client.patch(
        f"/api/admin/tenants/{two_tenants['a'].id}",
        headers=factory.headers(platform_admin),
        json={"plan": "enterprise", "quotas": {"messages_per_day": 777}},
    )
    assert resp.status_code == 200
    info = client.get("/api/tenant/info", headers=headers).get_json()
    assert info["tenant"]["plan"] == "enterprise" and info["quotas"]["messages_per_day"] == 777
    usage = client.get("/api/tenant/usage", headers=headers).get_json()["usage"]
    assert usage["plan"] == "enterprise"
    assert usage["quotas"]["messages_per_day"]["limit"] == 777


def test_deactivation_by_a_tenant_admin_locks_the_user_out_at_once(app, client, factory, two_tenants):
    member, admin = two_tenants["a_users"]["member"], two_tenants["a_users"]["admin"]
    headers = factory.headers(member)
    assert _me(client, headers).status_code == 200
    _assert_cached(app, member)
    resp = client.patch(f"/api/tenant/users/{member.id}", headers=factory.headers(admin), json={"is_active": False})
    assert resp.status_code == 200, resp.get_json()
    assert _me(client, headers).status_code == 401


def test_any_committed_change_invalidates_even_outside_the_services(app, client, factory, two_tenants):
    """The hook is on the session: a change made by any code path (here, directly) is seen."""
    member = two_tenants["a_users"]["member"]
    headers = factory.headers(member)
    assert _me(client, headers).get_json()["user"]["name"] != "Renamed"
    _assert_cached(app, member)
    with app.app_context(), all_tenants(db.session):
        db.session.get(User, member.id).name = "Renamed"
        db.session.commit()
    assert _me(client, headers).get_json()["user"]["name"] == "Renamed"


def test_a_reader_that_loaded_the_old_row_cannot_refill_after_a_change(app, factory, two_tenants):
    """The race a plain DELETE would lose: the tombstone makes the late fill (SET NX) a no-op."""
    tenant = two_tenants["a"]
    with app.app_context(), all_tenants(db.session):
        stale = db.session.get(Tenant, tenant.id)
        stale_snapshot = cache.dump(stale)  # a reader loaded the row …
        db.session.expunge(stale)
        fresh = db.session.get(Tenant, tenant.id)
        fresh.plan = "enterprise"  # … a writer commits a change …
        db.session.commit()
    key = cache.TENANT_KEY + str(tenant.id)
    with app.app_context():
        assert get_store().get(key) == cache.TOMBSTONE  # the commit itself left the tombstone
    with app.test_request_context():
        cache.fill(stale)  # … and the reader's late fill must not win
        assert get_store().get(cache.TENANT_KEY + str(tenant.id)) == cache.TOMBSTONE
        assert json.loads(stale_snapshot)["plan"] != "enterprise"
    with app.test_request_context():  # control: without a tombstone the same fill does write
        get_store().delete(key)
        cache.fill(stale)
        assert json.loads(get_store().get(key))["plan"] == json.loads(stale_snapshot)["plan"]


def test_a_cached_user_can_still_change_their_password(app, client, factory, two_tenants):
    """The revived user is a real persistent row: secrets load on demand, writes commit."""
    member = two_tenants["a_users"]["member"]
    headers = factory.headers(member)
    assert _me(client, headers).status_code == 200 and _me(client, headers).status_code == 200
    resp = client.post(
        "/api/auth/change-password",
        headers=headers,
        json={"old_password": PASSWORD, "new_password": "An0ther-Str0ng-Pass!"},
    )
    assert resp.status_code == 200, resp.get_json()
    assert _me(client, headers).status_code == 401  # token version moved on, and the cache knows
    login = client.post("/api/auth/login", json={"email": member.email, "password": "An0ther-Str0ng-Pass!"})
    assert login.status_code == 200


def test_unreadable_cache_entries_are_misses(app, client, factory, two_tenants):
    member = two_tenants["a_users"]["member"]
    with app.app_context():
        get_store().set(cache.USER_KEY + str(member.id), "{not json", ttl=60)
        get_store().set(cache.TENANT_KEY + str(member.tenant_id), json.dumps({"old": "format"}), ttl=60)
    resp = _me(client, factory.headers(member))
    assert resp.status_code == 200
    assert resp.get_json()["user"]["id"] == str(member.id) and resp.get_json()["user"]["email"] == member.email
