"""build_messages: system prompt, budgeted history that keeps tool pairs, token counting."""

from __future__ import annotations

from hydronet.llm.context import SYSTEM_PROMPT, build_messages, history_units
from hydronet.llm.tokens import count_tokens, estimate_tokens
from tests.fakes.fake_dashscope import invalid_request


def words(text: str) -> int:
    """A predictable counter for budget tests: one token per word."""
    return len(text.split())


def call(cid: str, name: str = "run_hydraulic_simulation") -> dict:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": "{}"}}


HISTORY = [
    {"role": "user", "content": "u1 " * 5},
    {"role": "assistant", "content": "a1 " * 5},
    {"role": "user", "content": "u2 " * 5},
    {"role": "assistant", "content": "", "tool_calls": [call("c1"), call("c2")]},
    {"role": "tool", "tool_call_id": "c1", "name": "run_hydraulic_simulation", "content": "r1 " * 20},
    {"role": "tool", "tool_call_id": "c2", "name": "run_hydraulic_simulation", "content": "r2 " * 20},
    {"role": "assistant", "content": "a2 " * 5},
    {"role": "user", "content": "u3 " * 5},
    {"role": "assistant", "content": "a3 " * 5},
]


def roles(messages):
    return [m["role"] for m in messages]


def test_everything_fits_in_order_between_system_and_user():
    messages = build_messages("Tenant: 北区水务", HISTORY, "new question", 100_000, count_tokens=words)
    assert messages[0]["role"] == "system" and messages[0]["content"].startswith(SYSTEM_PROMPT)
    assert messages[0]["content"].endswith("Tenant: 北区水务")
    assert messages[1:-1] == HISTORY and messages[-1] == {"role": "user", "content": "new question"}


def test_trimming_drops_tool_results_together_with_their_call():
    fixed = words(build_messages(None, [], "q", 0, count_tokens=words)[0]["content"]) + 4 + 1 + 4
    # room for u3/a3 and a2 plus part of the tool unit: the whole tool unit must go
    budget = fixed + 3 * (5 + 4) + 10
    messages = build_messages(None, HISTORY, "q", budget, count_tokens=words)
    assert roles(messages) == ["system", "user", "assistant", "user"]
    assert messages[1]["content"].startswith("u3")


def test_kept_tool_units_are_complete_and_history_starts_with_a_user():
    fixed = words(build_messages(None, [], "q", 0, count_tokens=words)[0]["content"]) + 4 + 1 + 4
    budget = fixed + 3 * 9 + (2 + 4) + 2 * (20 + 4) + 9  # u2 + tool unit + a2 + u3 + a3
    messages = build_messages(None, HISTORY, "q", budget, count_tokens=words)
    assert roles(messages) == ["system", "user", "assistant", "tool", "tool", "assistant", "user", "assistant", "user"]
    assert invalid_request({"model": "m", "input": {"messages": messages}}) is None


def test_orphan_and_unanswered_tool_messages_are_dropped():
    history = [
        {"role": "tool", "tool_call_id": "zz", "content": "orphan"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call("c1"), call("c2")]},
        {"role": "tool", "tool_call_id": "c1", "content": "only one answer"},
        {"role": "user", "content": "again", "id": 42, "created_at": "2026-11-27"},
    ]
    units = history_units(history)
    assert [[m["role"] for m in u] for u in units] == [["user"], ["user"]]
    assert units[1][0] == {"role": "user", "content": "again"}  # storage fields stripped
    messages = build_messages(None, history, "q", 10_000)
    assert invalid_request({"model": "m", "input": {"messages": messages}}) is None


def test_the_user_message_is_kept_even_over_budget():
    messages = build_messages(None, HISTORY, "a very long question " * 50, 10, count_tokens=words)
    assert roles(messages) == ["system", "user"]


def test_token_counting_uses_the_local_qwen_tokenizer():
    assert count_tokens("") == 0
    assert 1 <= count_tokens("管网压力") <= 4
    assert count_tokens("hello world") == 2
    assert estimate_tokens("管网压力 ok") == 4 + 1
