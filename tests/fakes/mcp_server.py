"""A real streamable-HTTP MCP server built with the official SDK, served by uvicorn on loopback.

Tools: ``echo(text)``, ``add(a, b)``, ``fail(reason)`` (reports a tool error) and
``slow(seconds)``.  With ``token`` set, requests without
``Authorization: Bearer <token>`` get 401.  ``calls`` records (tool, arguments, authorization).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError


class FakeMcpServer:
    """Start with ``with FakeMcpServer() as srv: srv.url``."""

    def __init__(self, token: str | None = None, name: str = "fake-pumps") -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self._auth: str | None = None
        self.mcp = self._build(name)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def _build(self, name: str) -> MCPServer:
        mcp = MCPServer(name, log_level="WARNING")

        @mcp.tool()
        def echo(text: str) -> str:
            """Echo the text back, prefixed with 'echo: '."""
            self.calls.append(("echo", {"text": text}, self._auth))
            return f"echo: {text}"

        @mcp.tool()
        def add(a: float, b: float) -> float:
            """Add two numbers."""
            self.calls.append(("add", {"a": a, "b": b}, self._auth))
            return a + b

        @mcp.tool()
        def fail(reason: str) -> str:
            """Always fails with the given reason."""
            self.calls.append(("fail", {"reason": reason}, self._auth))
            raise ToolError(f"pump offline: {reason}")

        @mcp.tool()
        def slow(seconds: float) -> str:
            """Sleep, then answer."""
            self.calls.append(("slow", {"seconds": seconds}, self._auth))
            time.sleep(seconds)
            return "done"

        return mcp

    def _asgi(self):
        inner = self.mcp.streamable_http_app()

        async def app(scope, receive, send):
            if scope["type"] == "http":
                headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
                self._auth = headers.get("authorization")
                if self.token and self._auth != f"Bearer {self.token}":
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                        }
                    )
                    await send({"type": "http.response.body", "body": b'{"error":"invalid_token"}'})
                    return
            await inner(scope, receive, send)

        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> FakeMcpServer:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._asgi(), log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-mcp"
        )
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("fake MCP server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=5)


# --- pytest fixtures shared by tests/mcp/test_mcp*.py (registered by the root conftest's pytest_plugins) -----------------

import pytest  # noqa: E402

FAKE_TOKEN = "pump-secret-token-0123456789"


@pytest.fixture(scope="session")
def fake_mcp():
    """The fake MCP server (token-protected) for the whole session."""
    with FakeMcpServer(token=FAKE_TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def mcp_app(backends, app, fake_dashscope):
    """An app talking to the fake DashScope that may reach loopback MCP servers (MCP_ALLOW_PRIVATE)."""
    from hydronet.web.app import create_app
    from tests.support.constants import QWEN_TEST_KEY

    mapp = create_app(
        backends.app_config(
            ALIYUN_API_KEY=QWEN_TEST_KEY,
            DASHSCOPE_HTTP_BASE_URL=fake_dashscope.url,
            LLM_MAX_RETRIES=1,
            LLM_READ_TIMEOUT_S=5,
            LLM_TOTAL_TIMEOUT_S=20,
            MCP_ALLOW_PRIVATE=True,
        )
    )
    backends.apps.append(mapp)
    return mapp


@pytest.fixture
def mcp_client(mcp_app, fake_dashscope, fake_mcp):
    """A test client of ``mcp_app``; the fakes' records are reset per test."""
    fake_dashscope.clear()
    fake_mcp.calls.clear()
    yield mcp_app.test_client()
    fake_dashscope.clear()


@pytest.fixture(scope="session")
def live_app_url(app):
    """The default app served over real HTTP on loopback (for SDK clients)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="live-app")
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
