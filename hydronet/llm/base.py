"""The LLM provider protocol and the events a provider's stream yields.

A provider streams :class:`TextDelta` events as text arrives and ends with
exactly one :class:`Completion`.  Errors are raised as
:class:`hydronet.llm.errors.LLMError` subclasses, possibly after some deltas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, Union, runtime_checkable


class ToolCall(TypedDict):
    """One function call requested by the model; ``arguments`` is a JSON string."""

    id: str
    name: str
    arguments: str


class Usage(TypedDict):
    """Token counts of one model call (or a sum of calls)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class TextDelta:
    """A piece of assistant text, yielded as soon as it arrives."""

    text: str


@dataclass(frozen=True)
class Completion:
    """The end of one model call: full text, tool calls, usage and provenance."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=0, output_tokens=0))
    model: str = ""
    request_id: str | None = None
    usage_estimated: bool = False


LLMEvent = Union[TextDelta, Completion]


@runtime_checkable
class LLMProvider(Protocol):
    """Anything that can stream a chat completion."""

    name: str

    def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        api_key: str | None,
    ) -> Iterator[LLMEvent]:
        """Yield TextDelta events, then exactly one Completion."""
        ...

    def complete(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        api_key: str | None,
    ) -> Completion:
        """Run one call to the end and return its Completion."""
        ...


def collect(events: Iterable[LLMEvent]) -> Completion:
    """Consume a provider stream and return its Completion."""
    completion: Completion | None = None
    for event in events:
        if isinstance(event, Completion):
            completion = event
    if completion is None:
        raise RuntimeError("provider stream ended without a Completion")
    return completion


class StreamingProvider:
    """Mixin giving a provider ``complete`` by consuming its own ``stream``."""

    name = "provider"

    def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        api_key: str | None,
    ) -> Iterator[LLMEvent]:
        """Yield TextDelta events, then exactly one Completion."""
        raise NotImplementedError

    def complete(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        api_key: str | None = None,
    ) -> Completion:
        """Run one call to the end and return its Completion."""
        return collect(self.stream(model=model, messages=messages, tools=tools, api_key=api_key))


def assistant_message(content: str, tool_calls: list[ToolCall]) -> dict[str, Any]:
    """The assistant message (OpenAI/DashScope format) that carries ``tool_calls``."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in tool_calls
        ]
    return message
