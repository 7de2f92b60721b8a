"""Seats: WeChat followers' accounts are marked by a column, and their placeholder domain is refused for people."""

from __future__ import annotations

import pytest

from hydronet.auth.actor import RequestMeta
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Tenant, User
from hydronet.models.tenant import SYNTHETIC_DOMAIN
from hydronet.wechat import followers
from tests.support.factories import PASSWORD

META = RequestMeta(ip="127.0.0.1", user_agent="test", request_id="seats")
RESERVED = [
    f"boss@{SYNTHETIC_DOMAIN}",
    f"Boss@{SYNTHETIC_DOMAIN.upper()}",
    f"  boss@{SYNTHETIC_DOMAIN} ",
    f"boss@eu.{SYNTHETIC_DOMAIN}",
]


def add_follower(app, tenant, openid):
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        follower, created = followers.ensure(db.session.get(Tenant, tenant.id), openid, META)
        assert created
        return db.session.get(User, follower.user_id)


def seats_used(client, headers) -> int:
    return client.get("/api/tenant/usage", headers=headers).get_json()["usage"]["quotas"]["users"]["used"]


@pytest.mark.parametrize("email", RESERVED)
def test_members_cannot_be_created_in_the_followers_domain(client, factory, email):
    tenant = factory.tenant(plan="free")
    headers = factory.headers(factory.user(tenant, role="owner"))
    for body in ({"email": email, "name": "x", "role": "admin", "password": PASSWORD}, {"email": email}):
        resp = client.post("/api/tenant/users", headers=headers, json=body)
        assert resp.status_code == 422, resp.get_json()
        assert "reserved" in resp.get_json()["error"]["fields"]["email"]
    with factory.app.app_context(), all_tenants(db.session):
        assert db.session.query(User).filter(User.email.like(f"%{SYNTHETIC_DOMAIN}%")).count() == 0


@pytest.mark.parametrize("route", ["/api/auth/register", "/api/auth/web/register"])
def test_registration_refuses_the_followers_domain(client, route):
    resp = client.post(route, json={"email": RESERVED[0], "password": PASSWORD, "tenant_name": "Sneaky"})
    assert resp.status_code == 422 and "reserved" in resp.get_json()["error"]["fields"]["email"]


def test_seats_count_people_by_the_column_not_by_the_email(app, client, factory):
    tenant = factory.tenant(plan="free")  # 3 seats
    owner = factory.user(tenant, role="owner")
    headers = factory.headers(owner)
    follower_user = add_follower(app, tenant, "oFollower0000000000000000001")
    assert follower_user.is_wechat_follower is True and follower_user.password_hash is None
    # A person whose address happens to carry the placeholder domain (written before it was refused) takes a seat.
    factory.user(tenant, role="admin", email=f"legacy@{SYNTHETIC_DOMAIN}")
    assert seats_used(client, headers) == 2
    third = client.post(
        "/api/tenant/users",
        headers=headers,
        json={"email": "third@alpha.example.com", "password": PASSWORD, "role": "member"},
    )
    assert third.status_code == 201
    assert seats_used(client, headers) == 3
    fourth = client.post(
        "/api/tenant/users",
        headers=headers,
        json={"email": "fourth@alpha.example.com", "password": PASSWORD, "role": "member"},
    )
    assert fourth.status_code == 429 and fourth.get_json()["error"]["code"] == "quota_exceeded"
    # Followers stay free however many there are.
    add_follower(app, tenant, "oFollower0000000000000000002")
    assert seats_used(client, headers) == 3


def test_a_follower_account_cannot_be_given_a_password(app, client, factory, platform_admin):
    tenant = factory.tenant(plan="free")
    follower_user = add_follower(app, tenant, "oFollower0000000000000000003")
    resp = client.post(f"/api/admin/users/{follower_user.id}/reset-password", headers=factory.headers(platform_admin))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "wechat_follower"
    with app.app_context(), all_tenants(db.session):
        user = db.session.get(User, follower_user.id)
        assert user.password_hash is None and user.invite_token_hash is None
