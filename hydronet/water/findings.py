"""What an analysis result means for an engineer: findings ranked by severity, and what to run next.

Pure functions of a result dict (full or compacted for the model): no Flask, no database. Thresholds
a result does not state come from the design defaults it was computed with (``settings.standards``:
the tenant's, when it changed them; else the national ones), never from constants of this module.
The browser's result views (through the REST answers) and the offline assistant's brief share
them, so both name the same elements, values and times. Results are read defensively: a key
that is missing or of an unexpected type yields no finding rather than an error.

A finding: ``{severity, code, elements, value, unit, time_h, message: {zh, en}}``, where
severity is ``critical`` > ``warning`` > ``info``; lists are ranked most severe first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from hydronet.water.errors import AnalysisInputError
from hydronet.water.standards import FIELDS, NATIONAL, Standards, defaults_from

SEVERITIES = ("critical", "warning", "info")
VERY_HIGH_VELOCITY_FACTOR = 1.5  # a velocity this many times the tenant's limit is critical
TANK_LEVEL_MATCH_M = 0.01
MAX_LISTED = 6

Finding = dict[str, Any]


# -- formatting ---------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 2) -> str:
    """A number for prose: fixed decimals, trailing zeros dropped, a real minus sign."""
    number = _float(value)
    if number is None:
        return "?"
    text = f"{number:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{number:.0f}"
    text = "0" if text in ("-0", "") else text
    return text.replace("-", "−")


def when(time_h: Any, zh: bool) -> str:
    """Simulation time as hours plus day and clock time: '第 2 天 23:00（47 h）'."""
    hours = _float(time_h)
    if hours is None:
        return ""
    day, rest = divmod(hours, 24.0)
    clock = f"{int(rest):02d}:{int(round((rest % 1) * 60)) % 60:02d}"
    if zh:
        return f"第 {int(day) + 1} 天 {clock}（{fmt(hours, 1)} h）"
    return f"day {int(day) + 1} {clock} ({fmt(hours, 1)} h)"


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _names(items: Iterable[Any]) -> str:
    return "、".join(str(i) for i in items)


def finding(
    severity: str,
    code: str,
    zh: str,
    en: str,
    *,
    elements: Iterable[Any] = (),
    value: Any = None,
    unit: str | None = None,
    time_h: Any = None,
    element_type: str | None = None,
) -> Finding:
    """One finding (messages in both UI languages)."""
    return {
        "severity": severity,
        "code": code,
        "elements": [str(e) for e in elements],
        "element_type": element_type,
        "value": _float(value),
        "unit": unit,
        "time_h": _float(time_h),
        "message": {"zh": zh, "en": en},
    }


def rank(items: list[Finding]) -> list[Finding]:
    """Most severe first; within a severity the order the analysis gave (already worst first)."""
    return sorted(items, key=lambda f: SEVERITIES.index(f["severity"]) if f["severity"] in SEVERITIES else 9)


# -- per analysis -------------------------------------------------------------------------------


def standards_of(result: Any) -> Standards:
    """The design defaults a result was computed with: its ``settings.standards`` (a tenant's), else the national."""
    given = _dict(_dict(_dict(result).get("settings")).get("standards"))
    try:
        return defaults_from({key: value for key, value in given.items() if key in FIELDS})
    except AnalysisInputError:
        return NATIONAL


def findings(kind: str, result: Any, standards: Standards | None = None) -> list[Finding]:
    """The ranked findings of one analysis result (``kind`` as in the analysis catalogue).

    ``standards`` supply thresholds the result does not state (default: :func:`standards_of` the result).
    """
    data = _dict(result)
    reader = _READERS.get(kind)
    out = reader(data, standards or standards_of(data)) if reader else []
    covered = {(f["code"], e) for f in out for e in f["elements"]}
    out += engine_warnings(data, covered)
    return rank(out)


# The engine's warning codes (water/diagnostics.py) in Chinese; its own message is English.
ENGINE_ZH = {
    "water_balance": "水量平衡校核未通过，结果中的水量可能不可信",
    "tank_empty_delivering": "水池在最低水位时仍在供水，由其供出的水量被高估",
    "pump_cannot_deliver": "部分时段水泵无法提供所需扬程，被 EPANET 关闭",
    "negative_pressure": "存在负压节点，按模型无法向其供水",
    "unsupplied_nodes": "部分有需水量的节点得到的水量明显不足",
    "disconnected_nodes": "部分节点与水池、水库没有连通路径",
    "engine_fallback": "改用 WNTR 自带的 EPANET 2.2 求解，水池放空时的水量平衡可能有误",
}
_ENGINE_SEVERITY = {"error": "critical", "critical": "critical", "warning": "warning", "info": "info"}


def engine_warnings(result: dict[str, Any], covered: set[tuple[str, str]] | None = None) -> list[Finding]:
    """The engine's and the analysis's own ``warnings`` ({code, message, elements, severity}).

    ``covered``: (code, element) pairs a finding of this module already reports (a negative pressure
    named with its time and cause) — the engine's line for the same elements is then left out.
    """
    out = []
    for item in _list(result.get("warnings")):
        if isinstance(item, str):
            item = {"message": item}
        if not isinstance(item, dict) or not item.get("message"):
            continue
        code = str(item.get("code") or "warning")
        message = str(item["message"])
        elements = [str(e) for e in _list(item.get("elements"))]
        if covered and elements and all((code, e) in covered for e in elements):
            continue
        listed = f"（{_names(elements[:MAX_LISTED])}{' 等' if len(elements) > MAX_LISTED else ''}）" if elements else ""
        listed_en = (
            f" ({', '.join(elements[:MAX_LISTED])}{' …' if len(elements) > MAX_LISTED else ''})" if elements else ""
        )
        zh = ENGINE_ZH.get(code)
        out.append(
            finding(
                _ENGINE_SEVERITY.get(str(item.get("severity")), "warning"),
                f"engine.{code}",
                f"计算引擎提示：{zh or message}{listed}。" if zh else f"计算引擎提示：{message}{listed}",
                f"Engine warning: {message}{listed_en}",
                elements=elements,
            )
        )
    old_style = result.get("warning")
    if isinstance(old_style, str) and old_style:
        out.append(finding("info", "analysis.note", f"分析说明：{old_style}", f"Note: {old_style}"))
    return out


def hydraulic_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """Negative and low pressure, tanks emptying or filling, velocity and pressure extremes, demand served."""
    out: list[Finding] = []
    tanks = _dicts(result.get("tanks"))
    lowest = _dict(result.get("min_pressure"))
    fastest = _dict(result.get("max_velocity"))
    low = _dict(result.get("low_pressure"))
    threshold = _threshold(
        low.get("threshold_m"), _dict(result.get("settings")).get("pressure_threshold_m"), standards.service_head_m
    )
    negative = [j for j in _dicts(low.get("junctions")) if (_float(j.get("min_pressure_m")) or 0) < 0]
    low_pressure_m = _float(lowest.get("pressure_m"))
    if (
        low_pressure_m is not None
        and low_pressure_m < 0
        and not any(j.get("node") == lowest.get("node") for j in negative)
    ):
        negative.insert(
            0, {"node": lowest.get("node"), "min_pressure_m": low_pressure_m, "time_h": lowest.get("time_h")}
        )
    for junction in negative:
        out.append(_negative_pressure(junction, fastest))
    tank_fed = []
    plain_low = []
    for junction in _dicts(low.get("junctions")):
        if junction in negative or (_float(junction.get("min_pressure_m")) or 0) < 0:
            continue
        tank = _tank_at_level(tanks, _float(junction.get("min_pressure_m")))
        (tank_fed if tank else plain_low).append((junction, tank))
    total = low.get("junction_count")
    if plain_low:
        zh = "、".join(
            f"{j.get('node')}（{fmt(j.get('min_pressure_m'))} m，{when(j.get('time_h'), True)}）"
            for j, _ in plain_low[:MAX_LISTED]
        )
        en = ", ".join(
            f"{j.get('node')} ({fmt(j.get('min_pressure_m'))} m, {when(j.get('time_h'), False)})"
            for j, _ in plain_low[:MAX_LISTED]
        )
        out.append(
            finding(
                "warning",
                "low_pressure",
                f"{len(plain_low)} 个节点最低压力低于 {fmt(threshold)} m 的服务压力：{zh}。低压时段用户可能水量不足、高层供水困难。",
                f"{len(plain_low)} junction(s) fall below the {fmt(threshold)} m service pressure: {en}. Customers may get "
                "too little water at those times.",
                elements=[j.get("node") for j, _ in plain_low],
                value=plain_low[0][0].get("min_pressure_m"),
                unit="m",
                time_h=plain_low[0][0].get("time_h"),
                element_type="junction",
            )
        )
    if tank_fed:
        zh = "、".join(f"{j.get('node')}（{fmt(j.get('min_pressure_m'))} m = 水池 {tank}）" for j, tank in tank_fed)
        en = ", ".join(f"{j.get('node')} ({fmt(j.get('min_pressure_m'))} m = tank {tank})" for j, tank in tank_fed)
        out.append(
            finding(
                "info",
                "tank_connection_pressure",
                f"节点 {zh}的压力也低于 {fmt(threshold)} m，但它们的最低压力等于所连水池的最低水深，是水池的进出水节点，"
                "这一数值反映水池水深而非供水不足。",
                f"Junctions {en} also fall below {fmt(threshold)} m, but their lowest pressure equals the lowest water depth of the "
                "tank they connect, so it reflects the tank level, not a supply shortfall.",
                elements=[j.get("node") for j, _ in tank_fed],
                value=tank_fed[0][0].get("min_pressure_m"),
                unit="m",
                element_type="junction",
            )
        )
    if isinstance(total, int) and total > len(_dicts(low.get("junctions"))):
        rest = total - len(_dicts(low.get("junctions")))
        out.append(
            finding(
                "warning",
                "low_pressure_more",
                f"另有 {rest} 个节点也低于 {fmt(threshold)} m，完整列表见结果表格。",
                f"{rest} more junction(s) are also below {fmt(threshold)} m; see the result table.",
                value=rest,
            )
        )
    out += _tank_findings(tanks)
    out += _velocity_finding(fastest, standards.max_velocity_m_s)
    highest = _dict(result.get("max_pressure"))
    high = _float(highest.get("pressure_m"))
    if high is not None and high > standards.max_pressure_m:
        out.append(
            finding(
                "warning",
                "high_pressure",
                f"节点 {highest.get('node')} 在{when(highest.get('time_h'), True)}压力达 {fmt(high)} m，超过提示上限 "
                f"{fmt(standards.max_pressure_m)} m：漏损和爆管风险增加，可考虑分区或减压阀。",
                f"Junction {highest.get('node')} reaches {fmt(high)} m at {when(highest.get('time_h'), False)}, above the "
                f"{fmt(standards.max_pressure_m)} m flagging limit: more leakage and burst risk; consider zoning or a "
                "pressure-reducing valve.",
                elements=[highest.get("node")],
                value=high,
                unit="m",
                time_h=highest.get("time_h"),
                element_type="junction",
            )
        )
    demand = _dict(result.get("demand"))
    served = _float(demand.get("served_fraction"))
    if served is not None and served < 0.99:
        out.append(
            finding(
                "critical" if served < 0.9 else "warning",
                "demand_shortfall",
                f"只满足了预期用水量的 {fmt(served * 100, 1)}%（压力驱动模型下低压节点少供水）。",
                f"Only {fmt(served * 100, 1)}% of the expected demand is served (pressure-driven demand: low-pressure "
                "junctions get less).",
                value=served * 100,
                unit="%",
            )
        )
    mean = _float(result.get("mean_pressure_m"))
    if low_pressure_m is not None and high is not None:
        out.append(
            finding(
                "info",
                "pressure_range",
                f"最低压力出现在节点 {lowest.get('node')}（{when(lowest.get('time_h'), True)}），为 {fmt(low_pressure_m)} m；"
                f"最高为节点 {highest.get('node')} 的 {fmt(high)} m"
                + (f"；全网平均 {fmt(mean)} m。" if mean is not None else "。"),
                f"The lowest pressure is at junction {lowest.get('node')} ({when(lowest.get('time_h'), False)}), "
                f"{fmt(low_pressure_m)} m; the highest is {fmt(high)} m at junction {highest.get('node')}"
                + (f"; {fmt(mean)} m on average." if mean is not None else "."),
                elements=[lowest.get("node")],
                value=low_pressure_m,
                unit="m",
                time_h=lowest.get("time_h"),
                element_type="junction",
            )
        )
    return out


def _negative_pressure(junction: dict[str, Any], fastest: dict[str, Any]) -> Finding:
    node, value, time_h = junction.get("node"), junction.get("min_pressure_m"), junction.get("time_h")
    same_time = fastest and _float(fastest.get("time_h")) is not None and fastest.get("time_h") == time_h
    load_zh = (
        (
            f"同一时刻管段 {fastest.get('pipe')} 的流速达到全网最高 {fmt(fastest.get('velocity_m_s'))} m/s，说明这是输水负荷"
            "最大、水头损失最大的时段。"
        )
        if same_time
        else ""
    )
    load_en = (
        (
            f" At the same time pipe {fastest.get('pipe')} carries the network's highest velocity, "
            f"{fmt(fastest.get('velocity_m_s'))} m/s: this is the hour of peak transfer and head loss."
        )
        if same_time
        else ""
    )
    return finding(
        "critical",
        "negative_pressure",
        f"节点 {node} 在{when(time_h, True)}出现负压 {fmt(value)} m。{load_zh}可能原因：该节点高程接近或高于此时的水力坡度线"
        "（常见于高地、水泵吸水侧或供水干管输水能力不足）。负压在实际管网中会吸入污染物、形成气阻，需要核实高程和该时段的"
        "水泵与阀门工况。",
        f"Junction {node} has negative pressure, {fmt(value)} m, at {when(time_h, False)}.{load_en} Likely cause: the "
        "junction sits near or above the hydraulic grade line at that time (a high point, a pump's suction side or a "
        "supply main short of capacity). In a real network this draws in contaminants and traps air: check the "
        "elevation and the pumps and valves at that hour.",
        elements=[node],
        value=value,
        unit="m",
        time_h=time_h,
        element_type="junction",
    )


def _tank_at_level(tanks: list[dict[str, Any]], pressure_m: float | None) -> str | None:
    """The tank whose lowest water depth equals this pressure (its connection junction), if any."""
    if pressure_m is None:
        return None
    for tank in tanks:
        level = _float(tank.get("min_level_m"))
        if level is not None and abs(level - pressure_m) <= TANK_LEVEL_MATCH_M:
            return str(tank.get("tank"))
    return None


def _tank_findings(tanks: list[dict[str, Any]]) -> list[Finding]:
    out = []
    for tank in tanks:
        name = tank.get("tank")
        low, high = _float(tank.get("min_level_m")), _float(tank.get("max_level_m"))
        initial, final = _float(tank.get("initial_level_m")), _float(tank.get("final_level_m"))
        if tank.get("emptied"):
            out.append(
                finding(
                    "critical",
                    "tank_emptied",
                    f"水池 {name} 放空：水位降到 {fmt(low)} m，达到允许最低水位 {fmt(tank.get('allowed_min_level_m'))} m，"
                    "此后依赖该水池的区域会失压。",
                    f"Tank {name} empties: its level falls to {fmt(low)} m, the allowed minimum of "
                    f"{fmt(tank.get('allowed_min_level_m'))} m; the area it feeds then loses pressure.",
                    elements=[name],
                    value=low,
                    unit="m",
                    element_type="tank",
                )
            )
        if tank.get("filled"):
            out.append(
                finding(
                    "warning",
                    "tank_full",
                    f"水池 {name} 蓄满：水位升到 {fmt(high)} m，达到允许最高水位 {fmt(tank.get('allowed_max_level_m'))} m，"
                    "进水被关闭或溢流，需检查水泵启停控制。",
                    f"Tank {name} fills up: its level reaches {fmt(high)} m, the allowed maximum of "
                    f"{fmt(tank.get('allowed_max_level_m'))} m; inflow stops or it overflows: check the pump controls.",
                    elements=[name],
                    value=high,
                    unit="m",
                    element_type="tank",
                )
            )
        if (
            initial is not None
            and final is not None
            and low is not None
            and high is not None
            and not tank.get("emptied")
        ):
            span = max(high - low, 0.0)
            if span > 0 and initial - final > 0.5 * span:
                out.append(
                    finding(
                        "warning",
                        "tank_draining",
                        f"水池 {name} 期末水位 {fmt(final)} m 比初始 {fmt(initial)} m 低 {fmt(initial - final)} m："
                        "补水不足，延长模拟可能放空。",
                        f"Tank {name} ends at {fmt(final)} m, {fmt(initial - final)} m below its initial {fmt(initial)} m: "
                        "it is not refilled and could empty over a longer run.",
                        elements=[name],
                        value=final,
                        unit="m",
                        element_type="tank",
                    )
                )
    return out


def _velocity_finding(fastest: dict[str, Any], limit_m_s: float) -> list[Finding]:
    speed = _float(fastest.get("velocity_m_s"))
    if speed is None:
        return []
    pipe, time_h = fastest.get("pipe"), fastest.get("time_h")
    if speed >= limit_m_s:
        return [
            finding(
                "critical" if speed >= VERY_HIGH_VELOCITY_FACTOR * limit_m_s else "warning",
                "high_velocity",
                f"管段 {pipe} 在{when(time_h, True)}流速达 {fmt(speed)} m/s，高于提示上限 {fmt(limit_m_s)} m/s："
                "水头损失大，有冲刷和水锤风险，可考虑扩径或分流。",
                f"Pipe {pipe} reaches {fmt(speed)} m/s at {when(time_h, False)}, above the {fmt(limit_m_s)} m/s flagging "
                "limit: high head loss, scouring and surge risk; consider a larger pipe or a parallel main.",
                elements=[pipe],
                value=speed,
                unit="m/s",
                time_h=time_h,
                element_type="pipe",
            )
        ]
    return [
        finding(
            "info",
            "max_velocity",
            f"最大流速 {fmt(speed)} m/s（管段 {pipe}，{when(time_h, True)}），在正常范围内。",
            f"Highest velocity {fmt(speed)} m/s (pipe {pipe}, {when(time_h, False)}), within the normal range.",
            elements=[pipe],
            value=speed,
            unit="m/s",
            time_h=time_h,
            element_type="pipe",
        )
    ]


def what_if_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """The scenario's own findings, led by how it changes the minimum pressure and service."""
    base, scenario, diff = (_dict(result.get(k)) for k in ("baseline", "scenario", "difference"))
    changes = [str(c) for c in _list(result.get("changes"))]
    out = []
    drop = _float(diff.get("min_pressure_m"))
    if drop is not None:
        worse = drop < 0
        b_low, s_low = _dict(base.get("min_pressure")), _dict(scenario.get("min_pressure"))
        what = "、".join(changes) or "修改"
        what_en = ", ".join(changes) or "the change"
        out.append(
            finding(
                "warning" if worse else "info",
                "what_if.min_pressure",
                f"方案（{what}）使全网最低压力从 {fmt(b_low.get('pressure_m'))} m 变为 {fmt(s_low.get('pressure_m'))} m"
                f"（{'+' if drop >= 0 else ''}{fmt(drop)} m），低于服务压力的节点数变化 {fmt(diff.get('junctions_below_threshold'), 0)} 个。",
                f"The scenario ({what_en}) moves the lowest pressure from {fmt(b_low.get('pressure_m'))} m to "
                f"{fmt(s_low.get('pressure_m'))} m ({'+' if drop >= 0 else ''}{fmt(drop)} m); junctions below the service "
                f"pressure change by {fmt(diff.get('junctions_below_threshold'), 0)}.",
                elements=[s_low.get("node")] if s_low.get("node") else [],
                value=drop,
                unit="m",
            )
        )
    return out + hydraulic_findings({**scenario, "settings": _dict(result.get("settings"))}, standards)


def criticality_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """Pipes whose closure leaves junctions below the service pressure."""
    out = []
    threshold = _threshold(_dict(result.get("settings")).get("pressure_threshold_m"), standards.service_head_m)
    for pipe in _dicts(result.get("ranking")):
        count = pipe.get("junctions_impacted")
        if not isinstance(count, int) or count <= 0:
            continue
        people = pipe.get("population_impacted")
        out.append(
            finding(
                "critical" if count >= 10 else "warning",
                "critical_pipe",
                f"关闭管段 {pipe.get('pipe')}（管径 {fmt((_float(pipe.get('diameter_m')) or 0) * 1000, 0)} mm）会使 {count} 个节点"
                f"压力低于 {fmt(threshold)} m"
                + (f"，影响约 {people} 人" if isinstance(people, int) else "")
                + f"，最不利节点 {pipe.get('worst_node')} 降至 {fmt(pipe.get('worst_pressure_m'))} m。",
                f"Closing pipe {pipe.get('pipe')} ({fmt((_float(pipe.get('diameter_m')) or 0) * 1000, 0)} mm) leaves {count} "
                f"junction(s) below {fmt(threshold)} m"
                + (f", about {people} people" if isinstance(people, int) else "")
                + f"; the worst, {pipe.get('worst_node')}, drops to {fmt(pipe.get('worst_pressure_m'))} m.",
                elements=[pipe.get("pipe")],
                value=count,
                unit=None,
                element_type="pipe",
            )
        )
    if not out and _dicts(result.get("ranking")):
        out.append(
            finding(
                "info",
                "no_critical_pipe",
                "所分析的管段单独关闭时，没有节点低于服务压力。",
                "No analysed pipe, closed on its own, leaves a junction below the service pressure.",
            )
        )
    return out[: MAX_LISTED * 2] + _completeness(result, "管段", "pipes")


def fire_flow_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """Hydrants that cannot deliver the fire flow at the residual pressure."""
    settings = _dict(result.get("settings"))
    threshold = _threshold(settings.get("pressure_threshold_m"), standards.fire_residual_pressure_m)
    flow_l_s = (_float(settings.get("fire_demand_m3_s")) or standards.fire_flow_l_s / 1000) * 1000
    failing = [h for h in _dicts(result.get("ranking")) if h.get("passes") is False]
    out = []
    for hydrant in failing[: MAX_LISTED * 2]:
        served = _float(hydrant.get("fire_flow_served_fraction"))
        out.append(
            finding(
                "critical" if served is not None and served < 0.9 else "warning",
                "hydrant_fails",
                f"消火栓节点 {hydrant.get('hydrant')} 不满足 {fmt(flow_l_s, 1)} L/s 消防流量：余压 {fmt(hydrant.get('hydrant_min_pressure_m'))} m"
                f"（要求 ≥ {fmt(threshold)} m）"
                + (f"，只供出 {fmt(served * 100, 0)}% 的消防水量" if served is not None else "")
                + "。",
                f"Hydrant {hydrant.get('hydrant')} fails the {fmt(flow_l_s, 1)} L/s fire flow: residual "
                f"{fmt(hydrant.get('hydrant_min_pressure_m'))} m (needs ≥ {fmt(threshold)} m)"
                + (f", delivering {fmt(served * 100, 0)}% of it" if served is not None else "")
                + ".",
                elements=[hydrant.get("hydrant")],
                value=hydrant.get("hydrant_min_pressure_m"),
                unit="m",
                element_type="junction",
            )
        )
    tested = len(_dicts(result.get("ranking")))
    if tested:
        out.append(
            finding(
                "info",
                "fire_flow_summary",
                f"共测试 {tested} 个消火栓，{tested - len(failing)} 个通过，{len(failing)} 个不通过。",
                f"{tested} hydrants tested: {tested - len(failing)} pass, {len(failing)} fail.",
                value=len(failing),
            )
        )
    return out + _completeness(result, "消火栓", "hydrants")


def leak_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """Leak flow, lost volume and the pressure drop it causes."""
    network, node = _dict(result.get("network")), _dict(result.get("leak_node"))
    flow = _float(result.get("max_leak_flow_m3_s"))
    drop = _float(network.get("max_pressure_drop_m"))
    out = []
    if flow is not None:
        out.append(
            finding(
                "warning" if (drop or 0) >= 5 else "info",
                "leak",
                f"节点 {result.get('junction')} 的漏点最大漏水量 {fmt(flow * 1000, 1)} L/s，共损失 {fmt(result.get('lost_volume_m3'), 0)} m³；"
                f"漏点处压力平均从 {fmt(node.get('baseline_mean_pressure_m'))} m 降到 {fmt(node.get('leak_mean_pressure_m'))} m，"
                f"全网最大降幅 {fmt(drop)} m（节点 {network.get('max_drop_node')}）。",
                f"The leak at junction {result.get('junction')} peaks at {fmt(flow * 1000, 1)} L/s and loses "
                f"{fmt(result.get('lost_volume_m3'), 0)} m³; the largest pressure drop, {fmt(drop)} m, is at junction "
                f"{network.get('max_drop_node')}.",
                elements=[result.get("junction")],
                value=flow * 1000,
                unit="L/s",
                element_type="junction",
            )
        )
    affected = [
        j for j in _dicts(result.get("most_affected_junctions")) if (_float(j.get("mean_pressure_drop_m")) or 0) > 0.5
    ]
    if affected:
        out.append(
            finding(
                "info",
                "leak_affected",
                "压力受影响最大的节点："
                + "、".join(
                    f"{j.get('node')}（平均降 {fmt(j.get('mean_pressure_drop_m'))} m）" for j in affected[:MAX_LISTED]
                )
                + "。",
                "Most affected junctions: "
                + ", ".join(
                    f"{j.get('node')} (−{fmt(j.get('mean_pressure_drop_m'))} m on average)"
                    for j in affected[:MAX_LISTED]
                )
                + ".",
                elements=[j.get("node") for j in affected],
                element_type="junction",
            )
        )
    return out


def water_age_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """Junctions where water is old (stagnation, chlorine decay)."""
    limit = standards.max_water_age_h
    old = [j for j in _dicts(result.get("oldest_junctions")) if (_float(j.get("mean_age_h")) or 0) > limit]
    out = []
    if old:
        out.append(
            finding(
                "warning",
                "old_water",
                f"{len(old)} 个节点平均水龄超过 {fmt(limit)} h："
                + "、".join(f"{j.get('node')}（{fmt(j.get('mean_age_h'), 1)} h）" for j in old[:MAX_LISTED])
                + "。水龄过长会导致余氯衰减和水质投诉，可考虑冲洗或调整水池运行。",
                f"{len(old)} junction(s) have a mean water age above {fmt(limit)} h: "
                + ", ".join(f"{j.get('node')} ({fmt(j.get('mean_age_h'), 1)} h)" for j in old[:MAX_LISTED])
                + ". Old water loses chlorine and draws complaints: consider flushing or changing tank operation.",
                elements=[j.get("node") for j in old],
                value=old[0].get("mean_age_h"),
                unit="h",
                element_type="junction",
            )
        )
    mean = _float(result.get("mean_age_h"))
    if mean is not None:
        out.append(
            finding(
                "info",
                "mean_age",
                f"全网平均水龄 {fmt(mean, 1)} h，最大 {fmt(result.get('max_age_h'), 1)} h。",
                f"Network mean water age {fmt(mean, 1)} h, maximum {fmt(result.get('max_age_h'), 1)} h.",
                value=mean,
                unit="h",
            )
        )
    return out


def resilience_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """Todini index and service availability."""
    todini = _dict(result.get("todini"))
    wsa = _dict(result.get("water_service_availability"))
    out = []
    mean = _float(todini.get("mean"))
    low = _dict(todini.get("min"))
    if mean is not None:
        weak = mean < 0.3 or (_float(low.get("value")) or 1) < 0.1
        out.append(
            finding(
                "warning" if weak else "info",
                "todini",
                f"Todini 韧性指数平均 {fmt(mean)}，最低 {fmt(low.get('value'))}（{when(low.get('time_h'), True)}）；"
                + ("富余水头偏少，管网对故障的承受力弱。" if weak else "有一定富余水头。"),
                f"Todini resilience index {fmt(mean)} on average, lowest {fmt(low.get('value'))} at {when(low.get('time_h'), False)}; "
                + ("little surplus head: the network copes poorly with failures." if weak else "some surplus head."),
                value=mean,
                time_h=low.get("time_h"),
            )
        )
    network = _float(wsa.get("network"))
    if network is not None and network < 0.99:
        out.append(
            finding(
                "warning",
                "service_availability",
                f"供水可用率 {fmt(network * 100, 1)}%，{wsa.get('junctions_below_full_service')} 个节点未获得全部水量。",
                f"Water service availability {fmt(network * 100, 1)}%: "
                f"{wsa.get('junctions_below_full_service')} junction(s) do not get their full demand.",
                value=network * 100,
                unit="%",
            )
        )
    return out


def topology_findings(result: dict[str, Any], standards: Standards = NATIONAL) -> list[Finding]:
    """Disconnected parts, bridges and dead ends."""
    out = []
    components = result.get("connected_components")
    if isinstance(components, int) and components > 1:
        out.append(
            finding(
                "critical",
                "disconnected",
                f"管网分成 {components} 个互不连通的部分。",
                f"The network falls apart into {components} disconnected parts.",
                value=components,
            )
        )
    bridges = [b.get("link") for b in _dicts(result.get("bridges")) if b.get("type") == "Pipe"]
    if bridges:
        out.append(
            finding(
                "warning",
                "bridges",
                f"{len(bridges)} 条管段是单一通道（断开即分割管网），如 {_names(bridges[:MAX_LISTED])}。",
                f"{len(bridges)} pipes are single paths (closing one splits the network), e.g. "
                f"{', '.join(map(str, bridges[:MAX_LISTED]))}.",
                elements=bridges,
                element_type="pipe",
            )
        )
    dead = [d.get("node") for d in _dicts(result.get("dead_ends")) if d.get("type") == "Junction"]
    if dead:
        out.append(
            finding(
                "info",
                "dead_ends",
                f"{len(dead)} 个枝状末端节点（水龄和水质需关注），如 {_names(dead[:MAX_LISTED])}。",
                f"{len(dead)} dead-end junctions (watch water age), e.g. {', '.join(map(str, dead[:MAX_LISTED]))}.",
                elements=dead,
                element_type="junction",
            )
        )
    return out


def _completeness(result: dict[str, Any], what_zh: str, what_en: str) -> list[Finding]:
    out = []
    if result.get("complete") is False:
        out.append(
            finding(
                "warning",
                "incomplete",
                f"分析在时间限制内提前结束：只分析了 {result.get('analysed')} 个{what_zh}，结果不完整。",
                f"The analysis stopped at its time limit after {result.get('analysed')} {what_en}: "
                "the result is partial.",
            )
        )
    failed = _list(result.get("failed"))
    if failed:
        names = [str(f.get("name") if isinstance(f, dict) else f) for f in failed]
        out.append(
            finding(
                "warning",
                "failed_cases",
                f"{len(failed)} 个{what_zh}的计算未收敛：{_names(names[:MAX_LISTED])}。",
                f"{len(failed)} {what_en} did not converge: {', '.join(names[:MAX_LISTED])}.",
                elements=names,
            )
        )
    return out


def _threshold(*candidates: Any) -> float:
    """The first candidate that is a finite number (the last is always the design default)."""
    for value in candidates:
        number = _float(value)
        if number is not None:
            return number
    return NATIONAL.service_head_m


_READERS: dict[str, Callable[[dict[str, Any], Standards], list[Finding]]] = {
    "hydraulic": hydraulic_findings,
    "what_if": what_if_findings,
    "pipe_criticality": criticality_findings,
    "fire_flow": fire_flow_findings,
    "leak_scenario": leak_findings,
    "water_age": water_age_findings,
    "resilience": resilience_findings,
    "topology": topology_findings,
}


# -- what next ----------------------------------------------------------------------------------


def next_steps(kind: str, items: list[Finding], standards: Standards = NATIONAL) -> list[dict[str, str]]:
    """What an engineer would run next, given this analysis and its findings (zh and en).

    The fire-flow test it suggests names the design fire flow and residual pressure of ``standards``.
    """
    flow, residual = fmt(standards.fire_flow_l_s, 1), fmt(standards.fire_residual_pressure_m)
    codes = {f["code"] for f in items}
    worst = next((f["elements"][0] for f in items if f["code"] == "negative_pressure" and f["elements"]), None)
    steps = []
    if worst:
        steps.append(
            {
                "zh": f"做管段关键性分析，找出哪些管段一旦断开会让节点 {worst} 一带进一步失压；并查看节点 {worst} 的压力时间曲线。",
                "en": f"Run pipe criticality to find the pipes whose loss would worsen junction {worst}'s area, "
                f"and look at junction {worst}'s pressure over time.",
            }
        )
    if kind == "hydraulic":
        steps.append(
            {
                "zh": f"做消防流量校核，确认低压区的消火栓能否以余压 ≥ {residual} m 供出 {flow} L/s 消防流量。",
                "en": f"Run a fire-flow test to see whether hydrants in the low-pressure area deliver {flow} L/s "
                f"at ≥ {residual} m residual.",
            }
        )
        steps.append(
            {
                "zh": "用“假设分析”把需水量乘以 1.2–1.5 倍，检验高峰增长后的压力余量。",
                "en": "Run a what-if with demand × 1.2–1.5 to check the pressure margin as demand grows.",
            }
        )
    if "high_velocity" in codes:
        steps.append(
            {
                "zh": "对流速最高的管段做假设分析（关闭或并联），比较全网压力变化。",
                "en": "Run a what-if on the fastest pipe (closed, or relieved by a parallel main) and compare pressures.",
            }
        )
    if kind == "pipe_criticality" and "critical_pipe" in codes:
        steps.append(
            {
                "zh": "对排名靠前的管段做假设分析（关闭该管段），查看受影响区域和持续时间。",
                "en": "Run a what-if closing the top-ranked pipe to see the affected area and for how long.",
            }
        )
    if kind == "fire_flow" and "hydrant_fails" in codes:
        steps.append(
            {
                "zh": "对不通过的消火栓附近管段做假设分析（扩径或增加连通），再复核消防流量。",
                "en": "Try a what-if on the mains near failing hydrants (upsizing or looping), then re-test the fire flow.",
            }
        )
    if kind in ("water_age", "topology"):
        steps.append(
            {
                "zh": "对枝状末端和水龄高的节点安排冲洗计划，并复核水池的进出水运行。",
                "en": "Plan flushing at dead ends and old-water junctions, and review tank fill-and-draw.",
            }
        )
    if not steps:
        steps.append(
            {
                "zh": "做水力模拟，查看压力、流速和水池水位随时间的变化。",
                "en": "Run a hydraulic simulation to see pressures, velocities and tank levels over time.",
            }
        )
    return steps
