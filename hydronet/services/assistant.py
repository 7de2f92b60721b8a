"""Which model provider and which tools a tenant's assistant uses."""
from __future__ import annotations

from flask import Flask, current_app

from ..llm.tools import ToolRegistry
from ..models import Tenant

BUILTIN_TOOLS: list = []  # filled by modules that register built-in tools (see register_builtin)


def register_builtin(tool) -> None:
    """Add a built-in tool offered to every tenant's assistant."""
    if all(t.name != tool.name for t in BUILTIN_TOOLS):
        BUILTIN_TOOLS.append(tool)


def provider(app: Flask | None = None):
    """Qwen when an API key is configured, else the clearly labelled offline assistant."""
    app = app or current_app
    cached = app.extensions.get("hydronet_llm")
    if cached is not None:
        return cached
    if app.config["ALIYUN_API_KEY"]:
        from ..llm.qwen import QwenProvider

        prov = QwenProvider(
            base_url=app.config["DASHSCOPE_HTTP_BASE_URL"] or None,
            connect_timeout_s=app.config["LLM_CONNECT_TIMEOUT_S"],
            read_timeout_s=app.config["LLM_READ_TIMEOUT_S"],
            total_timeout_s=app.config["LLM_TOTAL_TIMEOUT_S"],
            max_retries=app.config["LLM_MAX_RETRIES"],
        )
    else:
        from ..llm.offline import OfflineProvider

        prov = OfflineProvider()
    app.extensions["hydronet_llm"] = prov
    return prov


_BUILT: list[ToolRegistry] = []


def builtin_registry() -> ToolRegistry:
    """The built-in tools, registered (and their schemas checked) once per process."""
    from . import builtin_tools  # noqa: F401  (registers the built-in tools on import)

    if not _BUILT or len(_BUILT[0]) != len(BUILTIN_TOOLS):  # rebuilt if a tool was registered since
        _BUILT[:] = [ToolRegistry(BUILTIN_TOOLS)]
    return _BUILT[0]


def tools_for(tenant: Tenant) -> ToolRegistry:
    """The built-in tools plus the tenant's enabled MCP tools."""
    registry = builtin_registry().copy()
    try:
        from .mcp_tools import tenant_mcp_tools
    except ImportError:
        return registry
    for tool in tenant_mcp_tools(tenant):
        if tool.name not in registry:
            registry.register(tool)
    return registry
