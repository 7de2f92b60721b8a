"""run_turn: tool rounds over the real SDK path, forced answers, errors and early close."""

from __future__ import annotations

import json

import pytest

from hydronet.llm.context import build_messages
from hydronet.llm.errors import LLMUnavailable
from hydronet.llm.loop import TurnState, run_turn
from hydronet.llm.tokens import count_tokens
from tests.fakes.fake_dashscope import FakeError, FakeReply, FakeToolCall, invalid_request
from tests.llm.support import API_KEY, user


def turn(provider, registry, ctx, text="2+3?", state=None, max_rounds=4):
    """Start a turn for one user message."""
    return run_turn(
        provider,
        model="qwen-turbo",
        messages=user(text),
        registry=registry,
        ctx=ctx,
        api_key=API_KEY,
        max_rounds=max_rounds,
        state=state,
    )


def test_two_rounds_with_a_tool(fake, qwen, registry, ctx):
    fake.script(
        FakeReply(
            text="我来算一下。",
            chunks=2,
            tool_calls=[FakeToolCall("add", {"a": 2, "b": 3}, id="call_1")],
            usage=(100, 10),
        ),
        FakeReply(text="结果是 5。", chunks=2, usage=(150, 5)),
    )
    events = list(turn(qwen, registry, ctx))
    kinds = [e["type"] for e in events]
    assert kinds == ["delta", "delta", "tool_call", "tool_result", "delta", "delta", "delta", "final"]
    assert events[2] == {"type": "tool_call", "id": "call_1", "name": "add", "arguments": '{"a": 2, "b": 3}'}
    result = events[3]
    assert result["result"] == {"sum": 5} and result["is_error"] is False and result["duration_ms"] >= 0
    final = events[-1]
    assert final["content"] == "我来算一下。\n\n结果是 5。"
    assert "".join(e["delta"] for e in events if e["type"] == "delta") == final["content"]
    assert final["usage"] == {"input_tokens": 250, "output_tokens": 15}
    assert final["rounds"] == 2 and final["model"] == "qwen-turbo"
    assert [(c["input_tokens"], c["output_tokens"], c["estimated"]) for c in final["calls"]] == [
        (100, 10, False),
        (150, 5, False),
    ]
    record = final["tool_calls"][0]
    assert record["name"] == "add" and record["result"] == {"sum": 5} and record["round"] == 1
    # what reached the model in round two: the call and its result, in OpenAI format
    second = fake.requests[1].messages
    assert second[-2] == {
        "role": "assistant",
        "content": "我来算一下。",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}
        ],
    }
    assert second[-1] == {"role": "tool", "content": '{"sum": 5}', "tool_call_id": "call_1", "name": "add"}
    assert final["messages"] == second[-2:] + [{"role": "assistant", "content": "结果是 5。"}]


def test_full_results_are_kept_for_the_ui_but_not_sent(fake, qwen, registry, ctx):
    fake.script(FakeToolCall("run_hydraulic_simulation", {"network_id": 7}, id="c1"), FakeReply(text="ok"))
    final = list(turn(qwen, registry, ctx, "simulate"))[-1]
    record = final["tool_calls"][0]
    assert record["full_result"]["series"] == list(range(24)) and "series" not in record["result"]
    assert "series" not in fake.requests[1].messages[-1]["content"]


def test_bad_tool_calls_become_error_results_and_the_turn_goes_on(fake, qwen, registry, ctx):
    fake.script(
        FakeReply(tool_calls=[FakeToolCall("nope", {}, id="c1"), FakeToolCall("add", {"a": "x"}, id="c2")]),
        FakeReply(text="sorry"),
    )
    events = list(turn(qwen, registry, ctx))
    results = [e for e in events if e["type"] == "tool_result"]
    assert [r["is_error"] for r in results] == [True, True]
    assert "unknown tool" in results[0]["result"]["error"]
    assert events[-1]["content"] == "sorry"


def test_after_max_rounds_the_model_must_answer_without_tools(fake, qwen, registry, ctx):
    fake.script(*[FakeToolCall("add", {"a": 1, "b": 1}, id=f"c{i}") for i in range(2)], FakeReply(text="final"))
    final = list(turn(qwen, registry, ctx, max_rounds=2))[-1]
    assert final["content"] == "final" and final["rounds"] == 3
    assert [bool(r.tools) for r in fake.requests] == [True, True, False]
    assert invalid_request(fake.requests[-1].body) is None


def test_llm_errors_propagate(fake, qwen, registry, ctx):
    fake.script(FakeError(401, "InvalidApiKey"))
    state = TurnState()
    with pytest.raises(LLMUnavailable):
        list(turn(qwen, registry, ctx, state=state))
    assert state.interrupted and state.usage == {"input_tokens": 0, "output_tokens": 0}


def test_closing_mid_stream_keeps_partial_text_and_estimated_usage(fake, qwen, registry, ctx):
    fake.script(
        FakeToolCall("add", {"a": 2, "b": 3}, id="c1"),
        FakeReply(text="第一段。第二段。第三段。第四段。", chunks=4, chunk_interval_s=0.05),
    )
    state = TurnState()
    events = turn(qwen, registry, ctx, state=state)
    seen = []
    for event in events:
        seen.append(event)
        if sum(e["type"] == "delta" for e in seen) == 2:
            break
    state.settle()  # the caller may account before the generator is finalized ...
    events.close()  # ... and closing (client gone) must not count the call twice
    state.settle()
    assert state.interrupted and not state.finished
    assert state.content == "第一段。第二段。"
    assert len(state.calls) == 2 and state.calls[0]["estimated"] is False and state.calls[1]["estimated"] is True
    assert state.calls[1]["output_tokens"] == count_tokens("第一段。第二段。")
    assert state.usage["output_tokens"] == state.calls[0]["output_tokens"] + state.calls[1]["output_tokens"]
    assert state.usage["input_tokens"] > state.calls[0]["input_tokens"]
    assert state.tool_calls[0]["result"] == {"sum": 5}


def test_closing_at_a_tool_call_leaves_a_history_that_trims_cleanly(fake, qwen, registry, ctx):
    fake.script(FakeToolCall("add", {"a": 2, "b": 3}, id="c1"))
    state = TurnState()
    events = turn(qwen, registry, ctx, state=state)
    assert next(events)["type"] == "tool_call"
    events.close()
    assert state.interrupted and state.messages[-1]["tool_calls"][0]["id"] == "c1"
    history = [{"role": "user", "content": "2+3?"}, *state.messages]
    messages = build_messages(None, history, "again", 10_000)
    assert [m["role"] for m in messages] == ["system", "user", "user"]
    assert invalid_request({"model": "m", "input": {"messages": messages}}) is None


def test_turn_without_tools_sends_no_tools(fake, qwen, ctx):
    from hydronet.llm.tools import ToolRegistry

    final = list(turn(qwen, ToolRegistry(), ctx, "hello"))[-1]
    assert final["content"].startswith("Echo: hello") and fake.requests[0].tools is None
    assert json.dumps(final, ensure_ascii=False)  # the final event is JSON-serialisable
