"""The MCP server HydroNet exposes at /mcp: the built-in tools, run for one authenticated caller.

A low-level SDK ``Server`` is built per request around a :class:`Caller`
(tenant, user, permissions), so nothing about the caller lives in globals.
Tool calls run through the same :class:`ToolRegistry` as chat, inside an app
context whose database session is bound to the caller's tenant, and each
call is metered like a chat tool run.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types
from flask import Flask
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from hydronet.chat import assistant
from hydronet.kernel.db import db
from hydronet.kernel.errors import ApiError
from hydronet.kernel.tenancy import bind_tenant
from hydronet.llm.tools import ToolContext, ToolOutcome, ToolRegistry
from hydronet.mcp.runner import RunnerTimeout, run_async
from hydronet.tenants import usage

log = logging.getLogger(__name__)
INSTRUCTIONS = (
    "HydroNet analyses the EPANET water networks of your organisation. Call list_networks first to find a network_id."
)


@dataclass(frozen=True)
class Caller:
    """Who is calling /mcp: resolved from the bearer credential before the SDK sees the request."""

    app: Flask
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    permissions: frozenset[str]

    @property
    def can_run(self) -> bool:
        """Whether the credential may run tools (listing needs only networks:read)."""
        return "analyses:run" in self.permissions


def answer(caller: Caller, scope: dict[str, Any], body: bytes, *, timeout: float) -> tuple[int, list, bytes]:
    """Answer one HTTP exchange of the /mcp endpoint for ``caller``: (status, headers, body)."""
    server = build_server(caller, assistant.builtin_registry(), str(caller.app.config["VERSION"]))
    try:
        return run_async(lambda: serve_once(server, scope, body), timeout)
    except RunnerTimeout:
        raise ApiError("The MCP request took too long", code="mcp_timeout", status=504) from None


def build_server(caller: Caller, registry: ToolRegistry, version: str) -> Server:
    """An SDK server listing ``registry``'s tools and running them as ``caller``."""
    tools = [mcp_types.Tool(name=t.name, description=t.description, input_schema=t.parameters) for t in registry]

    async def on_list_tools(_ctx: Any, _params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=tools)

    async def on_call_tool(_ctx: Any, params: mcp_types.CallToolRequestParams) -> mcp_types.CallToolResult:
        if not caller.can_run:
            return _error_result("This credential may not run tools (it needs the 'analyses:run' permission)")
        # The loop serves this one request in its own thread, so running the (synchronous) tool here
        # blocks nobody else; anyio's worker threads would misbehave under gevent.
        outcome = run_tool(caller, registry, params.name, dict(params.arguments or {}))
        text = outcome.model_content()
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=text)],
            structured_content=None if outcome.is_error else outcome.for_model,
            is_error=outcome.is_error,
        )

    def input_schema(name: str) -> dict[str, Any] | None:
        tool = registry.get(name)
        return tool.parameters if tool else None

    return Server(
        "hydronet",
        version=version,
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        get_tool_input_schema=input_schema,
    )


def run_tool(caller: Caller, registry: ToolRegistry, name: str, arguments: dict[str, Any]) -> ToolOutcome:
    """Run one tool in the caller's tenant and meter it (never raises)."""
    with caller.app.app_context():
        bind_tenant(db.session, caller.tenant_id)
        ctx = ToolContext(tenant_id=str(caller.tenant_id), user_id=str(caller.user_id), extra={"channel": "mcp"})
        outcome = registry.run(ctx, name, arguments)
        _commit_or_rollback()  # what the tool did, as chat turns do after each tool
        if name in registry:
            try:
                usage.meter(
                    caller.tenant_id,
                    caller.user_id,
                    kind="tool",
                    tool=name,
                    latency_ms=outcome.duration_ms,
                    status="error" if outcome.is_error else "ok",
                )
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("could not meter the MCP tool call %s", name)
        return outcome


def _commit_or_rollback() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not commit after an MCP tool call")


def _error_result(message: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=message)], is_error=True)


async def serve_once(server: Server, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run one HTTP exchange through the SDK's streamable-HTTP transport (stateless, JSON responses)."""
    manager = StreamableHTTPSessionManager(app=server, stateless=True, json_response=True)
    status, headers, chunks = 500, [], bytearray()
    finished = anyio.Event()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.extend(message.get("body", b""))
            if not message.get("more_body"):
                finished.set()

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    finished.set()
    return status, headers, bytes(chunks)
