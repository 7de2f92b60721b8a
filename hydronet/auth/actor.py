"""The actor of a service call: who, in which tenant, from where."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from hydronet.models import Tenant, User


@dataclass(frozen=True)
class RequestMeta:
    """Where a call came from, for the audit log."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Actor:
    """A signed-in user acting in their tenant (or the platform admin)."""

    user: User | None
    tenant: Tenant | None
    meta: RequestMeta = RequestMeta()
    api_key_id: str | None = None

    @property
    def email(self) -> str | None:
        return self.user.email if self.user else None


SYSTEM = Actor(user=None, tenant=None, meta=RequestMeta(request_id="system"))


def request_meta() -> RequestMeta:
    """Client address, user agent and request id of the current request."""
    return RequestMeta(
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        request_id=g.get("request_id"),
    )
