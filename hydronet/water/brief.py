"""The offline assistant's brief: an engineer's note on the water tools' results, in zh or en.

Pure text from tool results (the compact ones the model would see): what the network is, the
findings ranked by severity (``findings.py``), what to run next and a link to the result on the
map. No tool names, internal keys or ids appear in the prose; the network id appears only in
the link target. Injected into the offline provider by the composition root.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hydronet.water.findings import findings, fmt, next_steps, standards_of

# The assistant's tool names (water/tools.py) → analysis kind.
TOOL_KINDS = {
    "run_hydraulic_simulation": "hydraulic",
    "water_age": "water_age",
    "resilience_metrics": "resilience",
    "topology_metrics": "topology",
    "pipe_criticality": "pipe_criticality",
    "fire_flow": "fire_flow",
    "leak_scenario": "leak_scenario",
    "what_if": "what_if",
    "get_timeseries": "timeseries",
}
SUMMARY_TOOL = "get_network_summary"
LIST_TOOL = "list_networks"
SEVERITY = {"critical": ("严重", "Critical"), "warning": ("注意", "Warning"), "info": ("提示", "Note")}
KIND_NAMES = {
    "hydraulic": ("水力模拟", "hydraulic simulation"),
    "water_age": ("水龄分析", "water age analysis"),
    "resilience": ("韧性评估", "resilience assessment"),
    "topology": ("拓扑分析", "topology analysis"),
    "pipe_criticality": ("管段关键性分析", "pipe criticality analysis"),
    "fire_flow": ("消防流量校核", "fire-flow test"),
    "leak_scenario": ("漏损情景", "leak scenario"),
    "what_if": ("假设分析", "what-if scenario"),
    "timeseries": ("时间序列", "time series"),
}
MAX_FINDINGS = 8


def result_link(network_id: Any, kind: str) -> str:
    """The browser's map view of this analysis of this network."""
    return f"/networks?network={quote(str(network_id))}&analysis={quote(kind)}#map"


def write_brief(results: list[tuple[str, Any]], zh: bool) -> str:
    """The note for one turn's tool results (``(tool name, result)`` pairs, in call order)."""
    summary = next((data for name, data in results if name == SUMMARY_TOOL and isinstance(data, dict)), None)
    analyses = [(TOOL_KINDS[name], data) for name, data in results if name in TOOL_KINDS and isinstance(data, dict)]
    network_name = next(
        (d.get("network_name") for _, d in results if isinstance(d, dict) and d.get("network_name")), None
    )
    network_id = next((d.get("network_id") for _, d in results if isinstance(d, dict) and d.get("network_id")), None)
    parts = [_title(network_name, analyses, zh)]
    if summary:
        parts.append(_overview(summary, analyses, zh))
    failures = [data.get("error") for _, data in results if isinstance(data, dict) and data.get("error")]
    for error in failures:
        parts.append(("有一项计算没有完成：" if zh else "One calculation did not complete: ") + str(error))
    all_findings = []
    suggested = []
    for kind, data in analyses:
        if data.get("error"):
            continue
        standards = standards_of(data)
        items = findings(kind, data, standards)
        all_findings.append((kind, items))
        suggested.append(next_steps(kind, items, standards))
    if all_findings:
        parts.append(_findings_section(all_findings, zh))
        steps = []
        for found in suggested:
            steps += [s["zh" if zh else "en"] for s in found if s["zh" if zh else "en"] not in steps]
        head = "**建议下一步**" if zh else "**What to run next**"
        parts.append(head + "\n" + "\n".join(f"- {s}" for s in steps[:4]))
    elif not summary and not failures:
        parts.append("工具没有返回可解读的数值结果。" if zh else "The tools returned no figures to interpret.")
    if network_id and analyses:
        kind = analyses[0][0]
        label = "在地图上查看本次结果" if zh else "See this result on the map"
        parts.append(f"[{label}]({result_link(network_id, kind)})")
    return "\n\n".join(parts)


def _title(network_name: Any, analyses: list[tuple[str, Any]], zh: bool) -> str:
    names = [KIND_NAMES.get(kind, (kind, kind))[0 if zh else 1] for kind, _ in analyses]
    if zh:
        what = "、".join(names) or "管网概况"
        about = f"「{network_name}」" if network_name else "管网"
        return f"关于{about}的{what}简报（离线模式：数值来自计算引擎，解读由固定规则生成，未经大模型）。"
    what = " and ".join(names) or "overview"
    about = f"“{network_name}”" if network_name else "the network"
    return (
        f"A {what} note on {about} (offline mode: figures from the engine, interpretation by fixed rules, "
        "not by the language model)."
    )


def _overview(summary: dict[str, Any], analyses: list[tuple[str, Any]], zh: bool) -> str:
    counts = summary.get("counts") if isinstance(summary.get("counts"), dict) else {}
    length_km = (
        (summary.get("total_pipe_length_m") or 0) / 1000
        if isinstance(summary.get("total_pipe_length_m"), (int, float))
        else None
    )
    time = summary.get("time") if isinstance(summary.get("time"), dict) else {}
    settings = next((d.get("settings") for _, d in analyses if isinstance(d.get("settings"), dict)), {}) or {}
    model = settings.get("demand_model")
    engine = settings.get("engine")
    duration = settings.get("duration_h", time.get("duration_h"))
    c = {k: counts.get(k, 0) for k in ("junctions", "pipes", "tanks", "reservoirs", "pumps", "valves")}
    if zh:
        text = (
            f"**管网概况**：{c['junctions']} 个用户节点、{c['pipes']} 条管道"
            + (f"（总长 {fmt(length_km, 1)} km）" if length_km else "")
            + f"、{c['tanks']} 座水池、{c['reservoirs']} 个水源、{c['pumps']} 台水泵、{c['valves']} 个阀门。"
        )
        if duration is not None:
            text += f"模拟时长 {fmt(duration, 1)} h"
            text += {"DD": "，按需水量驱动（经典 EPANET）", "PDD": "，压力驱动需水量"}.get(str(model), "")
            text += f"，{'EPANET' if engine == 'epanet' else 'WNTR'} 求解器。" if engine else "。"
        return text
    text = (
        f"**The network**: {c['junctions']} junctions, {c['pipes']} pipes"
        + (f" ({fmt(length_km, 1)} km)" if length_km else "")
        + f", {c['tanks']} tanks, {c['reservoirs']} sources, {c['pumps']} pumps, {c['valves']} valves."
    )
    if duration is not None:
        text += f" Simulated for {fmt(duration, 1)} h"
        text += {"DD": ", demand-driven (classic EPANET)", "PDD": ", pressure-driven demand"}.get(str(model), "")
        text += f", {'EPANET' if engine == 'epanet' else 'WNTR'} solver." if engine else "."
    return text


def _findings_section(groups: list[tuple[str, list[dict[str, Any]]]], zh: bool) -> str:
    lang = "zh" if zh else "en"
    merged = sorted(
        ((f, kind) for kind, items in groups for f in items),
        key=lambda pair: ("critical", "warning", "info").index(pair[0]["severity"]),
    )
    if not merged:
        return "**发现**：没有发现需要处理的问题。" if zh else "**Findings**: nothing that needs attention."
    lines = []
    for number, (item, _kind) in enumerate(merged[:MAX_FINDINGS], start=1):
        label = SEVERITY[item["severity"]][0 if zh else 1]
        lines.append(
            f"{number}. **{label}**：{item['message'][lang]}"
            if zh
            else f"{number}. **{label}**: {item['message'][lang]}"
        )
    more = len(merged) - MAX_FINDINGS
    if more > 0:
        lines.append(
            f"另有 {more} 条次要发现，见结果页面。" if zh else f"{more} minor finding(s) more on the result page."
        )
    head = "**发现（按严重程度排序）**" if zh else "**Findings, most severe first**"
    return head + "\n" + "\n".join(lines)
