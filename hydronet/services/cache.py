"""Cached tenant and user records in the shared store, invalidated on every change."""
from __future__ import annotations

import uuid

from ..extensions import get_store

TENANT_KEY = "cache:tenant:"
USER_KEY = "cache:user:"


def invalidate_tenant(tenant_id: uuid.UUID) -> None:
    """Forget a cached tenant (plan, status, quotas) on every server."""
    get_store().delete(TENANT_KEY + str(tenant_id))


def invalidate_user(user_id: uuid.UUID) -> None:
    """Forget a cached user (role, active flag, token version) on every server."""
    get_store().delete(USER_KEY + str(user_id))
