"""Pipe criticality: close each pipe in turn under pressure-driven demand and count who loses pressure.

Reproduces WNTR's documented workflow when asked to: a warm-up with the pipe open (closed at
``closure_start_h``), minimum and required pressure of the pressure-driven model, a diameter
range, counting only junctions that have demand, and a choice of solver for cross-checks.
Pressures and delivered demand are read from the closure on (the analysis window).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.errors import AnalysisInputError
from hydronet.water.jsonify import num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.scenarios import Runner, Sweep, impact, run_each, sweep_warnings
from hydronet.water.simulation import make_settings
from hydronet.water.standards import NATIONAL
from hydronet.water.toolkit import Changes

# Diameters are stored in metres converted from the file's units (24 in = 0.6095999… m): a filter
# value within this of a stored diameter selects it.
DIAMETER_TOLERANCE_M = 1e-4


def pipe_criticality(
    wn: WaterNetworkModel,
    min_diameter_m: float = 0.0,
    max_diameter_m: float | None = None,
    duration_h: float | None = 24.0,
    closure_start_h: float = 0.0,
    pressure_threshold_m: float = NATIONAL.service_head_m,
    required_pressure_m: float = NATIONAL.service_head_m,
    minimum_pressure_m: float = 0.0,
    demand_only: bool = True,
    engine: str = "epanet",
    max_pipes: int | None = None,
    pipes: list[str] | None = None,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
    runner: Runner = run_each,
) -> dict[str, Any]:
    """Rank pipes by junctions (and population) pushed below ``pressure_threshold_m`` when closed.

    Candidates are ``pipes`` or every pipe with ``min_diameter_m`` <= diameter <= ``max_diameter_m``
    (within :data:`DIAMETER_TOLERANCE_M`), largest first, capped at ``max_pipes``. Each pipe is
    closed at ``closure_start_h`` and stays closed to the end of the run; junctions are counted
    (only those with demand when ``demand_only``) by their minimum pressure from the closure on.
    Stops early (``complete: false``) after ``time_limit_s``.
    """
    threshold = checks.number("pressure_threshold_m", pressure_threshold_m, 0, 300)
    low = checks.number("min_diameter_m", min_diameter_m, 0, 10)
    high = None if max_diameter_m is None else checks.number("max_diameter_m", max_diameter_m, 0, 10)
    if high is not None and high < low:
        raise AnalysisInputError("max_diameter_m must be at least min_diameter_m")
    if not isinstance(demand_only, bool):
        raise AnalysisInputError("demand_only must be true or false")
    settings = make_settings(
        wn, duration_h, "PDD", required_pressure_m, minimum_pressure_m, quality="NONE", engine=engine
    )
    start_s = int(round(checks.number("closure_start_h", closure_start_h, 0, checks.MAX_DURATION_H) * 3600))
    if start_s > 0 and start_s >= settings.duration_s:
        raise AnalysisInputError(
            f"closure_start_h ({closure_start_h:g}) must be before the end of the run "
            f"({settings.duration_s / 3600:g} h)"
        )
    candidates = _candidates(wn, low, high, pipes, max_pipes)
    with Sweep(wn, settings, window_start_s=start_s) as sweep:
        baseline = sweep.solve()
        counted = sweep.counted(demand_only)

        def close(pipe_name: str) -> dict[str, Any]:
            """Simulate one closure and describe its impact."""
            scenario = sweep.solve(Changes(close_links=(pipe_name,), closure_start_s=start_s))
            pipe = wn.get_link(pipe_name)
            return {
                "pipe": pipe_name,
                "diameter_m": num(pipe.diameter),
                "length_m": num(pipe.length),
                **impact(baseline, scenario, threshold, counted, sweep.population_values),
                "demand_served_fraction": num(scenario.served_fraction),
                "warning_codes": sorted({w["code"] for w in scenario.warnings}),
            }

        outcome = runner(candidates, close, progress, Deadline(time_limit_s))
    ranking = sorted(
        outcome.pop("rows"),
        key=lambda row: (
            -row["junctions_impacted"],
            -row["population_impacted"],
            row["demand_served_fraction"] or 0.0,
            row["pipe"],
        ),
    )
    unbalanced = [row["pipe"] for row in ranking if "water_balance" in row["warning_codes"]]
    warnings = sweep.notes + baseline.warnings + sweep_warnings(outcome, "pipes")
    if unbalanced:
        warnings = warnings + [
            {
                "code": "water_balance",
                "severity": "error",
                "elements": unbalanced[:20],
                "message": f"the water balance failed in {len(unbalanced)} closure scenarios: their numbers are suspect",
            }
        ]
    baseline_below = baseline.min_pressure[counted]
    return {
        "settings": {
            **settings.as_dict(),
            "closure_start_h": start_s / 3600,
            "pressure_threshold_m": threshold,
            "min_diameter_m": low,
            "max_diameter_m": high,
            "diameter_tolerance_m": DIAMETER_TOLERANCE_M,
            "demand_only": demand_only,
            "defaults": NATIONAL.used(
                {"pressure_threshold_m": threshold, "required_pressure_m": settings.required_pressure_m}
            ),
            "junctions_counted": "junctions with demand" if demand_only else "every junction",
            "method": "each pipe closed (controls on it disabled) from closure_start_h to the end of the run; "
            "minimum pressure and demand served read from the closure on",
        },
        "warnings": warnings,
        "pipes_considered": len(candidates),
        **outcome,
        "junctions_counted": int(counted.sum()),
        "baseline_junctions_below_threshold": int((baseline_below < threshold).sum()),
        "baseline_demand_served_fraction": num(baseline.served_fraction),
        "critical_pipe_count": sum(1 for row in ranking if row["junctions_impacted"] > 0),
        "ranking": ranking,
        "link_junctions_impacted": {row["pipe"]: row["junctions_impacted"] for row in ranking},
    }


def _candidates(
    wn: WaterNetworkModel, low: float, high: float | None, pipes: list[str] | None, max_pipes: int | None
) -> list[str]:
    """Pipes to close, largest diameter first."""
    if pipes:
        names = checks.elements(wn, pipes, "pipe")
    else:
        diameters = pd.Series({name: pipe.diameter for name, pipe in wn.pipes()}, dtype=float)
        keep = diameters >= low - DIAMETER_TOLERANCE_M
        if high is not None:
            keep &= diameters <= high + DIAMETER_TOLERANCE_M
        names = sorted(diameters.index[keep], key=lambda name: (-diameters[name], name))
    if max_pipes is not None:
        names = names[: checks.count("max_pipes", max_pipes)]
    return names
