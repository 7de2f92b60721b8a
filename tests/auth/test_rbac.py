"""The RBAC matrix, generated from the permission table and the app's routes."""

from __future__ import annotations

import re
import uuid

import pytest

from hydronet.auth.permissions import ROLE_PERMISSIONS

ROLES = ("owner", "admin", "member", "viewer")


def protected_routes(app):
    """(method, url, permission) for every /api route guarded by `require(permission)`."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        view = app.view_functions[rule.endpoint]
        perm = getattr(view, "required_permission", None)
        if not perm:
            continue
        url = re.sub(r"<[^>]+>", str(uuid.uuid4()), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url, perm))
    return routes


def test_every_permission_is_defined(app):
    from hydronet.auth.permissions import PERMISSIONS

    for _m, _u, perm in protected_routes(app):
        assert perm in PERMISSIONS


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, client, factory, two_tenants, role):
    headers = factory.headers(two_tenants["a_users"][role])
    failures = []
    for method, url, perm in protected_routes(app):
        resp = client.open(url, method=method, headers=headers, json={})
        allowed = perm in ROLE_PERMISSIONS[role]
        if allowed and resp.status_code in (401, 403):
            failures.append(f"{role} refused {method} {url} ({perm}): {resp.status_code} {resp.get_json()}")
        if not allowed and resp.status_code != 403:
            failures.append(f"{role} not refused {method} {url} ({perm}): {resp.status_code}")
    assert not failures, "\n".join(failures)


def test_platform_routes_refuse_tenant_owner(app, client, factory, two_tenants):
    headers = factory.headers(two_tenants["a_users"]["owner"])
    for method, url, perm in protected_routes(app):
        if perm == "platform:admin":
            assert client.open(url, method=method, headers=headers, json={}).status_code == 403


def test_protected_routes_need_a_token(app, client):
    for method, url, _perm in protected_routes(app):
        resp = client.open(url, method=method, json={})
        assert resp.status_code == 401, (method, url)
        assert resp.get_json()["success"] is False
