"""Building blocks shared by scenario analyses: sweeps over one open project, link states, impacts.

A :class:`Sweep` prepares the model once and, with EPANET, opens it once in the 2.3 toolkit;
each scenario is a :class:`toolkit.Changes` solved in memory. With ``engine="wntr"`` (or without
the toolkit) each scenario is a modified copy of the model run through WNTR.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
import wntr
from wntr.network import WaterNetworkModel

from hydronet.water import diagnostics, toolkit
from hydronet.water.demand import expected_demand
from hydronet.water.errors import SimulationError
from hydronet.water.jsonify import num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.simulation import SimSettings, Simulation, copy_model, force_link_status, prepare, run
from hydronet.water.toolkit import Changes

MAX_LISTED = 20
__all__ = ["force_link_status"]  # re-exported for the analyses that edit models



@dataclass
class Baseline:
    """The undisturbed run that scenarios are compared against."""

    simulation: Simulation
    threshold_m: float
    population: pd.Series

    @property
    def min_pressure(self) -> pd.Series:
        """Minimum pressure of each junction over the run."""
        return self.simulation.junction_frame("pressure").min()

    def impact(self, scenario: Simulation, exclude: Iterable[str] = ()) -> dict[str, Any]:
        """Junctions that were at or above the threshold in the baseline but drop below it."""
        before = self.min_pressure
        after = scenario.junction_frame("pressure").min()
        hit = after[(before >= self.threshold_m) & (after < self.threshold_m)].drop(list(exclude), errors="ignore")
        hit = hit.sort_values()
        return {
            "junctions_impacted": int(hit.size),
            "population_impacted": int(self.population.reindex(hit.index).fillna(0).sum()),
            "impacted_junctions": [str(node) for node in hit.index[:MAX_LISTED]],
            "worst_pressure_m": num(after.min()) if after.size else None,
            "worst_node": str(after.idxmin()) if after.size else None,
        }


def make_baseline(model: WaterNetworkModel, settings: SimSettings, threshold_m: float) -> Baseline:
    """Simulate the prepared base model and record population per junction."""
    return Baseline(run(model, settings), threshold_m, wntr.metrics.population(model))


def run_each(
    items: list[str],
    evaluate: Callable[[str], dict[str, Any]],
    progress: Progress | None,
    deadline: Deadline,
) -> dict[str, Any]:
    """Evaluate each item in turn, collecting solver failures and stopping at the deadline.

    ``progress(done, total)`` is called after each item; an exception it raises (e.g. a
    cancelled job) stops the loop and propagates.
    """
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for done, item in enumerate(items, start=1):
        if deadline.expired():
            break
        try:
            rows.append(evaluate(item))
        except SimulationError as exc:
            failed.append({"name": item, "error": exc.message})
        if progress is not None:
            progress(done, len(items))
    analysed = len(rows) + len(failed)
    return {
        "analysed": analysed,
        "complete": analysed == len(items),
        "stopped_reason": None if analysed == len(items) else f"time limit of {deadline.seconds:g} s reached",
        "rows": rows,
        "failed": failed,
    }


# how a sweep evaluates its scenarios: run_each in this process, or hydronet.water.sweeps over the job queue
Runner = Callable[[list[str], Callable[[str], dict[str, Any]], Progress | None, Deadline], dict[str, Any]]


def sweep_warnings(outcome: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """Warnings for a sweep that did not analyse every scenario: cut short, or scenarios that failed."""
    out = []
    if not outcome["complete"]:
        out.append({"code": "sweep_incomplete", "severity": "warning", "elements": [],
                    "message": f"{outcome['stopped_reason']}: {outcome['analysed']} {what} analysed, the ranking "
                               "is partial"})
    if outcome["failed"]:
        out.append({"code": "scenarios_failed", "severity": "warning",
                    "elements": [f["name"] for f in outcome["failed"]][:20],
                    "message": f"{len(outcome['failed'])} {what} could not be solved and are not ranked"})
    return out


def scenario_copy(model: WaterNetworkModel) -> WaterNetworkModel:
    """An independent copy of a prepared model to modify for one scenario."""
    return copy_model(model)


@dataclass
class Outcome:
    """What a sweep reads from one scenario (over the analysis window)."""

    min_pressure: pd.Series
    served_by_junction: pd.Series
    expected_by_junction: pd.Series
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def served_fraction(self) -> float | None:
        """Demand delivered / demand asked for (summed at report times in the window)."""
        expected = float(self.expected_by_junction.sum())
        return min(float(self.served_by_junction.sum()) / expected, 1.0) if expected > 0 else None


class Sweep:
    """Many scenarios of one prepared model: one open EPANET 2.3 project, or WNTR runs of modified copies."""

    def __init__(self, wn: WaterNetworkModel, settings: SimSettings, window_start_s: int = 0,
                 window_end_s: int | None = None, demand_multiplier: float | None = None) -> None:
        self.settings = settings
        self.window_start_s = window_start_s
        self.window_end_s = window_end_s
        self.model = prepare(wn, settings)
        if demand_multiplier is not None:
            self.model.options.hydraulic.demand_multiplier *= demand_multiplier
        self.population = wntr.metrics.population(self.model)
        self.has_demand = pd.Series(
            {name: any(d.base_value > 0 for d in self.model.get_node(name).demand_timeseries_list)
             for name in self.model.junction_name_list}, dtype=bool)
        self.names = pd.Index(self.model.junction_name_list)
        self.counted_all = np.ones(len(self.names), dtype=bool)
        self.counted_demand = self.has_demand.reindex(self.names).to_numpy(dtype=bool)
        self.population_values = self.population.reindex(self.names).fillna(0).to_numpy(dtype=float)
        self.project: toolkit.Project | None = None
        self.notes: list[dict[str, Any]] = []
        if settings.engine == "epanet":
            if toolkit.AVAILABLE:
                key = f"{settings.key()}|multiplier={demand_multiplier}"
                self.project = toolkit.shared_project(wn, key, self.model)
            else:
                self.notes.append(diagnostics.engine_fallback("the owa-epanet toolkit is not installed"))

    def solve(self, changes: Changes | None = None) -> Outcome:
        """One scenario; ``None`` is the baseline."""
        changes = changes or Changes()
        if self.project is not None:
            solution = self.project.solve(changes, full=False, window_start_s=self.window_start_s,
                                          window_end_s=self.window_end_s)
            warnings = (diagnostics.epanet_warnings(solution.epanet_warnings, toolkit.warning_text)
                        + diagnostics.balance_warnings(solution.balance))
            if solution.min_pressure.index.equals(self.names):
                outcome = Outcome(solution.min_pressure, solution.served_by_junction, solution.expected_by_junction)
            else:  # the toolkit's junction order differs from the model's: align once per solve
                outcome = Outcome(solution.min_pressure.reindex(self.names),
                                  solution.served_by_junction.reindex(self.names),
                                  solution.expected_by_junction.reindex(self.names))
            if np.any(outcome.min_pressure.to_numpy() < diagnostics.NEGATIVE_PRESSURE_M):
                warnings += diagnostics.pressure_warnings(outcome.min_pressure)
            outcome.warnings = warnings
            return outcome
        sim = run(self.model, self.settings, changes)
        model = self.model
        times = [t for t in sim.times_s
                 if t >= self.window_start_s and (self.window_end_s is None or t <= self.window_end_s)]
        served = sim.junction_frame("demand").loc[times]
        if "leak_demand" in sim.node:
            served = served - sim.node["leak_demand"][sim.junctions].loc[times]
        expected = expected_demand(model, times)
        return Outcome(sim.junction_frame("pressure").loc[times].min().reindex(self.names),
                       served.sum().reindex(self.names), expected.sum().reindex(self.names),
                       [w for w in sim.warnings if w["code"] != "disconnected_nodes"])

    def counted(self, demand_only: bool) -> np.ndarray:
        """Which junctions (in :attr:`names` order) a count includes."""
        return self.counted_demand if demand_only else self.counted_all

    def close(self) -> None:
        """Done with the sweep (the project stays open for the next sweep on the same model)."""
        self.project = None

    def __enter__(self) -> Sweep:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def impact(baseline: Outcome, scenario: Outcome, threshold_m: float, counted: np.ndarray,
           population: np.ndarray, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Junctions (where ``counted``) below the threshold in the scenario, and those newly pushed below it.

    Arrays are aligned with the outcomes' junction index (a sweep's :attr:`Sweep.names`).
    """
    before = baseline.min_pressure.to_numpy()
    after = scenario.min_pressure.to_numpy()
    names = scenario.min_pressure.index
    mask = counted.copy()
    for name in exclude:
        mask[names.get_loc(name)] = False
    below = mask & (after < threshold_m)
    hit = np.flatnonzero(below & (before >= threshold_m))
    hit = hit[np.argsort(after[hit], kind="stable")]
    finite = np.isfinite(after)
    worst = int(np.nanargmin(np.where(finite, after, np.nan))) if finite.any() else None
    return {
        "junctions_impacted": int(hit.size),
        "junctions_below_threshold": int(below.sum()),
        "population_impacted": int(population[hit].sum()),
        "impacted_junctions": [str(names[i]) for i in hit[:MAX_LISTED]],
        "worst_pressure_m": num(after[worst]) if worst is not None else None,
        "worst_node": str(names[worst]) if worst is not None else None,
    }
