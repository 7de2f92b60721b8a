"""The offline assistant used when no Qwen API key is configured.

It answers deterministically in the user's language (Chinese when the message
has CJK characters), always labelled as the offline assistant, and drives the
water tools on its own for "analyse my network" requests: ``list_networks``,
then ``get_network_summary`` / ``run_hydraulic_simulation`` on the first
network, then a note on what those tools returned.  The note is written by a
``BriefWriter`` the composition root injects (the water domain's engineer's
brief); without one, a plain list of the figures.  Offline answers cost no
model tokens, so they report zero usage.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from hydronet.llm.base import Completion, LLMEvent, StreamingProvider, TextDelta, ToolCall, Usage
from hydronet.llm.tokens import has_cjk

OFFLINE_MODEL = "offline"
LABEL_ZH = "【离线助手】"
LABEL_EN = "[Offline assistant]"
LIST_TOOL = "list_networks"
FOLLOW_UP_TOOLS = ("get_network_summary", "run_hydraulic_simulation")
_ANALYSIS = re.compile(r"分析|水网|管网|压力|水力|模拟|analy[sz]|network|pressure|hydraulic|simulat", re.IGNORECASE)
_ID_KEYS = ("network_id", "id", "network")
_MAX_LINES = 12

# (tool name, parsed result) pairs of one turn, and whether to write in Chinese → Markdown text.
BriefWriter = Callable[[list[tuple[str, Any]], bool], str]


class OfflineProvider(StreamingProvider):
    """A deterministic, clearly labelled stand-in for Qwen."""

    name = "offline"

    def __init__(self, chunk_chars: int = 16, chunk_delay_s: float = 0.0, brief: BriefWriter | None = None) -> None:
        self.chunk_chars = max(1, chunk_chars)
        self.chunk_delay_s = chunk_delay_s
        self.brief = brief

    def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        api_key: str | None = None,
    ) -> Iterator[LLMEvent]:
        """Stream the offline answer (or tool calls) for the conversation."""
        text, calls = plan_reply(messages, tools, self.brief)
        for start in range(0, len(text), self.chunk_chars):
            if start and self.chunk_delay_s:
                time.sleep(self.chunk_delay_s)
            yield TextDelta(text[start : start + self.chunk_chars])
        yield Completion(
            content=text,
            tool_calls=calls,
            finish_reason="tool_calls" if calls else "stop",
            usage=Usage(input_tokens=0, output_tokens=0),  # no model ran: nothing to count against a token quota
            model=OFFLINE_MODEL,
            request_id=None,
            usage_estimated=False,
        )


def plan_reply(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, brief: BriefWriter | None = None
) -> tuple[str, list[ToolCall]]:
    """The offline answer text and tool calls for this conversation state."""
    start, question = _last_user(messages)
    zh = has_cjk(question) or not question
    offered = {(t.get("function") or {}).get("name"): t for t in tools or []}
    results = _turn_results(messages[start + 1 :])
    if not offered or not _ANALYSIS.search(question):
        return _canned(question, zh, bool(offered)), []
    if not results:
        if LIST_TOOL in offered:
            return "", [_call(LIST_TOOL, {})]
        return _canned(question, zh, True), []
    names = [name for name, _ in results]
    if names == [LIST_TOOL]:
        networks = _records(results[0][1])
        if not networks:
            return _no_networks(zh), []
        follow = [offered[n] for n in FOLLOW_UP_TOOLS if n in offered]
        if not follow:
            return _network_list(networks, zh), []
        network_id = _record_id(networks[0])
        return "", [_call(_name(t), {_id_key(t): network_id}) for t in follow]
    if brief is not None:
        return _label(zh) + brief(results, zh), []
    return _analysis(results, zh), []


# -- reading the conversation -------------------------------------------------


def _last_user(messages: list[dict[str, Any]]) -> tuple[int, str]:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            content = messages[index].get("content")
            if isinstance(content, list):
                content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return index, str(content or "")
    return -1, ""


def _turn_results(turn: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(tool name, parsed content) of every tool message after the last user message."""
    names: dict[str, str] = {}
    results: list[tuple[str, Any]] = []
    for message in turn:
        for call in message.get("tool_calls") or []:
            names[call.get("id", "")] = (call.get("function") or {}).get("name", "")
        if message.get("role") == "tool":
            name = message.get("name") or names.get(message.get("tool_call_id", ""), "tool")
            try:
                data = json.loads(message.get("content") or "null")
            except (TypeError, ValueError):
                data = message.get("content")
            results.append((name, data))
    return results


def _records(data: Any) -> list[dict[str, Any]]:
    """The first list of id-carrying objects found in a tool result."""
    if isinstance(data, list):
        if data and all(isinstance(d, dict) for d in data) and any(k in data[0] for k in _ID_KEYS):
            return data
        data = {str(i): v for i, v in enumerate(data)}
    if isinstance(data, dict):
        for value in data.values():
            found = _records(value) if isinstance(value, (list, dict)) else []
            if found:
                return found
    return []


def _record_id(record: dict[str, Any]) -> Any:
    return next((record[k] for k in _ID_KEYS if k in record), None)


def _name(tool: dict[str, Any]) -> str:
    return (tool.get("function") or {}).get("name", "")


def _id_key(tool: dict[str, Any]) -> str:
    """The argument a tool takes for the network: ``network_id`` unless its schema says otherwise."""
    properties = ((tool.get("function") or {}).get("parameters") or {}).get("properties") or {}
    return next((k for k in _ID_KEYS if k in properties), "network_id")


def _call(name: str, arguments: dict[str, Any]) -> ToolCall:
    return ToolCall(id=f"call_{uuid.uuid4().hex[:24]}", name=name, arguments=json.dumps(arguments, ensure_ascii=False))


# -- writing answers ------------------------------------------------------------


def _label(zh: bool) -> str:
    return LABEL_ZH if zh else LABEL_EN


def _canned(question: str, zh: bool, tools_offered: bool) -> str:
    q = question.strip().replace("\n", " ")
    q = q[:200] + ("…" if len(q) > 200 else "")
    if zh:
        hint = "\n- 试试输入“分析一下我的管网压力”，我会调用水力分析工具并汇总结果。" if tools_offered else ""
        return (
            f"{LABEL_ZH}当前系统未配置通义千问 API 密钥（ALIYUN_API_KEY），这是离线助手的固定回复，未经大模型分析。\n\n"
            f"您的问题：「{q}」\n\n在离线模式下：{hint}\n- 管理员配置 ALIYUN_API_KEY 后，即可由通义千问进行完整的对话与分析。"
        )
    hint = (
        "\n- Try “analyse the pressure in my network”: I will run the hydraulic tools and summarise the results."
        if tools_offered
        else ""
    )
    return (
        f"{LABEL_EN} No Qwen API key (ALIYUN_API_KEY) is configured, so this is a fixed offline reply, "
        f"not an analysis by the language model.\n\nYou asked: “{q}”\n\nIn offline mode:{hint}\n"
        "- Once an administrator sets ALIYUN_API_KEY, Qwen answers and analyses in full."
    )


def _no_networks(zh: bool) -> str:
    if zh:
        return (
            f"{LABEL_ZH}您还没有导入任何管网模型。请先在“管网”页面上传 EPANET .inp 文件"
            "（例如 EPANET 自带的示例管网 Net1.inp），导入后再让我分析压力、流量等指标。"
        )
    return (
        f"{LABEL_EN} You have not imported any network model yet. Upload an EPANET .inp file on the "
        "Networks page (for example EPANET's Net1.inp example), then ask me again to analyse pressures and flows."
    )


def _network_list(networks: list[dict[str, Any]], zh: bool) -> str:
    head = "您已导入的管网：" if zh else "Your networks:"
    lines = [f"- {n.get('name') or n.get('title') or _record_id(n)}" for n in networks[:_MAX_LINES]]
    return f"{_label(zh)}{head}\n" + "\n".join(lines)


def _analysis(results: list[tuple[str, Any]], zh: bool) -> str:
    intro = (
        "以下是根据工具计算结果整理的摘要（离线模式，未经大模型解读）："
        if zh
        else " Here is a summary of the tool results (offline mode, not interpreted by the language model):"
    )
    colon = "：" if zh else ": "
    sections: list[str] = []
    for name, data in results:
        if name == LIST_TOOL:
            networks = _records(data)
            if networks:
                first = networks[0]
                label = "分析的管网" if zh else "Network analysed"
                sections.append(f"**{label}**{colon}{first.get('name') or _record_id(first)}")
            continue
        if isinstance(data, dict) and data.get("error"):
            sections.append((f"- 工具 {name} 出错：" if zh else f"- Tool {name} failed: ") + str(data["error"]))
            continue
        leaves = _flatten(data)
        lines = []
        lowest = [(p, v) for p, v in leaves if "pressure" in p.lower() and "min" in p.lower()]
        if lowest:
            head = "最低压力" if zh else "Minimum pressure"
            source = _common_parent([p for p, _ in lowest])
            head += f" ({source})" if source else ""
            lines.append(f"- **{head}**{colon}" + ", ".join(f"{_key(p)} = {_fmt(v)}" for p, v in lowest))
        lines += [f"- {p}: {_fmt(v)}" for p, v in leaves if (p, v) not in lowest][: _MAX_LINES - len(lines)]
        title = f"**{name}**" + (" 结果：" if zh else " results:")
        sections.append(
            title + "\n" + ("\n".join(lines) if lines else ("- （无数值结果）" if zh else "- (no numbers)"))
        )
    return _label(zh) + intro + "\n\n" + "\n\n".join(sections)


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar leaves of nested dicts as (dotted path, value); lists shown by length or first item."""
    if isinstance(data, dict):
        out: list[tuple[str, Any]] = []
        for key, value in data.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(data, list):
        if data and isinstance(data[0], dict):
            return _flatten(data[0], f"{prefix}[0]") + [(f"{prefix}.count", len(data))]
        if not data:
            return [(prefix, "[]")]
        if len(data) <= 6:
            return [(prefix, ", ".join(_fmt(v) for v in data))]
        return [(f"{prefix}.count", len(data))]
    return [(prefix or "value", data)]


def _key(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _common_parent(paths: list[str]) -> str:
    """The dotted prefix shared by all ``paths`` ('' for top-level keys)."""
    parents = {p.rsplit(".", 1)[0] if "." in p else "" for p in paths}
    return parents.pop() if len(parents) == 1 else ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)
