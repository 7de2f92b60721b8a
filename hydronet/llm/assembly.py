"""Assembling one Completion from DashScope's incremental stream chunks.

With ``incremental_output=True`` each chunk carries only new text; tool calls
arrive as fragments keyed by ``index`` (id and name first, then pieces of the
arguments JSON).  Intermediate chunks say ``finish_reason: "null"``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from hydronet.llm.base import Completion, ToolCall, Usage
from hydronet.llm.tokens import count_message_tokens, count_tokens


class CompletionAssembler:
    """Accumulates text, tool-call fragments, finish reason and usage of one call."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.request_id: str | None = None
        self._calls: dict[int, dict[str, str]] = {}
        self._usage: Usage | None = None

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self.parts)

    def feed(self, output: Mapping[str, Any] | None, usage: Mapping[str, Any] | None, request_id: str | None) -> str:
        """Take one chunk's ``output``/``usage``; return its new text (maybe empty)."""
        if request_id:
            self.request_id = request_id
        if usage and (usage.get("input_tokens") or usage.get("output_tokens")):
            self._usage = Usage(
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
            )
        if not output:
            return ""
        new_text = ""
        choices = output.get("choices") or []
        if choices:
            choice = choices[0] or {}
            message = choice.get("message") or {}
            new_text = _content_text(message.get("content"))
            for position, fragment in enumerate(message.get("tool_calls") or []):
                self._merge_call(position, fragment)
            self._set_finish(choice.get("finish_reason"))
        else:  # result_format="text"
            new_text = str(output.get("text") or "")
            self._set_finish(output.get("finish_reason"))
        if new_text:
            self.parts.append(new_text)
        return new_text

    def _set_finish(self, reason: Any) -> None:
        if reason and reason != "null":
            self.finish_reason = str(reason)

    def _merge_call(self, position: int, fragment: Mapping[str, Any]) -> None:
        index = fragment.get("index")
        index = int(index) if isinstance(index, (int, str)) and str(index).isdigit() else position
        call = self._calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        fn = fragment.get("function") or {}
        if fragment.get("id") and not call["id"]:
            call["id"] = str(fragment["id"])
        if fn.get("name") and not call["name"]:
            call["name"] = str(fn["name"])
        if fn.get("arguments"):
            call["arguments"] += str(fn["arguments"])

    def tool_calls(self) -> list[ToolCall]:
        """The merged tool calls in index order; missing ids are generated."""
        calls: list[ToolCall] = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call["name"]:
                continue
            calls.append(
                ToolCall(
                    id=call["id"] or f"call_{uuid.uuid4().hex[:24]}",
                    name=call["name"],
                    arguments=call["arguments"] or "{}",
                )
            )
        return calls

    def usage(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> tuple[Usage, bool]:
        """Reported usage, or a local count when the provider sent none (second item True)."""
        if self._usage is not None:
            return self._usage, False
        out = self.text + "".join(c["name"] + c["arguments"] for c in self._calls.values())
        return Usage(input_tokens=count_message_tokens(messages, tools), output_tokens=count_tokens(out)), True

    def completion(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Completion:
        """The finished call as a Completion."""
        calls = self.tool_calls()
        usage, estimated = self.usage(messages, tools)
        reason = self.finish_reason or ("tool_calls" if calls else "stop")
        return Completion(
            content=self.text,
            tool_calls=calls,
            finish_reason=reason,
            usage=usage,
            model=self.model,
            request_id=self.request_id,
            usage_estimated=estimated,
        )


def _content_text(content: Any) -> str:
    """Text of a message ``content`` that may be a string or a list of parts."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)
