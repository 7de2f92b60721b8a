"""Calling a tenant's streamable-HTTP MCP server through the official SDK client.

Each operation opens one SDK ``Client`` over an httpx2 client whose every
connection passes the SSRF guard, does its work and closes, all on a private
event loop (runner.py) under one deadline.  Failures come back as
:class:`McpClientError` with a stable code that says what went wrong:
the URL is not allowed, the host is unreachable, TLS failed, the server
refused the credentials, it is not an MCP server, it failed, or it timed out.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import httpx2

from hydronet.mcp.runner import RunnerTimeout, run_async
from hydronet.mcp.ssrf import EgressPolicy, GuardedTransport

if sys.version_info < (3, 11):  # a builtin from 3.11; anyio installs the backport before that
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:  # the SDK is imported on first use: it costs half a second at start-up
    from mcp.client import Client

T = TypeVar("T")
CLIENT_NAME = "hydronet"
MAX_RESULT_CHARS = 20_000

# code → (HTTP status for the admin API, what to tell the tenant admin)
ERRORS: dict[str, tuple[int, str]] = {
    "mcp_url_not_allowed": (422, "The URL points at an address HydroNet may not connect to"),
    "mcp_unreachable": (502, "The MCP server could not be reached"),
    "mcp_tls_error": (502, "The TLS connection to the MCP server failed"),
    "mcp_auth_refused": (502, "The MCP server refused the credentials (check the headers)"),
    "mcp_not_mcp_server": (502, "The URL answered, but not as a streamable-HTTP MCP server"),
    "mcp_server_error": (502, "The MCP server failed while answering"),
    "mcp_timeout": (504, "The MCP server did not answer in time"),
    "mcp_tool_error": (502, "The MCP server refused the tool call"),
}


class McpClientError(Exception):
    """A failed MCP operation with a stable ``code`` (see ERRORS) and a human message."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.status = ERRORS[code][0]
        self.detail = detail[:300]
        super().__init__(f"{ERRORS[code][1]}: {self.detail}" if self.detail else ERRORS[code][1])


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one MCP server."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 20.0


@dataclass(frozen=True)
class RemoteTool:
    """A tool as a remote server lists it."""

    name: str
    description: str
    input_schema: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The cached form (McpServer.tools_cache entries)."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


@dataclass(frozen=True)
class CallResult:
    """A tool call's answer: its text, structured content, and whether the tool reported an error."""

    is_error: bool
    text: str
    structured: Any = None


class _Probe:
    """Remembers the HTTP statuses the server answered with (for error reports)."""

    def __init__(self) -> None:
        self.responses: list[tuple[int, str]] = []

    async def record(self, response: httpx2.Response) -> None:
        self.responses.append((response.status_code, response.headers.get("content-type", "").lower()))


def list_tools(endpoint: Endpoint, policy: EgressPolicy) -> list[RemoteTool]:
    """Connect, list every tool (all pages) and disconnect."""

    async def work(client: Client) -> list[RemoteTool]:
        tools: list[RemoteTool] = []
        cursor: str | None = None
        for _page in range(50):
            page = await client.list_tools(cursor=cursor)
            tools += [
                RemoteTool(t.name, t.description or t.title or "", dict(t.input_schema or {})) for t in page.tools
            ]
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    return _run(endpoint, policy, work)


def call_tool(endpoint: Endpoint, policy: EgressPolicy, name: str, arguments: dict[str, Any]) -> CallResult:
    """Connect, call one tool and disconnect; a tool-reported error is a CallResult with is_error."""
    from mcp.shared.exceptions import MCPError

    async def work(client: Client) -> CallResult:
        try:
            result = await client.call_tool(name, arguments)
        except MCPError as exc:
            raise McpClientError("mcp_tool_error", exc.message) from exc
        return CallResult(bool(result.is_error), _text_of(result.content), result.structured_content)

    return _run(endpoint, policy, work)


def _run(endpoint: Endpoint, policy: EgressPolicy, work: Callable[[Client], Awaitable[T]]) -> T:
    try:
        return run_async(lambda: _session(endpoint, policy, work), endpoint.timeout_s)
    except RunnerTimeout:
        raise McpClientError("mcp_timeout", f"no answer within {endpoint.timeout_s:g} s") from None


async def _session(endpoint: Endpoint, policy: EgressPolicy, work: Callable[[Client], Awaitable[T]]) -> T:
    import mcp_types
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client

    client_info = mcp_types.Implementation(name=CLIENT_NAME, version="1.0")
    transport = GuardedTransport(policy)
    probe = _Probe()
    try:
        with anyio.fail_after(endpoint.timeout_s):
            async with httpx2.AsyncClient(
                transport=transport,
                headers=dict(endpoint.headers),
                trust_env=False,
                timeout=httpx2.Timeout(endpoint.timeout_s),
                follow_redirects=False,
                event_hooks={"response": [probe.record]},
            ) as http:
                async with Client(
                    streamable_http_client(endpoint.url, http_client=http),
                    client_info=client_info,
                    read_timeout_seconds=endpoint.timeout_s,
                ) as client:
                    return await work(client)
    except Exception as exc:
        raise classify(exc, probe.responses, transport.backend.refused, endpoint.timeout_s) from exc


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """Every exception inside groups and cause/context chains."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def classify(
    exc: BaseException, responses: list[tuple[int, str]], refused: str | None, timeout_s: float
) -> McpClientError:
    """Turn whatever the SDK/httpx2 raised into one McpClientError."""
    from mcp.shared.exceptions import MCPError

    leaves = list(_leaves(exc))
    known = next((e for e in leaves if isinstance(e, McpClientError)), None)
    if known is not None:
        return known
    if refused:
        return McpClientError("mcp_url_not_allowed", refused)
    statuses = [status for status, _ctype in responses]
    if any(s in (401, 403, 407) for s in statuses):
        return McpClientError("mcp_auth_refused", f"HTTP {next(s for s in statuses if s in (401, 403, 407))}")
    if any(isinstance(e, (TimeoutError, httpx2.TimeoutException)) for e in leaves):
        return McpClientError("mcp_timeout", f"no answer within {timeout_s:g} s")
    tls = next((e for e in leaves if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        return McpClientError("mcp_tls_error", str(tls))
    if any(isinstance(e, (httpx2.ConnectError, ConnectionError)) for e in leaves):
        cause = next(e for e in leaves if isinstance(e, (httpx2.ConnectError, ConnectionError)))
        return McpClientError("mcp_unreachable", str(cause) or type(cause).__name__)
    if any(s >= 500 for s in statuses):
        return McpClientError("mcp_server_error", f"HTTP {max(statuses)}")
    odd = [
        f"HTTP {s} {c or 'no content type'}"
        for s, c in responses
        if s >= 300 or not (c.startswith("application/json") or c.startswith("text/event-stream"))
    ]
    if odd:
        return McpClientError("mcp_not_mcp_server", odd[0])
    mcp_error = next((e for e in leaves if isinstance(e, MCPError)), None)
    if mcp_error is not None:
        return McpClientError("mcp_not_mcp_server", mcp_error.message)
    if any(isinstance(e, (httpx2.HTTPError, ValueError)) for e in leaves):
        return McpClientError("mcp_not_mcp_server", str(exc)[:200])
    return McpClientError("mcp_server_error", f"{type(exc).__name__}: {exc}")


def _text_of(content: list[Any]) -> str:
    """The content blocks of a tool result as text (binary parts summarised), capped in size."""
    parts: list[str] = []
    for block in content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {getattr(block, 'mime_type', '')}, not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource {getattr(block, 'uri', '')}]")
        elif kind == "resource":
            inner = getattr(block, "resource", None)
            parts.append(getattr(inner, "text", None) or f"[resource {getattr(inner, 'uri', '')}]")
    text = "\n".join(parts)
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + "\n…[truncated]"
