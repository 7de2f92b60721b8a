"""JSON shapes of who is calling: users, tenants and API keys (every endpoint answers with these)."""

from __future__ import annotations

from typing import Any

from hydronet.kernel.jsonio import iso
from hydronet.models import ApiKey, Tenant, User


def tenant_dict(t: Tenant) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "name": t.name,
        "slug": t.slug,
        "plan": t.plan,
        "status": t.status,
        "status_reason": t.status_reason,
        "settings": t.settings or {},
        "quota_overrides": t.quota_overrides or {},
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
    }


def user_dict(u: User) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "email": u.email,
        "name": u.name,
        "role": u.role,
        "tenant_id": str(u.tenant_id),
        "is_active": u.is_active,
        "is_platform_admin": u.is_platform_admin,
        "last_login_at": iso(u.last_login_at),
        "created_at": iso(u.created_at),
        "password_change_required": u.password_change_required,
    }


def api_key_dict(k: ApiKey) -> dict[str, Any]:
    return {
        "id": str(k.id),
        "name": k.name,
        "prefix": k.prefix,
        "scopes": k.scopes or [],
        "expires_at": iso(k.expires_at),
        "last_used_at": iso(k.last_used_at),
        "revoked_at": iso(k.revoked_at),
        "created_at": iso(k.created_at),
        "user_id": str(k.user_id),
    }
