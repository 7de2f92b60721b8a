"""Contracts of /api/tenant/mcp-servers: a tenant's MCP servers and their tools."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from hydronet.kernel.contracts import Answer, Body, Id, Object, Resource, Text, When


class McpTool(Resource):
    name: str
    description: str = ""
    input_schema: Object = {}


class ServerTool(Resource):
    name: str | None
    chat_name: str
    description: str
    allowed: bool


class McpServer(Resource):
    id: Id
    name: str
    url: str
    headers: dict[str, str | None]
    headers_unreadable: bool
    enabled: bool
    allowed_tools: list[str] | None
    timeout_s: float
    tools: list[ServerTool] | None
    last_tested_at: When | None
    last_error: str | None
    created_at: When | None


def _seconds(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("seconds", "must be a number of seconds")
    try:
        return float(value)
    except OverflowError:
        raise PydanticCustomError("seconds", "must be a number of seconds") from None


Name = Annotated[str, Text(64, min_len=1)]
Url = Annotated[
    str,
    Text(
        1000,
        min_len=1,
        format="uri",
        pattern="^https?://",  # mcp.ssrf checks the URL
        description="the server's streamable-HTTP URL",
    ),
]
Headers = Annotated[
    Object,
    WithJsonSchema(
        {  # mcp.servers checks names and values
            "type": "object",
            "additionalProperties": {"type": ["string", "null"]},
            "description": "sent on every call; null removes a header, the masked value keeps it",
        }
    ),
]
Seconds = Annotated[float, BeforeValidator(_seconds), Field(description="seconds")]


class ServerChangeBody(Body):
    """The writable fields; an absent one is left alone (``model_fields_set``), a null name, url, flag or
    timeout is refused."""

    name: Name = None  # type: ignore[assignment]
    url: Url = None  # type: ignore[assignment]
    headers: Headers | None = None
    enabled: bool = None  # type: ignore[assignment]
    allowed_tools: Annotated[list[str], Field(max_length=500)] | None = None
    timeout_s: Seconds = None  # type: ignore[assignment]


class NewServerBody(ServerChangeBody):
    name: Name
    url: Url


class ServerAnswer(Answer):
    mcp_server: McpServer


class Servers(Answer):
    mcp_servers: list[McpServer]


class ServerTested(Answer):
    mcp_server: McpServer
    tools: list[McpTool]


TEST_NOTE = (
    "Failures name how the connection failed: mcp_url_not_allowed (422), mcp_unreachable, mcp_tls_error, "
    "mcp_auth_refused, mcp_not_mcp_server, mcp_server_error (502), mcp_timeout (504)."
)
