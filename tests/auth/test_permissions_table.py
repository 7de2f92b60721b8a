"""The role × permission table and the role hierarchy, against answers written out by hand.

Nothing here is derived from hydronet/auth/permissions.py: a permission dropped from (or added to) a
role, a scope widened, or a rank changed fails one of these tables.
"""

from __future__ import annotations

import pytest

from hydronet.auth.permissions import PERMISSIONS, can_manage_role, permissions_for

ROLES = ("owner", "admin", "member", "viewer")
# permission: (owner, admin, member, viewer)
EXPECTED = {
    "tenant:read": (True, True, True, True),
    "tenant:update": (True, True, False, False),
    "usage:read": (True, True, True, True),
    "users:read": (True, True, False, False),
    "users:manage": (True, True, False, False),
    "apikeys:manage": (True, True, False, False),
    "audit:read": (True, True, False, False),
    "integrations:manage": (True, True, False, False),
    "chat:read": (True, True, True, True),
    "chat:write": (True, True, True, False),
    "networks:read": (True, True, True, True),
    "networks:write": (True, True, True, False),
    "analyses:run": (True, True, True, False),
    "platform:admin": (False, False, False, False),
}


def test_every_permission_is_in_the_expected_table():
    assert set(PERMISSIONS) == set(EXPECTED)


@pytest.mark.parametrize("role", ROLES)
def test_role_permissions_match_the_table(role):
    column = ROLES.index(role)
    expected = {perm for perm, row in EXPECTED.items() if row[column]}
    assert permissions_for(role) == frozenset(expected)


@pytest.mark.parametrize("role", ROLES)
def test_platform_admin_adds_exactly_platform_admin(role):
    column = ROLES.index(role)
    expected = {perm for perm, row in EXPECTED.items() if row[column]} | {"platform:admin"}
    assert permissions_for(role, platform_admin=True) == frozenset(expected)


def test_unknown_role_has_no_permissions():
    assert permissions_for("superuser") == frozenset()
    assert permissions_for("superuser", platform_admin=True) == frozenset({"platform:admin"})


# scope: the permissions an owner's key with only that scope holds
SCOPES = {
    "chat": {"chat:read", "chat:write", "tenant:read", "usage:read"},
    "chat:read": {"chat:read", "tenant:read"},
    "networks:read": {"networks:read", "tenant:read"},
    "networks": {"networks:read", "networks:write", "analyses:run", "tenant:read"},
    "usage:read": {"usage:read", "tenant:read"},
    "mcp": {"networks:read", "analyses:run", "tenant:read"},
}


@pytest.mark.parametrize("scope", SCOPES)
def test_each_scope_unlocks_exactly_its_permissions(scope):
    assert permissions_for("owner", scopes=[scope]) == frozenset(SCOPES[scope])


def test_scopes_never_widen_the_role_and_combine_as_a_union():
    assert permissions_for("viewer", scopes=["networks"]) == frozenset({"networks:read", "tenant:read"})
    assert permissions_for("member", scopes=["chat:read", "usage:read"]) == frozenset(
        {"chat:read", "tenant:read", "usage:read"}
    )
    assert permissions_for("owner", scopes=[]) == frozenset()
    assert permissions_for("owner", scopes=["no-such-scope"]) == frozenset()
    # a platform admin's key never carries platform:admin, whatever the scopes
    assert "platform:admin" not in permissions_for("owner", platform_admin=True, scopes=list(SCOPES))


# actor → the roles it outranks (hand-written): strictly lower roles, everything for owners. Members and
# viewers lack users:manage, so their entries only matter if that permission ever reached them.
MANAGES = {
    "owner": {"owner", "admin", "member", "viewer"},
    "admin": {"member", "viewer"},
    "member": {"viewer"},
    "viewer": set(),
}


@pytest.mark.parametrize("actor", ROLES)
@pytest.mark.parametrize("target", ROLES)
def test_who_manages_whom(actor, target):
    assert can_manage_role(actor, target) is (target in MANAGES[actor])


def test_unknown_roles_manage_nothing_and_are_managed_by_owners_only():
    assert not can_manage_role("ghost", "viewer")
    assert not can_manage_role("admin", "ghost")
    assert can_manage_role("owner", "ghost")


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        ("admin", "admin", False),
        ("admin", "owner", False),
        ("admin", "member", True),
        ("owner", "admin", True),
    ],
)
def test_the_hierarchy_through_the_api(client, factory, two_tenants, actor, target, allowed):
    """An admin may not create admins or owners; an owner may (users:manage through POST /api/tenant/users)."""
    headers = factory.headers(two_tenants["a_users"][actor])
    resp = client.post(
        "/api/tenant/users", headers=headers, json={"email": f"new-{actor}-{target}@alpha.example.com", "role": target}
    )
    assert resp.status_code == (201 if allowed else 403), resp.get_json()
