"""Fire flow: add a fire demand at each candidate hydrant in turn and check who loses pressure."""

from __future__ import annotations

import math
from typing import Any

from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.demand import expected_demand
from hydronet.water.diagnostics import finding
from hydronet.water.errors import AnalysisInputError
from hydronet.water.jsonify import at_time, num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.scenarios import Runner, Sweep, impact, run_each, sweep_warnings
from hydronet.water.simulation import make_settings, prepare
from hydronet.water.standards import NATIONAL
from hydronet.water.toolkit import Changes, Timed


def fire_flow(
    wn: WaterNetworkModel,
    fire_demand_m3_s: float = NATIONAL.fire_flow_l_s / 1000.0,
    fire_duration_h: float = NATIONAL.fire_duration_h,
    fire_start_h: float | None = None,
    duration_h: float | None = 24.0,
    pressure_threshold_m: float = NATIONAL.fire_residual_pressure_m,
    required_pressure_m: float = NATIONAL.fire_residual_pressure_m,
    demand_multiplier: float = NATIONAL.max_day_factor,
    hydrant_normal_pressure_m: float = NATIONAL.hydrant_normal_pressure_m,
    hydrants: list[str] | None = None,
    max_hydrants: int | None = None,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
    runner: Runner = run_each,
) -> dict[str, Any]:
    """Rank hydrant junctions by junctions pushed below the threshold while fighting a fire (PDD).

    The fire demand is added at one hydrant at a time during the fire window, which is snapped to
    the model's pattern steps (EPANET has one step for all patterns); without ``fire_start_h`` it
    starts at the step of peak expected demand (the peak hour of the maximum day when the model's
    demands, times ``demand_multiplier``, are the maximum day). Pressures are read during the fire.
    """
    demand = checks.number("fire_demand_m3_s", fire_demand_m3_s, 0.001, 10)
    threshold = checks.number("pressure_threshold_m", pressure_threshold_m, 0, 300)
    multiplier = checks.number("demand_multiplier", demand_multiplier, 0, 10)
    normal = checks.number("hydrant_normal_pressure_m", hydrant_normal_pressure_m, 0, 300)
    settings = make_settings(wn, duration_h, "PDD", required_pressure_m, quality="NONE")
    window_model = prepare(wn, settings)
    start_s, end_s = _fire_window(window_model, fire_start_h, fire_duration_h)
    candidates = checks.elements(wn, hydrants, "junction") if hydrants else list(wn.junction_name_list)
    if max_hydrants is not None:
        candidates = candidates[: checks.count("max_hydrants", max_hydrants)]
    # the last report time inside the fire is the one before it ends (the fire is off at end_s)
    with Sweep(
        wn,
        settings,
        window_start_s=start_s,
        window_end_s=max(end_s - 1, start_s),
        demand_multiplier=multiplier if multiplier != 1.0 else None,
    ) as sweep:
        baseline = sweep.solve()
        counted = sweep.counted(False)

        def fight_fire(hydrant: str) -> dict[str, Any]:
            """Simulate a fire at one hydrant and describe the outcome."""
            scenario = sweep.solve(Changes(extra_demand_m3_s={hydrant: Timed(demand, start_s, end_s)}))
            expected = float(scenario.expected_by_junction[hydrant])
            fraction = min(float(scenario.served_by_junction[hydrant]) / expected, 1.0) if expected > 0 else None
            found = impact(baseline, scenario, threshold, counted, sweep.population_values, exclude=[hydrant])
            hydrant_pressure = num(scenario.min_pressure[hydrant])
            return {
                "hydrant": hydrant,
                "hydrant_min_pressure_m": hydrant_pressure,
                "fire_flow_served_fraction": num(fraction),
                **found,
                "passes": bool(
                    found["junctions_impacted"] == 0
                    and (hydrant_pressure or 0) >= threshold
                    and (fraction or 0) >= 0.999
                ),
                "warning_codes": sorted({w["code"] for w in scenario.warnings}),
            }

        outcome = runner(candidates, fight_fire, progress, Deadline(time_limit_s))
    ranking = sorted(
        outcome.pop("rows"),
        key=lambda row: (
            row["passes"],
            -row["junctions_impacted"],
            row["hydrant_min_pressure_m"] or 0.0,
            row["hydrant"],
        ),
    )
    chosen = {
        "fire_demand_m3_s": demand,
        "fire_duration_h": fire_duration_h,
        "fire_start_h": fire_start_h,
        "pressure_threshold_m": threshold,
        "demand_multiplier": multiplier,
        "hydrant_normal_pressure_m": normal,
    }
    weak = sorted(name for name in candidates if baseline.min_pressure[name] < normal)
    return {
        "settings": {
            **settings.as_dict(),
            **chosen,
            "fire_residual_pressure_m": threshold,
            "method": "fire demand added at one hydrant at a time for the fire window (pressure-driven); a hydrant "
            "passes when it delivers the whole fire flow with at least the residual pressure and no "
            "other junction falls below it during the fire",
            "defaults": NATIONAL.used({**chosen, "fire_residual_pressure_m": threshold}),
        },
        "warnings": sweep.notes
        + baseline.warnings
        + sweep_warnings(outcome, "hydrants")
        + _normal_pressure_warning(weak, normal),
        "hydrants_below_normal_pressure": weak,
        "fire_window": {"start": at_time(start_s), "end": at_time(end_s)},
        "hydrants_considered": len(candidates),
        **outcome,
        "hydrants_failing": sum(1 for row in ranking if not row["passes"]),
        "ranking": ranking,
        "node_hydrant_min_pressure_m": {row["hydrant"]: row["hydrant_min_pressure_m"] for row in ranking},
    }


def _normal_pressure_warning(weak: list[str], normal_m: float) -> list[dict[str, Any]]:
    """Hydrants short of the normal working pressure before any fire is fought."""
    if not weak:
        return []
    return [
        finding(
            "hydrant_normal_pressure",
            f"{len(weak)} candidate hydrants have less than {normal_m:g} m in normal operation during the "
            "fire window (GB 55036-2022 §3.0.3 asks at least 0.14 MPa where municipal hydrants are fitted)",
            weak,
        )
    ]


def _fire_window(model: WaterNetworkModel, fire_start_h: float | None, fire_duration_h: float) -> tuple[int, int]:
    """Fire start and end in seconds, on pattern steps and within the run; default start = peak demand."""
    duration_s = int(model.options.time.duration)
    step = int(model.options.time.pattern_timestep) or 3600
    length_s = math.ceil(checks.number("fire_duration_h", fire_duration_h, 0.25, 72) * 3600 / step) * step
    if fire_start_h is not None:
        start_s = int(checks.number("fire_start_h", fire_start_h, 0, checks.MAX_DURATION_H) * 3600) // step * step
        if start_s > duration_s:
            raise AnalysisInputError(
                f"fire_start_h ({fire_start_h}) is after the end of the run ({duration_s / 3600:g} h)"
            )
    else:
        latest = max(duration_s - length_s, 0)
        totals = expected_demand(model, range(0, latest + 1, step)).sum(axis=1)
        start_s = int(totals.idxmax())
    return start_s, min(start_s + length_s, duration_s) if duration_s else start_s
