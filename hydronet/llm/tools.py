"""The assistant's tools: a registry of named, JSON-schema-typed handlers.

A tool handler receives a :class:`ToolContext` (who is asking, in which tenant)
and the validated arguments, and returns a :class:`ToolOutput`: a compact dict
for the model and, optionally, the full result kept for the UI.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema


@dataclass(frozen=True)
class ToolContext:
    """Who runs a tool: tenant and user ids, plus anything a handler needs."""

    tenant_id: str
    user_id: str | None = None
    conversation_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolOutput:
    """A handler's answer: ``for_model`` is sent to Qwen, ``full`` kept for the UI."""

    for_model: dict[str, Any]
    full: dict[str, Any] | None = None


@dataclass(frozen=True)
class Tool:
    """One callable tool offered to the model."""

    name: str
    description: str
    parameters: dict[str, Any]
    handler: Callable[[ToolContext, dict[str, Any]], ToolOutput | dict[str, Any]]

    def schema(self) -> dict[str, Any]:
        """The tool in the OpenAI/DashScope ``tools`` format."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass
class ToolOutcome:
    """The result of running one tool call, successful or not."""

    name: str
    arguments: dict[str, Any]
    for_model: dict[str, Any]
    full: dict[str, Any] | None
    is_error: bool
    duration_ms: float

    def model_content(self) -> str:
        """The text of the ``role: tool`` message sent back to the model."""
        return json.dumps(self.for_model, ensure_ascii=False, default=str)


class ToolError(Exception):
    """Raised by a handler for an expected failure that the model should see."""


def _check_schema(tool: Tool) -> None:
    """Validate a tool's JSON schema (registries are built per turn: each schema is checked once)."""
    _check_schema_text(json.dumps(tool.parameters, sort_keys=True, default=str))


@functools.lru_cache(maxsize=1024)
def _check_schema_text(schema: str) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(schema))


class ToolRegistry:
    """Named tools; ``run`` validates arguments and never raises to the caller."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> Tool:
        """Add a tool; a duplicate name is a programming error."""
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} registered twice")
        _check_schema(tool)
        self._tools[tool.name] = tool
        return tool

    def copy(self) -> ToolRegistry:
        """An independent registry with the same (already checked) tools."""
        clone = ToolRegistry()
        clone._tools = dict(self._tools)
        return clone

    def merged(self, other: ToolRegistry) -> ToolRegistry:
        """A new registry holding this registry's tools and ``other``'s."""
        result = ToolRegistry(self._tools.values())
        for tool in other:
            result.register(tool)
        return result

    def __iter__(self):
        return iter(self._tools.values())

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or None."""
        return self._tools.get(name)

    def schemas(self) -> list[dict[str, Any]]:
        """All tools in the DashScope ``tools`` format."""
        return [t.schema() for t in self._tools.values()]

    def run(self, ctx: ToolContext, name: str, arguments: str | dict[str, Any] | None) -> ToolOutcome:
        """Parse, validate and run one call; errors become an error outcome for the model."""
        started = time.perf_counter()
        args: dict[str, Any] = {}
        try:
            tool = self._tools.get(name)
            if tool is None:
                raise ToolError(f"unknown tool {name!r}")
            if isinstance(arguments, str):
                try:
                    args = json.loads(arguments) if arguments.strip() else {}
                except json.JSONDecodeError as exc:
                    raise ToolError(f"arguments are not valid JSON: {exc.msg}") from None
            else:
                args = dict(arguments or {})
            if not isinstance(args, dict):
                raise ToolError("arguments must be a JSON object")
            try:
                jsonschema.validate(args, tool.parameters)
            except jsonschema.ValidationError as exc:
                raise ToolError(f"invalid arguments: {exc.message}") from None
            out = tool.handler(ctx, args)
            if isinstance(out, dict):
                out = ToolOutput(for_model=out)
            return ToolOutcome(name, args, out.for_model, out.full, False, _ms(started))
        except ToolError as exc:
            return ToolOutcome(name, args, {"error": str(exc)}, None, True, _ms(started))
        except Exception as exc:  # a broken tool must not break the conversation
            logging.getLogger(__name__).exception("tool %s failed", name)
            return ToolOutcome(name, args, {"error": f"tool failed: {type(exc).__name__}"}, None, True, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
