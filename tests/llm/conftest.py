"""Fixtures for the model layer: a fake DashScope server and providers pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hydronet.llm.qwen import QwenProvider
from hydronet.llm.tools import Tool, ToolContext, ToolOutput, ToolRegistry
from tests.fakes.fake_dashscope import FakeDashScope
from tests.llm.support import API_KEY


@pytest.fixture
def fake() -> Iterator[FakeDashScope]:
    """A fake DashScope accepting API_KEY, stopped after the test."""
    with FakeDashScope(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """Backoff delays the provider asked for (it does not really sleep in tests)."""
    return []


@pytest.fixture
def qwen(fake: FakeDashScope, sleeps: list[float]) -> Iterator[QwenProvider]:
    """A QwenProvider talking to the fake, with short timeouts and recorded backoff."""
    provider = QwenProvider(
        base_url=fake.url,
        connect_timeout_s=2,
        read_timeout_s=3,
        total_timeout_s=15,
        max_retries=2,
        backoff_base_s=0.05,
        sleep=sleeps.append,
    )
    yield provider
    provider.close()


def _simulate(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    summary = {
        "network_id": args["network_id"],
        "min_pressure": {"node": "J-10", "time_h": 6, "value_m": 12.34},
        "max_velocity_m_s": 1.8,
    }
    return ToolOutput(for_model=summary, full={**summary, "series": list(range(24))})


@pytest.fixture
def registry() -> ToolRegistry:
    """Toy water tools: one network, a simulation with a minimum-pressure node, and an adder."""
    return ToolRegistry(
        [
            Tool(
                "list_networks",
                "List the tenant's networks",
                {"type": "object", "properties": {}},
                lambda ctx, args: {"networks": [{"id": 7, "name": "Net1"}]},
            ),
            Tool(
                "run_hydraulic_simulation",
                "Run an EPANET simulation",
                {
                    "type": "object",
                    "properties": {"network_id": {"type": "integer"}},
                    "required": ["network_id"],
                },
                _simulate,
            ),
            Tool(
                "add",
                "Add two numbers",
                {
                    "type": "object",
                    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                    "required": ["a", "b"],
                },
                lambda ctx, args: {"sum": args["a"] + args["b"]},
            ),
        ]
    )


@pytest.fixture
def ctx() -> ToolContext:
    """A tool context for tenant t1."""
    return ToolContext(tenant_id="t1", user_id="u1", conversation_id="c1")
