"""Factories building domain objects straight in the database, and auth headers."""

from __future__ import annotations

import functools
import itertools
from typing import Any

from hydronet.auth import passwords, tokens
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Tenant, User

PASSWORD = "Str0ng-Pass!2026"
_seq = itertools.count(1)


@functools.lru_cache(maxsize=1)
def _password_hash() -> str:
    return passwords.hash_password(PASSWORD)


class Factory:
    """Creates tenants, users and tokens for tests (password: PASSWORD)."""

    def __init__(self, app) -> None:
        self.app = app

    def tenant(
        self,
        name: str | None = None,
        *,
        plan: str = "free",
        slug: str | None = None,
        status: str = "active",
        is_platform: bool = False,
        **extra: Any,
    ) -> Tenant:
        n = next(_seq)
        with self.app.app_context():
            t = Tenant(
                name=name or f"Tenant {n}",
                slug=slug or f"tenant-{n}",
                plan=plan,
                status=status,
                is_platform=is_platform,
                settings={},
                quota_overrides=extra.get("quota_overrides", {}),
            )
            db.session.add(t)
            db.session.commit()
            return t

    def user(
        self,
        tenant: Tenant,
        *,
        role: str = "member",
        email: str | None = None,
        platform_admin: bool = False,
        active: bool = True,
    ) -> User:
        n = next(_seq)
        with self.app.app_context():
            bind_tenant(db.session, tenant.id)  # the row is written as that tenant (RLS)
            u = User(
                tenant_id=tenant.id,
                email=email or f"user{n}@{tenant.slug}.example.com",
                name=f"User {n}",
                role=role,
                is_platform_admin=platform_admin,
                is_active=active,
                password_hash=_password_hash(),
            )
            db.session.add(u)
            db.session.commit()
            return self.reload_user(u.id)

    def reload_user(self, user_id) -> User:
        with self.app.app_context(), all_tenants(db.session):
            return db.session.get(User, user_id)

    def tokens(self, user: User, *, fresh: bool = True) -> dict[str, Any]:
        with self.app.test_request_context():
            return tokens.issue_tokens(self.reload_user(user.id), fresh=fresh)

    def headers(self, user: User, *, fresh: bool = True) -> dict[str, str]:
        """Authorization header with a new access token for ``user``."""
        return {"Authorization": f"Bearer {self.tokens(user, fresh=fresh)['access_token']}"}
