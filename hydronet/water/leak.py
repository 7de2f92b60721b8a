"""Leak scenario: an orifice leak at one junction under pressure-driven demand (EPANET 2.3 or WNTR)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from wntr.network import LinkStatus, WaterNetworkModel, controls

from hydronet.water import checks, diagnostics, toolkit
from hydronet.water.errors import AnalysisInputError, SimulationError
from hydronet.water.hydraulics import pressure_change
from hydronet.water.jsonify import at_time, num
from hydronet.water.simulation import copy_model, make_settings, prepare, run
from hydronet.water.standards import NATIONAL

LEAK_KINDS = ("leak", "main_break")
LEAK_NODE = "hydronet-leak-node"
LEAK_PIPE = "hydronet-leak-link"


def leak_scenario(
    wn: WaterNetworkModel,
    junction: str,
    kind: str = "leak",
    area_m2: float | None = None,
    start_h: float = 0.0,
    end_h: float | None = None,
    duration_h: float | None = 24.0,
    discharge_coeff: float = NATIONAL.leak_discharge_coeff,
    required_pressure_m: float = NATIONAL.service_head_m,
    engine: str = "epanet",
) -> dict[str, Any]:
    """Leak flow, lost volume and pressure drops (at the leak and network-wide) against a no-leak run (PDD).

    The leak is an orifice, q = Cd·A·√(2 g p). With EPANET 2.3 it is an emitter (exponent 0.5) on a
    node joined to the junction by a short, wide pipe that controls open at the start of the leak
    and close at its end (start and end snap to the model's pattern/report steps); with
    ``engine="wntr"`` it is WNTR's own leak model. ``kind="main_break"`` defaults to a burst-size opening.
    """
    checks.element(wn, junction, "junction")
    kind = checks.choice("kind", kind, LEAK_KINDS).lower()
    default_area = NATIONAL.break_area_m2 if kind == "main_break" else NATIONAL.leak_area_m2
    area = checks.number("area_m2", default_area if area_m2 is None else area_m2, 1e-6, 1.0)
    coefficient = checks.number("discharge_coeff", discharge_coeff, 0.1, 1.0)
    settings = make_settings(wn, duration_h, "PDD", required_pressure_m, quality="NONE", engine=engine)
    step = _step_s(wn)
    start_s = int(checks.number("start_h", start_h, 0, checks.MAX_DURATION_H) * 3600) // step * step
    end_s = settings.duration_s
    if end_h is not None:
        end_s = -(-int(checks.number("end_h", end_h, 0, checks.MAX_DURATION_H) * 3600) // step) * step
    if not start_s < end_s or start_s > settings.duration_s:
        raise AnalysisInputError("the leak must start before it ends and within the simulated period")
    base_model = prepare(wn, settings)
    leak_model = copy_model(base_model)
    notes = []
    if settings.engine == "wntr" or not toolkit.AVAILABLE:
        if settings.engine == "epanet":
            notes.append(
                diagnostics.engine_fallback(
                    "the owa-epanet toolkit is not installed; WNTR's leak model and solver were used"
                )
            )
            settings = make_settings(wn, duration_h, "PDD", required_pressure_m, quality="NONE", engine="wntr")
        leak_model.get_node(junction).add_leak(
            leak_model, area=area, discharge_coeff=coefficient, start_time=start_s, end_time=end_s
        )
        leak_column = junction
    else:
        _add_leak_branch(leak_model, junction, toolkit.emitter_coefficient(area, coefficient), start_s, end_s)
        leak_column = LEAK_NODE
    try:
        baseline = run(base_model, settings)
        scenario = run(leak_model, settings)
    except SimulationError as exc:
        raise SimulationError(f"the leak simulation failed on this network: {exc.message}") from exc
    junctions = list(wn.junction_name_list)
    leak_flow = scenario.node["leak_demand"][leak_column]
    if leak_column == LEAK_NODE:  # a closed link still passes EPANET's token flow: no leak while it is shut
        leak_flow = leak_flow.where(scenario.link["status"][LEAK_PIPE] > 0, 0.0)
    drop = (baseline.node["pressure"][junctions] - scenario.node["pressure"][junctions]).loc[start_s:end_s]
    mean_drop = drop.mean()
    change = pressure_change(
        baseline.node["pressure"][junctions].loc[start_s:end_s], scenario.node["pressure"][junctions].loc[start_s:end_s]
    )
    return {
        "settings": {
            **settings.as_dict(),
            "kind": kind,
            "area_m2": area,
            "discharge_coeff": coefficient,
            "method": (
                "orifice leak q = Cd·A·√(2 g p): an EPANET emitter (exponent 0.5) on a node joined to the "
                "junction by a link opened and closed by time controls"
                if leak_column == LEAK_NODE
                else "orifice leak q = Cd·A·√(2 g p): WNTR's leak model on the WNTR solver"
            ),
            "leak_window_snapped_to_s": step,
            "pressure_change": "each junction's minimum pressure during the leak, with the leak − without",
            "defaults": NATIONAL.used(
                {
                    "area_m2": area if kind == "leak" else None,
                    "discharge_coeff": coefficient,
                    "required_pressure_m": settings.required_pressure_m,
                }
                | ({"break_area_m2": area} if kind == "main_break" else {})
            ),
        },
        "warnings": notes + list(scenario.warnings),
        "junction": junction,
        "kind": kind,
        "area_m2": area,
        "discharge_coeff": coefficient,
        "leak_window": {"start": at_time(start_s), "end": at_time(min(end_s, settings.duration_s))},
        "max_leak_flow_m3_s": num(leak_flow.max()),
        "lost_volume_m3": num(volume_m3(leak_flow)),
        "leak_node": {
            "baseline_mean_pressure_m": num(baseline.node["pressure"][junction].loc[start_s:end_s].mean()),
            "leak_mean_pressure_m": num(scenario.node["pressure"][junction].loc[start_s:end_s].mean()),
            "max_pressure_drop_m": num(drop[junction].max()),
        },
        "network": {
            "mean_pressure_drop_m": num(np.nanmean(drop.to_numpy())),
            "max_pressure_drop_m": num(drop.max().max()),
            "max_drop_node": str(drop.max().idxmax()),
            "demand_served_baseline_m3": num(volume_m3(_served(baseline, junctions, None))),
            "demand_served_with_leak_m3": num(
                volume_m3(_served(scenario, junctions, junction if leak_column == junction else None))
            ),
        },
        "most_affected_junctions": [
            {"node": str(node), "mean_pressure_drop_m": num(value)}
            for node, value in mean_drop.sort_values(ascending=False).head(10).items()
        ],
        "leak_flow_series": [{**at_time(t), "flow_m3_s": num(value)} for t, value in leak_flow.items()],
        "pressure_change": change,
        "node_pressure_change_m": {row["node"]: row["change_m"] for row in change},
    }


def _served(sim: Any, junctions: list[str], leaking: str | None) -> pd.Series:
    """Consumer demand delivered over time (WNTR counts a junction's leak in its demand: taken out)."""
    demand = sim.node["demand"][junctions].sum(axis=1)
    if leaking is not None and "leak_demand" in sim.node:
        demand = demand - sim.node["leak_demand"][leaking]
    return demand


def _step_s(wn: WaterNetworkModel) -> int:
    """The step leak start and end snap to: the solver always stops at pattern and report times."""
    pattern = int(wn.options.time.pattern_timestep) or 3600
    report = int(wn.options.time.report_timestep) or 3600
    return math.gcd(pattern, report)


def _add_leak_branch(model: WaterNetworkModel, junction: str, coefficient: float, start_s: int, end_s: int) -> None:
    """An emitter node beside ``junction`` behind a short, wide pipe that is open only during the leak."""
    node = model.get_node(junction)
    model.options.hydraulic.emitter_exponent = 0.5
    model.add_junction(LEAK_NODE, base_demand=0.0, elevation=node.elevation, coordinates=node.coordinates)
    model.get_node(LEAK_NODE).emitter_coefficient = coefficient
    roughness = 0.0001 if model.options.hydraulic.headloss == "D-W" else 150.0
    model.add_pipe(
        LEAK_PIPE,
        junction,
        LEAK_NODE,
        length=0.01,
        diameter=1.0,
        roughness=roughness,
        minor_loss=0.0,
        initial_status="OPEN" if start_s == 0 else "CLOSED",
    )
    pipe = model.get_link(LEAK_PIPE)
    for name, when, status in (("open", start_s, LinkStatus.Open), ("close", end_s, LinkStatus.Closed)):
        if 0 < when < int(model.options.time.duration):
            condition = controls.SimTimeCondition(model, "=", when)
            model.add_control(
                f"hydronet-leak-{name}", controls.Control(condition, controls.ControlAction(pipe, "status", status))
            )


def volume_m3(flow_m3_s: pd.Series) -> float:
    """Volume of a flow series, each value held until the next report time (EPANET's step rule)."""
    times = flow_m3_s.index.to_numpy(dtype=float)
    if times.size < 2:
        return 0.0
    return float((flow_m3_s.to_numpy()[:-1] * np.diff(times)).sum())
