"""Helpers shared by the blueprints: success bodies and the caller as an Actor."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from ..security.auth import current_principal
from ..services.context import Actor, RequestMeta


def ok(status: int = 200, **body: Any):
    """A success response: ``{"success": true, ...body}``."""
    resp = jsonify({"success": True, **body})
    resp.status_code = status
    return resp


def request_meta() -> RequestMeta:
    """Client address, user agent and request id of the current request."""
    return RequestMeta(
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        request_id=g.get("request_id"),
    )


def current_actor() -> Actor:
    """The authenticated caller as a service-layer Actor."""
    p = current_principal()
    return Actor(user=p.user, tenant=p.tenant, meta=request_meta(), api_key_id=str(p.api_key.id) if p.api_key else None)
