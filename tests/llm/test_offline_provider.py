"""OfflineProvider: labelled, deterministic, language-aware answers and tool routing."""

from __future__ import annotations

import json

from hydronet.llm.base import Completion, TextDelta
from hydronet.llm.loop import run_turn
from hydronet.llm.offline import LABEL_EN, LABEL_ZH, OfflineProvider
from hydronet.llm.tools import Tool, ToolRegistry
from tests.llm.support import user

OFFLINE = OfflineProvider()


def run(messages, tools=None):
    """Stream the offline answer and split it into deltas and the completion."""
    events = list(OFFLINE.stream(model="qwen-turbo", messages=messages, tools=tools, api_key=None))
    return [e.text for e in events if isinstance(e, TextDelta)], events[-1]


def test_chinese_question_gets_a_labelled_chinese_answer_in_chunks():
    deltas, completion = run(user("你好，今天天气怎么样？"))
    assert isinstance(completion, Completion) and completion.model == "offline"
    assert completion.content.startswith(LABEL_ZH) and "今天天气怎么样" in completion.content
    assert len(deltas) >= 3 and "".join(deltas) == completion.content
    assert completion.usage["input_tokens"] == 0 and completion.usage["output_tokens"] == 0  # no token quota used
    assert run(user("你好，今天天气怎么样？"))[1].content == completion.content  # deterministic


def test_english_question_gets_an_english_answer():
    _, completion = run(user("What can you do?"))
    assert completion.content.startswith(LABEL_EN) and "What can you do?" in completion.content


def test_analysis_request_routes_through_the_tools(registry):
    tools = registry.schemas()
    messages = user("帮我分析一下管网压力")
    _, first = run(messages, tools)
    assert [c["name"] for c in first.tool_calls] == ["list_networks"] and first.finish_reason == "tool_calls"

    messages += [
        {"role": "assistant", "content": "", "tool_calls": [_wire(first.tool_calls[0])]},
        {
            "role": "tool",
            "name": "list_networks",
            "tool_call_id": first.tool_calls[0]["id"],
            "content": json.dumps({"networks": [{"id": 7, "name": "Net1"}, {"id": 9, "name": "Net3"}]}),
        },
    ]
    _, second = run(messages, tools)
    assert [(c["name"], json.loads(c["arguments"])) for c in second.tool_calls] == [
        ("run_hydraulic_simulation", {"network_id": 7})
    ]

    result = {"min_pressure": {"node": "J-10", "time_h": 6, "value_m": 12.34}, "junctions": 9}
    messages += [
        {"role": "assistant", "content": "", "tool_calls": [_wire(second.tool_calls[0])]},
        {"role": "tool", "tool_call_id": second.tool_calls[0]["id"], "content": json.dumps(result)},
    ]
    _, answer = run(messages, tools)
    assert not answer.tool_calls and answer.content.startswith(LABEL_ZH)
    for fragment in ("最低压力", "J-10", "12.34", "time_h = 6", "Net1", "junctions: 9"):
        assert fragment in answer.content


def test_no_networks_explains_how_to_import(registry):
    tools = registry.schemas()
    messages = user("analyse my network pressure") + [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [_wire({"id": "c1", "name": "list_networks", "arguments": "{}"})],
        },
        {"role": "tool", "name": "list_networks", "tool_call_id": "c1", "content": '{"networks": []}'},
    ]
    _, answer = run(messages, tools)
    assert answer.content.startswith(LABEL_EN) and "Net1" in answer.content and ".inp" in answer.content


def test_analysis_without_tools_offered_is_a_canned_answer():
    _, answer = run(user("分析压力"), None)
    assert not answer.tool_calls and answer.content.startswith(LABEL_ZH)


def test_full_offline_turn_with_the_loop(registry, ctx):
    events = list(
        run_turn(
            OfflineProvider(),
            model="qwen-turbo",
            messages=user("分析一下管网压力"),
            registry=registry,
            ctx=ctx,
            api_key=None,
        )
    )
    assert [e["name"] for e in events if e["type"] == "tool_call"] == ["list_networks", "run_hydraulic_simulation"]
    final = events[-1]
    assert final["model"] == "offline" and final["content"].startswith(LABEL_ZH)
    assert "J-10" in final["content"] and "12.34" in final["content"] and final["rounds"] == 3


def test_follow_up_tool_argument_name_comes_from_the_schema(ctx):
    summary = Tool(
        "get_network_summary",
        "summary",
        {"type": "object", "properties": {"id": {"type": "string"}}},
        lambda c, a: {"id": a["id"], "pressure": {"min": 3.5, "max": 50.0}},
    )
    lister = Tool(
        "list_networks",
        "list",
        {"type": "object", "properties": {}},
        lambda c, a: {"count": 1, "items": [{"id": "n-1", "name": "Town"}]},
    )
    events = list(
        run_turn(
            OfflineProvider(),
            model="m",
            messages=user("network pressure?"),
            registry=ToolRegistry([lister, summary]),
            ctx=ctx,
            api_key=None,
        )
    )
    calls = [e for e in events if e["type"] == "tool_call"]
    assert json.loads(calls[1]["arguments"]) == {"id": "n-1"}
    assert "Minimum pressure" in events[-1]["content"] and "3.5" in events[-1]["content"]


def _wire(call):
    return {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}
