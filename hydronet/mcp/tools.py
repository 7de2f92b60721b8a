"""A tenant's MCP tools as chat tools: namespaced ``server__tool``, called through the SDK client.

`tenant_mcp_tools` is picked up by ``assistant.tools_for``.  Tool lists come
from each server's cache (filled by the test action, or here when a server
was never listed), so a chat turn normally makes no network call before the
model asks for a tool.  A call's failure — timeout, refusal, a tool-reported
error — becomes a tool result the model reads, never an HTTP error; every
call is audited with its server, tool, duration and outcome (the chat turn
meters it with the turn's other tools).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import jsonschema
from sqlalchemy import select

from hydronet.auth import cache
from hydronet.auth.actor import Actor, RequestMeta
from hydronet.kernel import audit
from hydronet.kernel.db import db
from hydronet.llm.tools import Tool, ToolContext, ToolError, ToolOutput
from hydronet.mcp.client import CallResult, Endpoint, McpClientError, call_tool
from hydronet.mcp.servers import egress_policy, endpoint_for, may_retry_listing, refresh_tools
from hydronet.mcp.ssrf import EgressPolicy
from hydronet.models import McpServer, Tenant, User
from hydronet.tenants.plans import effective_quotas

log = logging.getLogger(__name__)
MAX_NAME = 64  # OpenAI/DashScope function names: ^[a-zA-Z0-9_-]{1,64}$
MAX_DESCRIPTION = 1000
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def tool_name(server_name: str, remote_name: str, taken: set[str] | None = None) -> str:
    """``server__tool`` made safe for the model API; long or clashing names get a short hash."""
    base = f"{_UNSAFE.sub('_', server_name)}__{_UNSAFE.sub('_', remote_name)}"
    if len(base) <= MAX_NAME and base not in (taken or set()):
        return base
    digest = hashlib.sha256(f"{server_name}\0{remote_name}".encode()).hexdigest()[:8]
    return f"{base[: MAX_NAME - 9]}_{digest}"


def tool_parameters(schema: Any) -> dict[str, Any] | None:
    """A remote input schema usable as function parameters, or None when it is not an object schema."""
    if not schema:
        return {"type": "object", "properties": {}}
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return None
    params = {k: v for k, v in schema.items() if k != "$schema"}
    params["type"] = "object"
    params.setdefault("properties", {})
    try:
        jsonschema.Draft202012Validator.check_schema(params)
    except jsonschema.SchemaError:
        return None
    return params


def tenant_mcp_tools(tenant: Tenant) -> list[Tool]:
    """The tools of the tenant's enabled servers (within the plan's server count), allowed ones only."""
    limit = int(effective_quotas(tenant).get("mcp_servers", 0))
    if limit == 0:
        return []
    known = cache.cached_mcp_count(tenant.id)  # fetched with the caller's token checks: no extra trip
    if known == 0:
        return []
    servers = list(
        db.session.execute(
            select(McpServer)
            .where(McpServer.tenant_id == tenant.id, McpServer.enabled.is_(True))
            .order_by(McpServer.created_at)
        ).scalars()
    )
    if known is None:
        cache.fill_mcp_count(tenant.id, len(servers))
    if limit > 0:
        servers = servers[:limit]
    policy = egress_policy()
    tools: list[Tool] = []
    taken: set[str] = set()
    for server in servers:
        try:
            tools += _server_tools(server, policy, taken)
        except Exception:  # one broken server (unreadable headers, odd cache) must not break the chat
            db.session.rollback()
            log.exception("MCP server %s skipped for this turn", server.name)
    return tools


def _server_tools(server: McpServer, policy: EgressPolicy, taken: set[str]) -> list[Tool]:
    cached = server.tools_cache
    if cached is None and may_retry_listing(server):
        try:
            cached = [t.as_dict() for t in refresh_tools(server, policy)]
        except McpClientError as err:
            log.warning("MCP server %s skipped for this turn: %s", server.name, err.code)
    tools = []
    for remote in cached or []:
        tool = _as_tool(server, remote, policy, taken)
        if tool is not None:
            taken.add(tool.name)
            tools.append(tool)
    return tools


def _as_tool(server: McpServer, remote: dict[str, Any], policy: EgressPolicy, taken: set[str]) -> Tool | None:
    remote_name = str(remote.get("name") or "")
    if not remote_name or (server.allowed_tools is not None and remote_name not in server.allowed_tools):
        return None
    params = tool_parameters(remote.get("input_schema"))
    if params is None:
        log.warning("MCP tool %s/%s skipped: its input schema is not an object schema", server.name, remote_name)
        return None
    description = f"[MCP server {server.name}] {remote.get('description') or remote_name}"[:MAX_DESCRIPTION]
    handler = _handler(server.id, server.name, remote_name, endpoint_for(server), policy)
    return Tool(
        name=tool_name(server.name, remote_name, taken), description=description, parameters=params, handler=handler
    )


def _handler(
    server_id: uuid.UUID, server_name: str, remote_name: str, endpoint: Endpoint, policy: EgressPolicy
) -> Callable[[ToolContext, dict[str, Any]], ToolOutput]:
    """A tool handler calling ``remote_name`` on the server; failures become ToolErrors for the model."""

    def handle(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
        started = time.perf_counter()
        try:
            result = call_tool(endpoint, policy, remote_name, args)
        except McpClientError as err:
            outcome = "timeout" if err.code == "mcp_timeout" else "error"
            _audit(ctx, server_id, server_name, remote_name, started, outcome, err.code)
            raise ToolError(f"MCP server {server_name!r}: {err}") from None
        _audit(ctx, server_id, server_name, remote_name, started, "tool_error" if result.is_error else "ok", None)
        if result.is_error:
            raise ToolError(f"{server_name}__{remote_name} reported an error: {result.text or 'no details'}")
        return ToolOutput(for_model=_for_model(result), full={"text": result.text, "structured": result.structured})

    return handle


def _for_model(result: CallResult) -> dict[str, Any]:
    if isinstance(result.structured, dict) and len(str(result.structured)) <= 20_000:
        return result.structured
    return {"result": result.text}


def _audit(
    ctx: ToolContext,
    server_id: uuid.UUID,
    server_name: str,
    remote_name: str,
    started: float,
    outcome: str,
    error_code: str | None,
) -> None:
    """Record the call in the tenant's audit log, in its own short transaction (never fails the tool)."""
    try:
        tenant = db.session.get(Tenant, uuid.UUID(ctx.tenant_id))
        user = db.session.get(User, uuid.UUID(ctx.user_id)) if ctx.user_id else None
        actor = Actor(user=user, tenant=tenant, meta=RequestMeta(user_agent="hydronet-chat"))
        details = {
            "server": server_name,
            "tool": remote_name,
            "outcome": outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "conversation_id": ctx.conversation_id,
        }
        if error_code:
            details["error_code"] = error_code
        audit.record(actor, "mcp.tool_call", target_type="mcp_server", target_id=server_id, details=details)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not audit the MCP tool call %s/%s", server_name, remote_name)
