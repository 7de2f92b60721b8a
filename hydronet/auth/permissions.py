"""Role-based access control: the one table of who may do what.

Tenant roles are owner > admin > member > viewer.  The platform (system)
administrator additionally holds ``platform:admin``.  API keys carry scopes
that narrow their creator's permissions (see SCOPES).
"""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "tenant:read": "See the tenant's profile and plan",
    "tenant:update": "Rename the tenant and change its settings",
    "usage:read": "See quotas and usage",
    "users:read": "List the tenant's users",
    "users:manage": "Create users, change roles, deactivate",
    "apikeys:manage": "Create, list and revoke API keys",
    "audit:read": "Read the tenant's audit log",
    "integrations:manage": "Configure MCP servers and WeChat accounts",
    "chat:read": "Read one's own conversations",
    "chat:write": "Start conversations and send messages",
    "networks:read": "List and inspect water networks and results",
    "networks:write": "Upload, import and delete networks",
    "analyses:run": "Run hydraulic analyses",
    "platform:admin": "Operate the whole platform",
}

_VIEWER = {"tenant:read", "usage:read", "chat:read", "networks:read"}
_MEMBER = _VIEWER | {"chat:write", "networks:write", "analyses:run"}
_ADMIN = _MEMBER | {
    "tenant:update",
    "users:read",
    "users:manage",
    "apikeys:manage",
    "audit:read",
    "integrations:manage",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset(_VIEWER),
    "member": frozenset(_MEMBER),
    "admin": frozenset(_ADMIN),
    "owner": frozenset(_ADMIN),
}
PLATFORM_PERMISSIONS = frozenset({"platform:admin"})
ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}

# API key scopes → the permissions they unlock (always intersected with the creator's).
SCOPES: dict[str, frozenset[str]] = {
    "chat": frozenset({"chat:read", "chat:write", "tenant:read", "usage:read"}),
    "chat:read": frozenset({"chat:read", "tenant:read"}),
    "networks:read": frozenset({"networks:read", "tenant:read"}),
    "networks": frozenset({"networks:read", "networks:write", "analyses:run", "tenant:read"}),
    "usage:read": frozenset({"usage:read", "tenant:read"}),
    "mcp": frozenset({"networks:read", "analyses:run", "tenant:read"}),
}


def permissions_for(role: str, *, platform_admin: bool = False, scopes: list[str] | None = None) -> frozenset[str]:
    """Effective permissions of a role, optionally narrowed by API key scopes."""
    perms = set(ROLE_PERMISSIONS.get(role, frozenset()))
    if platform_admin:
        perms |= PLATFORM_PERMISSIONS
    if scopes is not None:
        allowed: set[str] = set()
        for scope in scopes:
            allowed |= SCOPES.get(scope, frozenset())
        perms &= allowed
    return frozenset(perms)


def can_manage_role(actor_role: str, target_role: str) -> bool:
    """Admins manage members and viewers; owners manage everyone."""
    if actor_role == "owner":
        return True
    return ROLE_RANK.get(actor_role, -1) > ROLE_RANK.get(target_role, 99)
