"""/api/tenant/mcp-servers: a tenant's MCP servers (owners and admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hydronet.auth.principal import current_actor, require
from hydronet.kernel.contracts import Deleted, contract
from hydronet.kernel.jsonio import iso
from hydronet.kernel.responses import ok
from hydronet.mcp import servers as service
from hydronet.mcp.schemas import TEST_NOTE, NewServerBody, ServerAnswer, ServerChangeBody, Servers, ServerTested
from hydronet.mcp.tools import tool_name
from hydronet.models import McpServer

bp = Blueprint("mcp_admin", __name__, url_prefix="/api/tenant/mcp-servers")
PERMISSION = "integrations:manage"


def server_dict(s: McpServer) -> dict[str, Any]:
    """A server as the API shows it: header values masked, cached tools with their chat names."""
    tools = s.tools_cache
    headers = service.masked_headers(s)
    return {
        "id": str(s.id),
        "name": s.name,
        "url": s.url,
        "headers": headers or {},
        "headers_unreadable": headers is None,
        "enabled": s.enabled,
        "allowed_tools": s.allowed_tools,
        "timeout_s": s.timeout_s,
        "tools": None
        if tools is None
        else [
            {
                "name": t.get("name"),
                "chat_name": tool_name(s.name, str(t.get("name"))),
                "description": t.get("description") or "",
                "allowed": s.allowed_tools is None or t.get("name") in s.allowed_tools,
            }
            for t in tools
        ],
        "last_tested_at": iso(s.last_tested_at),
        "last_error": s.last_error,
        "created_at": iso(s.created_at),
    }


def _changes(body: ServerChangeBody) -> service.ServerChanges:
    """The fields the body names; the others stay UNSET."""
    return service.ServerChanges(**{name: getattr(body, name) for name in body.model_fields_set})


@bp.get("")
@require(PERMISSION)
@contract(ok={200: Servers})
def list_servers():
    """The tenant's MCP servers."""
    return ok(mcp_servers=[server_dict(s) for s in service.list_servers()])


@bp.post("")
@require(PERMISSION)
@contract(body=NewServerBody, ok={201: ServerAnswer}, errors=(409,))
def create_server(body: NewServerBody):
    """Add an MCP server: ``{name, url, headers?, enabled?, allowed_tools?, timeout_s?}``."""
    server = service.create(current_actor(), _changes(body))
    return ok(201, mcp_server=server_dict(server))


@bp.get("/<server_id>")
@require(PERMISSION)
@contract(ok={200: ServerAnswer})
def get_server(server_id: str):
    """One MCP server."""
    return ok(mcp_server=server_dict(service.get(server_id)))


@bp.patch("/<server_id>")
@require(PERMISSION)
@contract(body=ServerChangeBody, ok={200: ServerAnswer}, errors=(409,))
def update_server(server_id: str, body: ServerChangeBody):
    """Change fields; headers merge (null removes one, ``"headers": null`` all, a masked value keeps it)."""
    server = service.update(current_actor(), service.get(server_id), _changes(body))
    return ok(mcp_server=server_dict(server))


@bp.delete("/<server_id>")
@require(PERMISSION)
@contract(ok={200: Deleted})
def delete_server(server_id: str):
    """Remove an MCP server."""
    service.delete(current_actor(), service.get(server_id))
    return ok(deleted=True)


@bp.post("/<server_id>/test")
@require(PERMISSION)
@contract(ok={200: ServerTested}, errors=(409, 502, 504), description=TEST_NOTE)
def test_server(server_id: str):
    """Connect, list and cache the tools; failures answer with a specific mcp_* error code."""
    server = service.get(server_id)
    tools = service.check_connection(server, service.egress_policy())
    return ok(mcp_server=server_dict(server), tools=[t.as_dict() for t in tools])
