"""An analysis result as key figures and element tables: what the browser views, the XLSX export and
the printed report show.

Pure functions of a result dict (no Flask, no database), read defensively. Tables come sorted
worst first; every column has a zh and an en label and its unit, so each consumer writes headers
the same way. A KPI: ``{key, label: {zh, en}, value, unit, detail: {zh, en} | None, severity}``.
A table: ``{key, title: {zh, en}, columns: [{key, label: {zh, en}, unit, type}], rows: [...]}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hydronet.water.findings import fmt, standards_of, when
from hydronet.water.standards import FIELDS

Table = dict[str, Any]
Kpi = dict[str, Any]

KIND_TITLES = {
    "summary": ("管网概况", "Network overview"),
    "hydraulic": ("水力模拟", "Hydraulic simulation"),
    "timeseries": ("时间序列", "Time series"),
    "water_age": ("水龄分析", "Water age"),
    "resilience": ("韧性评估", "Resilience"),
    "topology": ("拓扑分析", "Topology"),
    "pipe_criticality": ("管段关键性", "Pipe criticality"),
    "fire_flow": ("消防流量校核", "Fire flow"),
    "leak_scenario": ("漏损情景", "Leak scenario"),
    "what_if": ("假设分析", "What-if scenario"),
}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def col(
    key: str, zh: str, en: str, unit: str | None = None, kind: str = "number", flag: bool | None = None
) -> dict[str, Any]:
    """A table column; ``flag``: the boolean value that marks a problem (shown in red)."""
    if kind == "bool" and flag is None:
        flag = True
    return {"key": key, "label": {"zh": zh, "en": en}, "unit": unit, "type": kind, "flag": flag}


def table(key: str, zh: str, en: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> Table:
    """A table (rows keep only the columns' keys)."""
    keys = [c["key"] for c in columns]
    return {
        "key": key,
        "title": {"zh": zh, "en": en},
        "columns": columns,
        "rows": [{k: row.get(k) for k in keys} for row in rows],
    }


def kpi(
    key: str,
    zh: str,
    en: str,
    value: Any,
    unit: str | None = None,
    detail: tuple[str, str] | None = None,
    severity: str | None = None,
) -> Kpi:
    """A key figure, with an optional where/when line."""
    return {
        "key": key,
        "label": {"zh": zh, "en": en},
        "value": value,
        "unit": unit,
        "detail": {"zh": detail[0], "en": detail[1]} if detail else None,
        "severity": severity,
    }


def _where(element_zh: str, element_en: str, name: Any, time_h: Any) -> tuple[str, str]:
    zh = f"{element_zh} {name}" + (f" · {when(time_h, True)}" if _num(time_h) is not None else "")
    en = f"{element_en} {name}" + (f" · {when(time_h, False)}" if _num(time_h) is not None else "")
    return zh, en


def _sorted(rows: list[dict[str, Any]], key: str, worst_low: bool) -> list[dict[str, Any]]:
    """Rows by ``key``, worst first; missing values last."""
    present = [r for r in rows if _num(r.get(key)) is not None]
    missing = [r for r in rows if _num(r.get(key)) is None]
    return sorted(present, key=lambda r: r[key], reverse=not worst_low) + missing


# -- per analysis -------------------------------------------------------------------------------


def hydraulic_kpis(result: dict[str, Any]) -> list[Kpi]:
    low, high = _dict(result.get("min_pressure")), _dict(result.get("max_pressure"))
    fastest, demand = _dict(result.get("max_velocity")), _dict(result.get("demand"))
    lp = _dict(result.get("low_pressure"))
    low_value = _num(low.get("pressure_m"))
    served = _num(demand.get("served_fraction"))
    return [
        kpi(
            "min_pressure",
            "最低压力",
            "Lowest pressure",
            low_value,
            "m",
            _where("节点", "junction", low.get("node"), low.get("time_h")),
            "critical" if low_value is not None and low_value < 0 else None,
        ),
        kpi(
            "low_pressure",
            "低压节点",
            "Low-pressure junctions",
            lp.get("junction_count"),
            None,
            (f"< {fmt(lp.get('threshold_m'))} m", f"< {fmt(lp.get('threshold_m'))} m"),
            "warning" if (lp.get("junction_count") or 0) > 0 else None,
        ),
        kpi("mean_pressure", "平均压力", "Mean pressure", _num(result.get("mean_pressure_m")), "m"),
        kpi(
            "max_pressure",
            "最高压力",
            "Highest pressure",
            _num(high.get("pressure_m")),
            "m",
            _where("节点", "junction", high.get("node"), high.get("time_h")),
        ),
        kpi(
            "max_velocity",
            "最大流速",
            "Highest velocity",
            _num(fastest.get("velocity_m_s")),
            "m/s",
            _where("管段", "pipe", fastest.get("pipe"), fastest.get("time_h")),
            "warning" if (_num(fastest.get("velocity_m_s")) or 0) >= standards_of(result).max_velocity_m_s else None,
        ),
        kpi("served", "供水满足率", "Demand served", None if served is None else round(served * 100, 2), "%"),
    ]


def _tank_table(tanks: Any) -> Table:
    rows = [
        {**t, "headroom_m": (_num(t.get("min_level_m")) or 0) - (_num(t.get("allowed_min_level_m")) or 0)}
        for t in _dicts(tanks)
    ]
    return table(
        "tanks",
        "水池水位",
        "Tank levels",
        [
            col("tank", "水池", "Tank", kind="text"),
            col("initial_level_m", "初始水位", "Initial level", "m"),
            col("min_level_m", "最低水位", "Lowest level", "m"),
            col("max_level_m", "最高水位", "Highest level", "m"),
            col("final_level_m", "期末水位", "Final level", "m"),
            col("allowed_min_level_m", "允许最低", "Allowed minimum", "m"),
            col("allowed_max_level_m", "允许最高", "Allowed maximum", "m"),
            col("emptied", "放空", "Emptied", kind="bool"),
            col("filled", "蓄满", "Filled", kind="bool"),
        ],
        _sorted(rows, "headroom_m", worst_low=True),
    )


def hydraulic_tables(result: dict[str, Any]) -> list[Table]:
    threshold = _num(_dict(result.get("low_pressure")).get("threshold_m")) or standards_of(result).service_head_m
    times = {j.get("node"): j.get("time_h") for j in _dicts(_dict(result.get("low_pressure")).get("junctions"))}
    pressures = [
        {
            "node": name,
            "min_pressure_m": value,
            "below": (_num(value) is not None and value < threshold),
            "time_h": times.get(name),
        }
        for name, value in _dict(result.get("node_min_pressure_m")).items()
    ]
    if not pressures:
        pressures = [{**j, "below": True} for j in _dicts(_dict(result.get("low_pressure")).get("junctions"))]
    velocities = [
        {"pipe": name, "max_velocity_m_s": value} for name, value in _dict(result.get("link_max_velocity_m_s")).items()
    ]
    return [
        table(
            "junction_pressure",
            "节点最低压力",
            "Junction minimum pressure",
            [
                col("node", "节点", "Junction", kind="text"),
                col("min_pressure_m", "最低压力", "Minimum pressure", "m"),
                col("time_h", "出现时刻", "At", "h"),
                col("below", f"低于 {fmt(threshold)} m", f"Below {fmt(threshold)} m", kind="bool"),
            ],
            _sorted(pressures, "min_pressure_m", worst_low=True),
        ),
        _tank_table(result.get("tanks")),
        table(
            "pipe_velocity",
            "管段最大流速",
            "Pipe maximum velocity",
            [
                col("pipe", "管段", "Pipe", kind="text"),
                col("max_velocity_m_s", "最大流速", "Maximum velocity", "m/s"),
            ],
            _sorted(velocities, "max_velocity_m_s", worst_low=False),
        ),
    ]


def what_if_kpis(result: dict[str, Any]) -> list[Kpi]:
    base, scenario, diff = (_dict(result.get(k)) for k in ("baseline", "scenario", "difference"))
    s_low = _dict(scenario.get("min_pressure"))
    return [
        kpi(
            "scenario_min_pressure",
            "方案最低压力",
            "Scenario lowest pressure",
            _num(s_low.get("pressure_m")),
            "m",
            _where("节点", "junction", s_low.get("node"), s_low.get("time_h")),
            "critical" if (_num(s_low.get("pressure_m")) or 0) < 0 else None,
        ),
        kpi(
            "baseline_min_pressure",
            "现状最低压力",
            "Baseline lowest pressure",
            _num(_dict(base.get("min_pressure")).get("pressure_m")),
            "m",
        ),
        kpi(
            "min_pressure_change",
            "最低压力变化",
            "Change in lowest pressure",
            _num(diff.get("min_pressure_m")),
            "m",
            severity="warning" if (_num(diff.get("min_pressure_m")) or 0) < 0 else None,
        ),
        kpi("mean_pressure_change", "平均压力变化", "Change in mean pressure", _num(diff.get("mean_pressure_m")), "m"),
        kpi("below_change", "低压节点变化", "Change in low-pressure junctions", diff.get("junctions_below_threshold")),
    ]


_COMPARED = (
    ("min_pressure_m", "最低压力", "Lowest pressure", "m", lambda d: _dict(d.get("min_pressure")).get("pressure_m")),
    ("mean_pressure_m", "平均压力", "Mean pressure", "m", lambda d: d.get("mean_pressure_m")),
    ("max_pressure_m", "最高压力", "Highest pressure", "m", lambda d: _dict(d.get("max_pressure")).get("pressure_m")),
    (
        "junctions_below_threshold",
        "低压节点数",
        "Low-pressure junctions",
        None,
        lambda d: _dict(d.get("low_pressure")).get("junction_count"),
    ),
    (
        "max_velocity_m_s",
        "最大流速",
        "Highest velocity",
        "m/s",
        lambda d: _dict(d.get("max_velocity")).get("velocity_m_s"),
    ),
    ("served_fraction", "供水满足率", "Demand served", None, lambda d: _dict(d.get("demand")).get("served_fraction")),
)


def _pressure_change_table(result: dict[str, Any]) -> Table:
    """Each junction's minimum pressure with and without the change, largest drop first."""
    return table(
        "pressure_change",
        "各节点压力变化",
        "Pressure change by junction",
        [
            col("node", "节点", "Junction", kind="text"),
            col("baseline_m", "现状最低压力", "Baseline minimum", "m"),
            col("scenario_m", "方案最低压力", "Scenario minimum", "m"),
            col("change_m", "变化（方案 − 现状）", "Change (scenario − baseline)", "m"),
        ],
        _sorted(_dicts(result.get("pressure_change")), "change_m", worst_low=True),
    )


def what_if_tables(result: dict[str, Any]) -> list[Table]:
    base, scenario, diff = (_dict(result.get(k)) for k in ("baseline", "scenario", "difference"))
    rows = []
    for key, zh, en, unit, read in _COMPARED:
        b, s = _num(read(base)), _num(read(scenario))
        change = _num(diff.get(key))
        if change is None and b is not None and s is not None:
            change = s - b
        rows.append(
            {"indicator": f"{zh} / {en}", "unit": unit or "", "baseline": b, "scenario": s, "difference": change}
        )
    low = [{**j, "below": True} for j in _dicts(_dict(scenario.get("low_pressure")).get("junctions"))]
    return [
        table(
            "comparison",
            "现状与方案对比",
            "Baseline and scenario",
            [
                col("indicator", "指标", "Indicator", kind="text"),
                col("unit", "单位", "Unit", kind="text"),
                col("baseline", "现状", "Baseline"),
                col("scenario", "方案", "Scenario"),
                col("difference", "差值", "Difference"),
            ],
            rows,
        ),
        table(
            "scenario_low_pressure",
            "方案低压节点",
            "Scenario low-pressure junctions",
            [
                col("node", "节点", "Junction", kind="text"),
                col("min_pressure_m", "最低压力", "Minimum pressure", "m"),
                col("time_h", "出现时刻", "At", "h"),
            ],
            _sorted(low, "min_pressure_m", worst_low=True),
        ),
        _pressure_change_table(result),
        _tank_table(scenario.get("tanks")),
    ]


def criticality_kpis(result: dict[str, Any]) -> list[Kpi]:
    ranking = _dicts(result.get("ranking"))
    top = ranking[0] if ranking else {}
    return [
        kpi("analysed", "已分析管段", "Pipes analysed", result.get("analysed")),
        kpi(
            "critical",
            "关键管段",
            "Critical pipes",
            result.get("critical_pipe_count"),
            severity="warning" if (result.get("critical_pipe_count") or 0) > 0 else None,
        ),
        kpi(
            "top_impact",
            "最大影响节点数",
            "Most junctions impacted",
            top.get("junctions_impacted"),
            None,
            (f"管段 {top.get('pipe')}", f"pipe {top.get('pipe')}") if top else None,
        ),
        kpi(
            "baseline_below",
            "现状低压节点",
            "Low-pressure junctions already",
            result.get("baseline_junctions_below_threshold"),
        ),
    ]


def criticality_tables(result: dict[str, Any]) -> list[Table]:
    rows = [
        {
            **r,
            "diameter_mm": (_num(r.get("diameter_m")) or 0) * 1000,
            "served_pct": None if _num(r.get("demand_served_fraction")) is None else r["demand_served_fraction"] * 100,
        }
        for r in _dicts(result.get("ranking"))
    ]
    return [
        table(
            "ranking",
            "管段关键性排名",
            "Pipe criticality ranking",
            [
                col("pipe", "管段", "Pipe", kind="text"),
                col("diameter_mm", "管径", "Diameter", "mm"),
                col("length_m", "长度", "Length", "m"),
                col("junctions_impacted", "受影响节点", "Junctions impacted"),
                col("population_impacted", "受影响人口", "Population impacted"),
                col("worst_node", "最不利节点", "Worst junction", kind="text"),
                col("worst_pressure_m", "最不利压力", "Worst pressure", "m"),
                col("served_pct", "供水满足率", "Demand served", "%"),
            ],
            sorted(rows, key=lambda r: (-(r.get("junctions_impacted") or 0), -(r.get("population_impacted") or 0))),
        )
    ]


def fire_flow_kpis(result: dict[str, Any]) -> list[Kpi]:
    settings = _dict(result.get("settings"))
    ranking = _dicts(result.get("ranking"))
    failing = result.get("hydrants_failing")
    return [
        kpi("tested", "已测试消火栓", "Hydrants tested", result.get("analysed", len(ranking))),
        kpi("failing", "不通过", "Failing", failing, severity="critical" if (failing or 0) > 0 else None),
        kpi(
            "fire_flow", "消防流量", "Fire flow", round((_num(settings.get("fire_demand_m3_s")) or 0) * 1000, 2), "L/s"
        ),
        kpi("residual", "要求余压", "Required residual", _num(settings.get("pressure_threshold_m")), "m"),
    ]


def fire_flow_tables(result: dict[str, Any]) -> list[Table]:
    rows = [
        {
            **r,
            "served_pct": None
            if _num(r.get("fire_flow_served_fraction")) is None
            else r["fire_flow_served_fraction"] * 100,
        }
        for r in _dicts(result.get("ranking"))
    ]
    return [
        table(
            "hydrants",
            "消火栓校核结果",
            "Hydrant results",
            [
                col("hydrant", "消火栓节点", "Hydrant", kind="text"),
                col("passes", "通过", "Passes", kind="bool", flag=False),
                col("hydrant_min_pressure_m", "余压", "Residual pressure", "m"),
                col("served_pct", "消防水量满足率", "Fire flow served", "%"),
                col("junctions_impacted", "受影响节点", "Junctions impacted"),
                col("worst_node", "最不利节点", "Worst junction", kind="text"),
                col("worst_pressure_m", "最不利压力", "Worst pressure", "m"),
            ],
            sorted(rows, key=lambda r: (bool(r.get("passes")), _num(r.get("hydrant_min_pressure_m")) or 0)),
        )
    ]


def leak_kpis(result: dict[str, Any]) -> list[Kpi]:
    network, node = _dict(result.get("network")), _dict(result.get("leak_node"))
    return [
        kpi(
            "leak_flow",
            "最大漏水量",
            "Peak leak flow",
            round((_num(result.get("max_leak_flow_m3_s")) or 0) * 1000, 2),
            "L/s",
            (f"节点 {result.get('junction')}", f"junction {result.get('junction')}"),
        ),
        kpi("lost_volume", "漏失水量", "Volume lost", _num(result.get("lost_volume_m3")), "m³"),
        kpi(
            "max_drop",
            "最大压降",
            "Largest pressure drop",
            _num(network.get("max_pressure_drop_m")),
            "m",
            (f"节点 {network.get('max_drop_node')}", f"junction {network.get('max_drop_node')}"),
            "warning" if (_num(network.get("max_pressure_drop_m")) or 0) >= 5 else None,
        ),
        kpi(
            "leak_node_pressure",
            "漏点平均压力",
            "Leak junction mean pressure",
            _num(node.get("leak_mean_pressure_m")),
            "m",
            (
                f"无漏损时 {fmt(node.get('baseline_mean_pressure_m'))} m",
                f"{fmt(node.get('baseline_mean_pressure_m'))} m without the leak",
            ),
        ),
    ]


def leak_tables(result: dict[str, Any]) -> list[Table]:
    series = [
        {"time_h": p.get("time_h"), "flow_l_s": None if _num(p.get("flow_m3_s")) is None else p["flow_m3_s"] * 1000}
        for p in _dicts(result.get("leak_flow_series"))
    ]
    return [
        table(
            "affected",
            "压力受影响节点",
            "Junctions affected",
            [
                col("node", "节点", "Junction", kind="text"),
                col("mean_pressure_drop_m", "平均压降", "Mean pressure drop", "m"),
            ],
            _sorted(_dicts(result.get("most_affected_junctions")), "mean_pressure_drop_m", worst_low=False),
        ),
        _pressure_change_table(result),
        table(
            "leak_flow",
            "漏水量过程",
            "Leak flow over time",
            [
                col("time_h", "时刻", "Time", "h"),
                col("flow_l_s", "漏水量", "Leak flow", "L/s"),
            ],
            series,
        ),
    ]


def water_age_kpis(result: dict[str, Any]) -> list[Kpi]:
    oldest = _dicts(result.get("oldest_junctions"))
    return [
        kpi("mean_age", "平均水龄", "Mean water age", _num(result.get("mean_age_h")), "h"),
        kpi(
            "weighted_age", "按水量加权水龄", "Demand-weighted age", _num(result.get("demand_weighted_mean_age_h")), "h"
        ),
        kpi(
            "max_age",
            "最大水龄",
            "Oldest water",
            _num(result.get("max_age_h")),
            "h",
            (f"节点 {oldest[0].get('node')}", f"junction {oldest[0].get('node')}") if oldest else None,
            "warning" if (_num(result.get("max_age_h")) or 0) > standards_of(result).max_water_age_h else None,
        ),
    ]


def water_age_tables(result: dict[str, Any]) -> list[Table]:
    rows = [{"node": n, "mean_age_h": v} for n, v in _dict(result.get("node_mean_age_h")).items()]
    if not rows:
        rows = _dicts(result.get("oldest_junctions"))
    return [
        table(
            "junction_age",
            "节点平均水龄",
            "Junction mean water age",
            [
                col("node", "节点", "Junction", kind="text"),
                col("mean_age_h", "平均水龄", "Mean age", "h"),
            ],
            _sorted(rows, "mean_age_h", worst_low=False),
        )
    ]


def resilience_kpis(result: dict[str, Any]) -> list[Kpi]:
    todini, wsa, energy = (_dict(result.get(k)) for k in ("todini", "water_service_availability", "pump_energy"))
    return [
        kpi("todini_mean", "Todini 指数（平均）", "Todini index (mean)", _num(todini.get("mean"))),
        kpi(
            "todini_min",
            "Todini 指数（最低）",
            "Todini index (lowest)",
            _num(_dict(todini.get("min")).get("value")),
            None,
            (when(_dict(todini.get("min")).get("time_h"), True), when(_dict(todini.get("min")).get("time_h"), False)),
        ),
        kpi(
            "wsa",
            "供水可用率",
            "Service availability",
            None if _num(wsa.get("network")) is None else round(wsa["network"] * 100, 2),
            "%",
        ),
        kpi("energy", "水泵能耗", "Pump energy", _num(energy.get("total_kwh")), "kWh"),
    ]


def resilience_tables(result: dict[str, Any]) -> list[Table]:
    wsa, energy = _dict(result.get("water_service_availability")), _dict(result.get("pump_energy"))
    return [
        table(
            "pumps",
            "水泵能耗",
            "Pump energy",
            [
                col("pump", "水泵", "Pump", kind="text"),
                col("energy_kwh", "能耗", "Energy", "kWh"),
                col("mean_power_kw", "平均功率", "Mean power", "kW"),
                col("max_power_kw", "最大功率", "Peak power", "kW"),
                col("hours_running", "运行时长", "Hours running", "h"),
            ],
            _sorted(_dicts(energy.get("pumps")), "energy_kwh", worst_low=False),
        ),
        table(
            "service",
            "节点供水可用率",
            "Junction service availability",
            [
                col("node", "节点", "Junction", kind="text"),
                col("wsa", "可用率", "Availability"),
            ],
            _sorted(_dicts(wsa.get("worst_junctions")), "wsa", worst_low=True),
        ),
    ]


def topology_kpis(result: dict[str, Any]) -> list[Kpi]:
    return [
        kpi(
            "components",
            "连通分区",
            "Connected parts",
            result.get("connected_components"),
            severity="critical" if (result.get("connected_components") or 1) > 1 else None,
        ),
        kpi("loops", "独立环数", "Independent loops", result.get("independent_loops")),
        kpi("meshedness", "成环度", "Meshedness", _num(result.get("meshedness"))),
        kpi("bridges", "单一通道", "Bridges", len(_dicts(result.get("bridges")))),
        kpi("dead_ends", "枝状末端", "Dead ends", len(_dicts(result.get("dead_ends")))),
        kpi("articulation", "关键节点", "Articulation points", len(_dicts(result.get("articulation_points")))),
    ]


def topology_tables(result: dict[str, Any]) -> list[Table]:
    element = [col("name", "名称", "Name", kind="text"), col("type", "类型", "Type", kind="text")]
    return [
        table(
            "bridges",
            "单一通道（桥）",
            "Bridges",
            element,
            [{"name": b.get("link"), "type": b.get("type")} for b in _dicts(result.get("bridges"))],
        ),
        table(
            "dead_ends",
            "枝状末端",
            "Dead ends",
            element,
            [{"name": d.get("node"), "type": d.get("type")} for d in _dicts(result.get("dead_ends"))],
        ),
        table(
            "articulation_points",
            "关键节点",
            "Articulation points",
            element,
            [{"name": d.get("node"), "type": d.get("type")} for d in _dicts(result.get("articulation_points"))],
        ),
    ]


_KPIS: dict[str, Callable[[dict[str, Any]], list[Kpi]]] = {
    "hydraulic": hydraulic_kpis,
    "what_if": what_if_kpis,
    "pipe_criticality": criticality_kpis,
    "fire_flow": fire_flow_kpis,
    "leak_scenario": leak_kpis,
    "water_age": water_age_kpis,
    "resilience": resilience_kpis,
    "topology": topology_kpis,
}
_TABLES: dict[str, Callable[[dict[str, Any]], list[Table]]] = {
    "hydraulic": hydraulic_tables,
    "what_if": what_if_tables,
    "pipe_criticality": criticality_tables,
    "fire_flow": fire_flow_tables,
    "leak_scenario": leak_tables,
    "water_age": water_age_tables,
    "resilience": resilience_tables,
    "topology": topology_tables,
}


def kpis(kind: str, result: Any) -> list[Kpi]:
    """The key figures of a result."""
    reader = _KPIS.get(kind)
    return reader(_dict(result)) if reader else []


def tables(kind: str, result: Any) -> list[Table]:
    """The element tables of a result, each sorted worst first; a key/value table for other kinds."""
    reader = _TABLES.get(kind)
    if reader:
        return [
            t for t in reader(_dict(result)) if t["rows"] or t["key"] in ("junction_pressure", "ranking", "hydrants")
        ]
    scalars = [
        {"name": key, "value": value}
        for key, value in _dict(result).items()
        if value is None or isinstance(value, (str, int, float, bool))
    ]
    return (
        [
            table(
                "values",
                "结果",
                "Values",
                [col("name", "项目", "Item", kind="text"), col("value", "数值", "Value", kind="text")],
                scalars,
            )
        ]
        if scalars
        else []
    )


SETTING_LABELS = {
    "duration_h": ("模拟时长", "Simulated period", "h"),
    "demand_model": ("需水量模型", "Demand model", None),
    "required_pressure_m": ("足额供水压力", "Pressure for full demand", "m"),
    "minimum_pressure_m": ("零供水压力", "Pressure for zero demand", "m"),
    "pressure_threshold_m": ("服务压力下限", "Service pressure", "m"),
    "quality": ("水质计算", "Water quality", None),
    "engine": ("求解器", "Solver", None),
    "min_diameter_m": ("最小管径", "Minimum diameter", "m"),
    "fire_demand_m3_s": ("消防流量", "Fire flow", "m³/s"),
    "fire_duration_h": ("火灾延续时间", "Fire duration", "h"),
    "fire_start_h": ("起火时刻", "Fire start", "h"),
    "fire_residual_pressure_m": ("消火栓最低余压", "Hydrant residual pressure", "m"),
    "hydrant_normal_pressure_m": ("消火栓平时最低压力", "Hydrant normal pressure", "m"),
    "demand_multiplier": ("需水量倍数", "Demand multiplier", None),
    "area_m2": ("孔口面积", "Opening area", "m²"),
    "discharge_coeff": ("流量系数", "Discharge coefficient", None),
    "max_diameter_m": ("最大管径", "Maximum diameter", "m"),
    "closure_start_h": ("关闭时刻", "Closure start", "h"),
    "kind": ("类型", "Kind", None),
    "method": ("方法", "Method", None),
    "pressure_change": ("压力变化", "Pressure change", None),
}
_HIDDEN_SETTINGS = ("duration_s",)


def settings_rows(result: Any) -> list[dict[str, Any]]:
    """The run settings as ``{name, value, source, origin}`` rows; sources when the analysis reports them.

    Accepts ``settings: {name: value, sources: {name: source}}``, ``settings: {name: {value, source}}`` and
    the analyses' ``settings.defaults: {name: {value, origin, source, basis?}}`` (the standard's clause, the
    tenant's setting or the request).
    """
    settings = _dict(_dict(result).get("settings"))
    sources = _dict(settings.get("sources"))
    defaults = _dict(settings.get("defaults"))
    rows = []
    for name, value in settings.items():
        if name in ("sources", "defaults", "standards") or name in _HIDDEN_SETTINGS:
            continue
        source, origin, basis = sources.get(name), None, None
        used = _dict(defaults.get(name))
        if used:
            source, origin, basis = used.get("source"), used.get("origin"), used.get("basis")
        if isinstance(value, dict) and "value" in value:
            source = value.get("source", source)
            value = value.get("value")
        if isinstance(value, (dict, list)):
            value = str(value)
        rows.append(_setting_row(name, SETTING_LABELS.get(name, (name, name, None)), value, source, origin, basis))
    for name, used in defaults.items():  # defaults that are no run setting: the findings' flagging limits
        field = FIELDS.get(name)
        if name not in settings and field is not None and isinstance(used, dict):
            labels = (field.zh, field.en, field.unit)
            rows.append(
                _setting_row(name, labels, used.get("value"), used.get("source"), used.get("origin"), used.get("basis"))
            )
    return rows


def _setting_row(
    name: str, labels: tuple[str, str, str | None], value: Any, source: Any, origin: Any, basis: Any
) -> dict[str, Any]:
    zh, en, unit = labels
    return {
        "name": name,
        "label": {"zh": zh, "en": en},
        "unit": unit,
        "value": value,
        "source": source,
        "origin": origin,
        "basis": basis,
    }
