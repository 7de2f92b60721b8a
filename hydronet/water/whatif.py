"""What-if scenarios: closed pipes, scaled demand, forced pumps and tank levels vs the baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.errors import AnalysisInputError
from hydronet.water.hydraulics import indicators, pressure_change
from hydronet.water.jsonify import num
from hydronet.water.scenarios import force_link_status, scenario_copy
from hydronet.water.simulation import make_settings, prepare, run
from hydronet.water.standards import NATIONAL

PUMP_STATES = ("OPEN", "CLOSED")


def what_if(
    wn: WaterNetworkModel,
    close_pipes: list[str] | None = None,
    demand_multiplier: float = 1.0,
    pump_status: Mapping[str, str] | None = None,
    tank_init_level_m: Mapping[str, float] | None = None,
    duration_h: float | None = None,
    demand_model: str = "PDD",
    pressure_threshold_m: float = NATIONAL.service_head_m,
    required_pressure_m: float = NATIONAL.service_head_m,
    top_n: int = 10,
) -> dict[str, Any]:
    """Key indicators of the baseline and the modified network, and scenario − baseline differences."""
    settings = make_settings(wn, duration_h, demand_model, required_pressure_m, quality="NONE")
    base_model = prepare(wn, settings)
    model = scenario_copy(base_model)
    changes = _apply(model, close_pipes or [], demand_multiplier, pump_status or {}, tank_init_level_m or {})
    if not changes:
        raise AnalysisInputError(
            "no change requested: give close_pipes, demand_multiplier, pump_status or tank_init_level_m"
        )
    base_sim, scenario_sim = run(base_model, settings), run(model, settings)
    baseline = {**indicators(base_model, base_sim, pressure_threshold_m, top_n), "warnings": base_sim.warnings}
    scenario = {**indicators(model, scenario_sim, pressure_threshold_m, top_n), "warnings": scenario_sim.warnings}
    change = pressure_change(base_sim.junction_frame("pressure"), scenario_sim.junction_frame("pressure"))
    return {
        "settings": {
            **settings.as_dict(),
            "pressure_threshold_m": pressure_threshold_m,
            "method": "the baseline and the modified network are each solved for the whole run; closed pipes and "
            "forced pumps keep their state throughout (controls acting on them are removed)",
            "defaults": NATIONAL.used(
                {"pressure_threshold_m": pressure_threshold_m, "required_pressure_m": settings.required_pressure_m}
            ),
            "pressure_change": "each junction's minimum pressure over the run, scenario − baseline",
        },
        "warnings": scenario_sim.warnings,
        "changes": changes,
        "baseline": baseline,
        "scenario": scenario,
        "difference": _difference(baseline, scenario),
        "pressure_change": change,
        "node_pressure_change_m": {row["node"]: row["change_m"] for row in change},
    }


def _apply(
    model: WaterNetworkModel,
    close_pipes: list[str],
    multiplier: float,
    pump_status: Mapping[str, str],
    tank_levels: Mapping[str, float],
) -> list[str]:
    """Modify ``model`` in place; return a readable list of the changes made."""
    changes = []
    for pipe in checks.elements(model, close_pipes, "pipe"):
        force_link_status(model, pipe, "CLOSED")
        changes.append(f"pipe {pipe} closed")
    factor = checks.number("demand_multiplier", multiplier, 0, 10)
    if factor != 1.0:
        model.options.hydraulic.demand_multiplier *= factor
        changes.append(f"demands × {factor:g}")
    for pump, status in pump_status.items():
        checks.element(model, pump, "pump")
        state = checks.choice(f"pump_status[{pump}]", status, PUMP_STATES)
        force_link_status(model, pump, state)
        changes.append(f"pump {pump} forced {state}")
    for tank_name, level in tank_levels.items():
        tank = model.get_node(checks.element(model, tank_name, "tank"))
        tank.init_level = checks.number(f"tank_init_level_m[{tank_name}]", level, tank.min_level, tank.max_level)
        changes.append(f"tank {tank_name} starts at {tank.init_level:g} m")
    return changes


def _difference(baseline: dict[str, Any], scenario: dict[str, Any]) -> dict[str, Any]:
    """Scenario minus baseline for the headline numbers and each tank's level range."""

    def pick(result: dict[str, Any]) -> dict[str, float | None]:
        """The headline numbers of one indicators dict."""
        return {
            "min_pressure_m": (result["min_pressure"] or {}).get("pressure_m"),
            "mean_pressure_m": result["mean_pressure_m"],
            "junctions_below_threshold": result["low_pressure"]["junction_count"],
            "max_velocity_m_s": (result["max_velocity"] or {}).get("velocity_m_s"),
            "served_mean_m3_s": result["demand"]["served_mean_m3_s"],
            "served_fraction": result["demand"]["served_fraction"],
        }

    before, after = pick(baseline), pick(scenario)
    out: dict[str, Any] = {key: _minus(after[key], before[key]) for key in before}
    levels = ("min_level_m", "max_level_m", "final_level_m")
    out["tanks"] = [
        {"tank": old["tank"], **{key: _minus(new[key], old[key]) for key in levels}}
        for old, new in zip(baseline["tanks"], scenario["tanks"], strict=True)
    ]
    return out


def _minus(after: float | None, before: float | None) -> float | None:
    """``after - before`` or None if either is missing."""
    if after is None or before is None:
        return None
    if isinstance(after, int) and isinstance(before, int):
        return after - before
    return num(after - before)
