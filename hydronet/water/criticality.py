"""Pipe criticality: close each pipe in turn under PDD and count who loses pressure."""
from __future__ import annotations

from typing import Any

from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.jsonify import num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.scenarios import force_link_status, make_baseline, run_each, scenario_copy
from hydronet.water.simulation import make_settings, prepare, run


def pipe_criticality(
    wn: WaterNetworkModel,
    min_diameter_m: float = 0.0,
    duration_h: float | None = 24.0,
    pressure_threshold_m: float = 20.0,
    required_pressure_m: float = 20.0,
    max_pipes: int | None = None,
    pipes: list[str] | None = None,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
) -> dict[str, Any]:
    """Rank pipes by junctions (and population) pushed below ``pressure_threshold_m`` when closed.

    Candidates are ``pipes`` or every pipe with diameter >= ``min_diameter_m``, largest first,
    capped at ``max_pipes``. Stops early (``complete: false``) after ``time_limit_s``.
    """
    threshold = checks.number("pressure_threshold_m", pressure_threshold_m, 0, 300)
    checks.number("min_diameter_m", min_diameter_m, 0, 10)
    candidates = _candidates(wn, min_diameter_m, pipes, max_pipes)
    settings = make_settings(wn, duration_h, "PDD", required_pressure_m, quality="NONE")
    base_model = prepare(wn, settings)
    baseline = make_baseline(base_model, settings, threshold)
    served_base = float(baseline.simulation.junction_frame("demand").to_numpy().sum())

    def close(pipe_name: str) -> dict[str, Any]:
        """Simulate one closure and describe its impact."""
        model = scenario_copy(base_model)
        force_link_status(model, pipe_name, "CLOSED")
        scenario = run(model, settings)
        pipe = wn.get_link(pipe_name)
        served = float(scenario.junction_frame("demand").to_numpy().sum())
        return {
            "pipe": pipe_name,
            "diameter_m": num(pipe.diameter),
            "length_m": num(pipe.length),
            **baseline.impact(scenario),
            "demand_served_fraction": num(min(served / served_base, 1.0)) if served_base > 0 else None,
        }

    outcome = run_each(candidates, close, progress, Deadline(time_limit_s))
    ranking = sorted(outcome.pop("rows"), key=lambda row: (-row["junctions_impacted"], -row["population_impacted"],
                                                           row["demand_served_fraction"] or 0.0, row["pipe"]))
    return {
        "settings": {**settings.as_dict(), "pressure_threshold_m": threshold, "min_diameter_m": min_diameter_m},
        "pipes_considered": len(candidates),
        **outcome,
        "baseline_junctions_below_threshold": int((baseline.min_pressure < threshold).sum()),
        "critical_pipe_count": sum(1 for row in ranking if row["junctions_impacted"] > 0),
        "ranking": ranking,
        "link_junctions_impacted": {row["pipe"]: row["junctions_impacted"] for row in ranking},
    }


def _candidates(wn: WaterNetworkModel, min_diameter_m: float, pipes: list[str] | None,
                max_pipes: int | None) -> list[str]:
    """Pipes to close, largest diameter first."""
    if pipes:
        names = checks.elements(wn, pipes, "pipe")
    else:
        names = [name for name, pipe in wn.pipes() if pipe.diameter >= min_diameter_m]
        names.sort(key=lambda name: (-wn.get_link(name).diameter, name))
    if max_pipes is not None:
        names = names[: checks.count("max_pipes", max_pipes)]
    return names
