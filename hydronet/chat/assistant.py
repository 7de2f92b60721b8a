"""Which model provider and which tools a tenant's assistant uses.

The tools are wired explicitly by the composition root (web/app.py):
built-in tools every tenant gets (the water analyses) and per-tenant sources
(each tenant's MCP servers).  Chat knows tools only through this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, current_app

from hydronet.llm.base import StreamingProvider
from hydronet.llm.offline import BriefWriter, OfflineProvider
from hydronet.llm.qwen import QwenProvider
from hydronet.llm.tools import Tool, ToolRegistry
from hydronet.models import Tenant

TenantTools = Callable[[Tenant], list[Tool]]
_TOOLS = "hydronet_tools"
_PROVIDER = "hydronet_llm"
_BRIEF = "hydronet_offline_brief"


@dataclass(frozen=True)
class ToolCatalog:
    """The built-in tools (registered and schema-checked once) and the per-tenant tool sources."""

    builtin: ToolRegistry
    per_tenant: tuple[TenantTools, ...]


def init_tools(
    app: Flask,
    *,
    builtin: Iterable[Tool],
    per_tenant: Iterable[TenantTools] = (),
    offline_brief: BriefWriter | None = None,
) -> None:
    """Declare the tools this app's assistant offers, and who writes the offline assistant's note on their results."""
    app.extensions[_TOOLS] = ToolCatalog(ToolRegistry(list(builtin)), tuple(per_tenant))
    app.extensions[_BRIEF] = offline_brief


def _catalog(app: Flask | None = None) -> ToolCatalog:
    return (app or current_app).extensions[_TOOLS]


def builtin_registry(app: Flask | None = None) -> ToolRegistry:
    """The built-in tools offered to every tenant (the /mcp server exposes exactly these)."""
    return _catalog(app).builtin


def tools_for(tenant: Tenant) -> ToolRegistry:
    """The built-in tools plus the tenant's own (its enabled MCP servers' tools)."""
    catalog = _catalog()
    registry = catalog.builtin.copy()
    for source in catalog.per_tenant:
        for tool in source(tenant):
            if tool.name not in registry:
                registry.register(tool)
    return registry


def provider(app: Flask | None = None) -> StreamingProvider:
    """Qwen when an API key is configured, else the clearly labelled offline assistant."""
    app = app or current_app
    cached = app.extensions.get(_PROVIDER)
    if cached is not None:
        return cached
    if app.config["ALIYUN_API_KEY"]:
        prov: StreamingProvider = QwenProvider(
            base_url=app.config["DASHSCOPE_HTTP_BASE_URL"] or None,
            connect_timeout_s=app.config["LLM_CONNECT_TIMEOUT_S"],
            read_timeout_s=app.config["LLM_READ_TIMEOUT_S"],
            total_timeout_s=app.config["LLM_TOTAL_TIMEOUT_S"],
            max_retries=app.config["LLM_MAX_RETRIES"],
        )
    else:
        prov = OfflineProvider(brief=app.extensions.get(_BRIEF))
    app.extensions[_PROVIDER] = prov
    return prov
