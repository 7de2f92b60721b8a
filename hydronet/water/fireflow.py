"""Fire flow: add a fire demand at each candidate hydrant in turn and check who loses pressure."""
from __future__ import annotations

import math
from typing import Any

from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.errors import AnalysisInputError
from hydronet.water.hydraulics import expected_demand
from hydronet.water.jsonify import at_time, num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.scenarios import make_baseline, run_each, scenario_copy
from hydronet.water.simulation import make_settings, prepare, run

FIRE_PATTERN = "hydronet-fire"
FIRE_CATEGORY = "fire flow"


def fire_flow(
    wn: WaterNetworkModel,
    fire_demand_m3_s: float = 0.0946,
    fire_duration_h: float = 2.0,
    fire_start_h: float | None = None,
    duration_h: float | None = 24.0,
    pressure_threshold_m: float = 14.0,
    required_pressure_m: float = 14.0,
    hydrants: list[str] | None = None,
    max_hydrants: int | None = None,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
) -> dict[str, Any]:
    """Rank hydrant junctions by junctions pushed below the threshold while fighting a fire (PDD).

    The fire window is snapped to the model's pattern steps (EPANET has one step for all
    patterns); without ``fire_start_h`` it starts at the step of peak expected demand.
    """
    demand = checks.number("fire_demand_m3_s", fire_demand_m3_s, 0.001, 10)
    threshold = checks.number("pressure_threshold_m", pressure_threshold_m, 0, 300)
    settings = make_settings(wn, duration_h, "PDD", required_pressure_m, quality="NONE")
    base_model = prepare(wn, settings)
    start_s, end_s = _fire_window(base_model, fire_start_h, fire_duration_h)
    _add_fire_pattern(base_model, start_s, end_s)
    baseline = make_baseline(base_model, settings, threshold)
    candidates = checks.elements(wn, hydrants, "junction") if hydrants else list(wn.junction_name_list)
    if max_hydrants is not None:
        candidates = candidates[: checks.count("max_hydrants", max_hydrants)]

    def fight_fire(hydrant: str) -> dict[str, Any]:
        """Simulate a fire at one hydrant and describe the outcome."""
        model = scenario_copy(base_model)
        model.get_node(hydrant).add_demand(demand, FIRE_PATTERN, category=FIRE_CATEGORY)
        scenario = run(model, settings)
        window = scenario.junction_frame("pressure").loc[start_s:end_s]
        served = scenario.junction_frame("demand")[hydrant].loc[start_s:end_s]
        expected = expected_demand(model, served.index, [hydrant])[hydrant]
        fraction = min(float(served.sum() / expected.sum()), 1.0) if expected.sum() > 0 else None
        impact = baseline.impact(scenario, exclude=[hydrant])
        hydrant_pressure = num(window[hydrant].min())
        return {
            "hydrant": hydrant,
            "hydrant_min_pressure_m": hydrant_pressure,
            "fire_flow_served_fraction": num(fraction),
            **impact,
            "passes": bool(impact["junctions_impacted"] == 0 and (hydrant_pressure or 0) >= threshold
                           and (fraction or 0) >= 0.999),
        }

    outcome = run_each(candidates, fight_fire, progress, Deadline(time_limit_s))
    ranking = sorted(outcome.pop("rows"), key=lambda row: (row["passes"], -row["junctions_impacted"],
                                                           row["hydrant_min_pressure_m"] or 0.0, row["hydrant"]))
    return {
        "settings": {**settings.as_dict(), "pressure_threshold_m": threshold, "fire_demand_m3_s": demand},
        "fire_window": {"start": at_time(start_s), "end": at_time(end_s)},
        "hydrants_considered": len(candidates),
        **outcome,
        "hydrants_failing": sum(1 for row in ranking if not row["passes"]),
        "ranking": ranking,
        "node_hydrant_min_pressure_m": {row["hydrant"]: row["hydrant_min_pressure_m"] for row in ranking},
    }


def _fire_window(model: WaterNetworkModel, fire_start_h: float | None, fire_duration_h: float) -> tuple[int, int]:
    """Fire start and end in seconds, on pattern steps and within the run; default start = peak demand."""
    duration_s = int(model.options.time.duration)
    step = int(model.options.time.pattern_timestep) or 3600
    length_s = math.ceil(checks.number("fire_duration_h", fire_duration_h, 0.25, 72) * 3600 / step) * step
    if fire_start_h is not None:
        start_s = int(checks.number("fire_start_h", fire_start_h, 0, checks.MAX_DURATION_H) * 3600) // step * step
        if start_s > duration_s:
            raise AnalysisInputError(
                f"fire_start_h ({fire_start_h}) is after the end of the run ({duration_s / 3600:g} h)")
    else:
        latest = max(duration_s - length_s, 0)
        totals = expected_demand(model, range(0, latest + 1, step)).sum(axis=1)
        start_s = int(totals.idxmax())
    return start_s, min(start_s + length_s, duration_s) if duration_s else start_s


def _add_fire_pattern(model: WaterNetworkModel, start_s: int, end_s: int) -> None:
    """A 0/1 pattern that is on during the fire window (at the model's pattern step)."""
    step = int(model.options.time.pattern_timestep) or 3600
    count = max(math.ceil((int(model.options.time.duration) + 1) / step), 1)
    on = [1.0 if start_s <= index * step < max(end_s, start_s + 1) else 0.0 for index in range(count)]
    model.add_pattern(FIRE_PATTERN, on)
