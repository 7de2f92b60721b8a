"""The tool-calling loop of one chat turn, as a closable generator of events.

``run_turn`` streams ``delta`` events, runs the tools the model asks for
(``tool_call`` / ``tool_result`` events), feeds results back, and ends with one
``final`` event.  The caller may hand in a :class:`TurnState` and close the
generator at any time (client gone): the state then still holds the text shown
so far, the tool records, and the usage of every model call made — estimated
locally for a call cut short.  Close the generator (``contextlib.closing``)
or call ``state.settle()`` before reading an interrupted state.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from hydronet.llm.base import Completion, LLMProvider, TextDelta, Usage, assistant_message
from hydronet.llm.tokens import count_message_tokens, count_tokens
from hydronet.llm.tools import ToolContext, ToolRegistry

TurnEvent = dict[str, Any]
#: shown between the texts of two model calls so that they do not run together
ROUND_SEPARATOR = "\n\n"


@dataclass
class TurnState:
    """Everything a turn produced so far; complete once ``finished`` is True."""

    model: str = ""
    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=0, output_tokens=0))
    calls: list[dict[str, Any]] = field(default_factory=list)
    rounds: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    interrupted: bool = False
    _inflight: dict[str, Any] | None = field(default=None, repr=False)

    def final_event(self) -> TurnEvent:
        """The ``final`` event describing the whole turn."""
        return {
            "type": "final",
            "content": self.content,
            "tool_calls": self.tool_calls,
            "usage": dict(self.usage),
            "model": self.model,
            "rounds": self.rounds,
            "calls": self.calls,
            "messages": self.messages,
        }

    def _begin_call(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> None:
        self.rounds += 1
        self._inflight = {
            "model": model,
            "messages": messages,
            "tools": tools,
            "text": [],
            "started": time.perf_counter(),
        }

    def _add_text(self, text: str) -> None:
        self.content += text
        if self._inflight is not None:
            self._inflight["text"].append(text)

    def _end_call(self, completion: Completion, fallback_model: str) -> None:
        started = self._inflight["started"] if self._inflight else time.perf_counter()
        self._inflight = None
        self.model = completion.model or fallback_model
        self._count(
            self.model,
            completion.usage,
            latency_ms=_ms(started),
            estimated=completion.usage_estimated,
            request_id=completion.request_id,
        )

    def settle(self) -> None:
        """Account for a model call cut short (idempotent; run_turn calls it when it ends).

        A call that streamed some text before the turn was closed or failed is
        counted with locally estimated tokens; one that streamed nothing is not.
        """
        self.interrupted = not self.finished
        inflight, self._inflight = self._inflight, None
        if inflight is None or not inflight["text"]:
            return
        usage = Usage(
            input_tokens=count_message_tokens(inflight["messages"], inflight["tools"]),
            output_tokens=count_tokens("".join(inflight["text"])),
        )
        self.model = self.model or inflight["model"]
        self._count(self.model, usage, latency_ms=_ms(inflight["started"]), estimated=True, request_id=None)

    def _count(self, model: str, usage: Usage, *, latency_ms: float, estimated: bool, request_id: str | None) -> None:
        self.usage["input_tokens"] += int(usage["input_tokens"])
        self.usage["output_tokens"] += int(usage["output_tokens"])
        self.calls.append(
            {
                "model": model,
                "input_tokens": int(usage["input_tokens"]),
                "output_tokens": int(usage["output_tokens"]),
                "latency_ms": latency_ms,
                "estimated": estimated,
                "request_id": request_id,
            }
        )


def run_turn(
    provider: LLMProvider,
    *,
    model: str,
    messages: list[dict[str, Any]],
    registry: ToolRegistry,
    ctx: ToolContext,
    api_key: str | None,
    max_rounds: int = 4,
    state: TurnState | None = None,
) -> Iterator[TurnEvent]:
    """Run one assistant turn; LLMError propagates, closing the generator is safe."""
    state = state if state is not None else TurnState()
    conversation = list(messages)
    schemas = registry.schemas() or None
    try:
        for round_index in range(max_rounds + 1):
            offered = schemas if round_index < max_rounds else None  # last call: force an answer
            completion = yield from _model_call(provider, state, model, conversation, offered, api_key)
            if not completion.tool_calls or offered is None:
                state.messages.append(assistant_message(completion.content, []))
                break
            request = assistant_message(completion.content, completion.tool_calls)
            conversation.append(request)
            state.messages.append(request)
            for call in completion.tool_calls:
                yield {"type": "tool_call", "id": call["id"], "name": call["name"], "arguments": call["arguments"]}
                outcome = registry.run(ctx, call["name"], call["arguments"])
                state.tool_calls.append(
                    {
                        "id": call["id"],
                        "name": call["name"],
                        "arguments": call["arguments"],
                        "result": outcome.for_model,
                        "full_result": outcome.full,
                        "is_error": outcome.is_error,
                        "duration_ms": outcome.duration_ms,
                        "round": state.rounds,
                    }
                )
                reply = {
                    "role": "tool",
                    "content": outcome.model_content(),
                    "tool_call_id": call["id"],
                    "name": call["name"],
                }
                conversation.append(reply)
                state.messages.append(reply)
                yield {
                    "type": "tool_result",
                    "id": call["id"],
                    "name": call["name"],
                    "result": outcome.for_model,
                    "is_error": outcome.is_error,
                    "duration_ms": outcome.duration_ms,
                }
        state.finished = True
        yield state.final_event()
    finally:
        state.settle()


def _model_call(
    provider: LLMProvider,
    state: TurnState,
    model: str,
    conversation: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    api_key: str | None,
) -> Generator[TurnEvent, None, Completion]:
    """One provider call: relay deltas, record usage, return its Completion."""
    sent = list(conversation)
    state._begin_call(model, sent, tools)
    completion: Completion | None = None
    first = True
    stream = provider.stream(model=model, messages=sent, tools=tools, api_key=api_key)
    try:
        for event in stream:
            if isinstance(event, TextDelta) and event.text:
                if first and state.content and not state.content.endswith("\n"):
                    state._add_text(ROUND_SEPARATOR)
                    yield {"type": "delta", "delta": ROUND_SEPARATOR}
                first = False
                state._add_text(event.text)
                yield {"type": "delta", "delta": event.text}
            elif isinstance(event, Completion):
                completion = event
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    if completion is None:
        raise RuntimeError(f"provider {provider.name!r} ended a stream without a Completion")
    state._end_call(completion, model)
    return completion


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
