"""Leak scenario: an orifice leak at one junction, simulated with the WNTR solver under PDD."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.errors import AnalysisInputError, SimulationError
from hydronet.water.jsonify import at_time, num
from hydronet.water.simulation import make_settings, prepare, run


def leak_scenario(
    wn: WaterNetworkModel,
    junction: str,
    area_m2: float = 0.005,
    start_h: float = 0.0,
    end_h: float | None = None,
    duration_h: float | None = 24.0,
    discharge_coeff: float = 0.75,
    required_pressure_m: float = 20.0,
) -> dict[str, Any]:
    """Leak flow, lost volume and pressure drops (at the leak and network-wide) against a no-leak run."""
    checks.element(wn, junction, "junction")
    area = checks.number("area_m2", area_m2, 1e-6, 1.0)
    coefficient = checks.number("discharge_coeff", discharge_coeff, 0.1, 1.0)
    settings = make_settings(wn, duration_h, "PDD", required_pressure_m, quality="NONE", engine="wntr")
    start_s = int(checks.number("start_h", start_h, 0, checks.MAX_DURATION_H) * 3600)
    end_s = settings.duration_s
    if end_h is not None:
        end_s = int(checks.number("end_h", end_h, 0, checks.MAX_DURATION_H) * 3600)
    if not start_s < end_s or start_s > settings.duration_s:
        raise AnalysisInputError("the leak must start before it ends and within the simulated period")
    leak_model = prepare(wn, settings)
    leak_model.get_node(junction).add_leak(leak_model, area=area, discharge_coeff=coefficient,
                                           start_time=start_s, end_time=end_s)
    try:
        baseline = run(prepare(wn, settings), settings)
        scenario = run(leak_model, settings)
    except SimulationError as exc:
        raise SimulationError(
            f"leak modelling needs the WNTR solver, which failed on this network: {exc.message}") from exc
    leak_flow = scenario.node["leak_demand"][junction]
    drop = (baseline.junction_frame("pressure") - scenario.junction_frame("pressure")).loc[start_s:end_s]
    mean_drop = drop.mean()
    return {
        "settings": settings.as_dict(),
        "junction": junction,
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
            "demand_served_baseline_m3": num(volume_m3(baseline.junction_frame("demand").sum(axis=1))),
            "demand_served_with_leak_m3": num(volume_m3(scenario.junction_frame("demand").sum(axis=1))),
        },
        "most_affected_junctions": [
            {"node": str(node), "mean_pressure_drop_m": num(value)}
            for node, value in mean_drop.sort_values(ascending=False).head(10).items()
        ],
        "leak_flow_series": [{**at_time(t), "flow_m3_s": num(value)} for t, value in leak_flow.items()],
    }


def volume_m3(flow_m3_s: pd.Series) -> float:
    """Volume of a flow series, each value held until the next report time (EPANET's step rule)."""
    times = flow_m3_s.index.to_numpy(dtype=float)
    if times.size < 2:
        return 0.0
    return float((flow_m3_s.to_numpy()[:-1] * np.diff(times)).sum())
