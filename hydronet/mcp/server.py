"""/mcp: HydroNet as a streamable-HTTP MCP server, mounted inside the Flask app.

The route authenticates the bearer credential (tenant API key or JWT) with
the same code as the REST API, applies the per-caller and per-plan rate
limits, then hands the raw HTTP exchange to the SDK's own streamable-HTTP
transport (``StreamableHTTPSessionManager``, stateless, JSON responses) on a
private event loop (runner.py).  Stateless JSON mode needs no session
affinity, so any worker of any app server answers any request; going
through Flask keeps request ids, access logs, metrics and the JSON error
shape for refusals.  (An a2wsgi mount was the alternative: it runs one
long-lived loop thread per process, created before gunicorn forks and never
given the ASGI lifespan the SDK's session manager needs.)
"""

from __future__ import annotations

import math
import time

from a2wsgi.asgi import build_scope
from flask import Blueprint, Response, current_app, request
from limits import parse

from hydronet.auth.principal import Principal, authenticate
from hydronet.auth.ratelimit import client_key, default_api_limit, limiter
from hydronet.kernel.db import db
from hydronet.kernel.errors import Forbidden, RateLimited
from hydronet.tenants.quotas import rate_limit_for
from hydronet.water.tools import tool_time_limit

bp = Blueprint("mcp_endpoint", __name__)
PATH = "/mcp"
ENDPOINT_GRACE_S = 30.0


@bp.after_request
def _challenge(resp: Response) -> Response:
    """Tell MCP clients how to authenticate."""
    if resp.status_code == 401:
        resp.headers.setdefault("WWW-Authenticate", 'Bearer realm="hydronet", error="invalid_token"')
    return resp


@bp.route(PATH, methods=["POST"], strict_slashes=False)  # stateless JSON mode: no GET stream, no sessions
@limiter.limit(default_api_limit, key_func=client_key)  # the REST API's per-caller limit, before authentication
def mcp_endpoint() -> Response:
    """One MCP exchange for the authenticated caller (their tenant's networks only)."""
    from hydronet.mcp.endpoint import Caller, answer  # the SDK loads on first use

    principal = authenticate(fresh=False, allow_api_key=True)
    if "networks:read" not in principal.permissions:
        raise Forbidden(
            "MCP access needs the 'networks:read' permission (API key scope 'mcp')", permission="networks:read"
        )
    enforce_plan_limit(principal)
    caller = Caller(
        app=current_app._get_current_object(),
        tenant_id=principal.tenant.id,  # type: ignore[attr-defined]
        user_id=principal.user.id,
        permissions=principal.permissions,
    )
    body = request.get_data(cache=False)
    db.session.commit()  # tools run on another thread with their own session: release this connection first
    status, headers, payload = answer(
        caller,
        build_scope(request.environ),
        body,
        timeout=tool_time_limit() + ENDPOINT_GRACE_S,
    )
    return Response(payload, status=status, headers=headers)


def enforce_plan_limit(principal: Principal) -> None:
    """The plan's requests per minute for the caller's tenant (known only after authentication)."""
    if not current_app.config["RATELIMIT_ENABLED"] or not limiter.enabled:
        return
    item, key = parse(rate_limit_for(principal.tenant)), f"tenant:{principal.tenant.id}"
    if not limiter.limiter.hit(item, "mcp", key):
        reset_time = limiter.limiter.get_window_stats(item, "mcp", key).reset_time
        retry = max(1, math.ceil(reset_time - time.time()))
        raise RateLimited(f"Rate limit {item} exceeded", headers={"Retry-After": str(retry)}, retry_after=retry)
