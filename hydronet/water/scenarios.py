"""Building blocks shared by scenario analyses: sweeps over one open project, link states, impacts.

A :class:`Sweep` prepares the model once and, with EPANET, opens it once in the 2.3 toolkit;
each scenario is a :class:`toolkit.Changes` solved in memory. With ``engine="wntr"`` (or without
the toolkit) each scenario is a modified copy of the model run through WNTR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import wntr
from wntr.network import WaterNetworkModel

from hydronet.water import diagnostics, toolkit
from hydronet.water.demand import expected_demand
from hydronet.water.errors import SimulationError
from hydronet.water.jsonify import num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.memo import PerModel
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
        out.append(
            {
                "code": "sweep_incomplete",
                "severity": "warning",
                "elements": [],
                "message": f"{outcome['stopped_reason']}: {outcome['analysed']} {what} analysed, the ranking "
                "is partial",
            }
        )
    if outcome["failed"]:
        out.append(
            {
                "code": "scenarios_failed",
                "severity": "warning",
                "elements": [f["name"] for f in outcome["failed"]][:20],
                "message": f"{len(outcome['failed'])} {what} could not be solved and are not ranked",
            }
        )
    return out


def scenario_copy(model: WaterNetworkModel) -> WaterNetworkModel:
    """An independent copy of a prepared model to modify for one scenario."""
    return copy_model(model)


class Outcome:
    """What a sweep reads from one scenario (over the analysis window), per junction.

    Held as arrays (a sweep reads thousands of outcomes and most of them only through
    :func:`impact`); the Series views are made when asked for.
    """

    def __init__(
        self,
        min_pressure: pd.Series,
        served_by_junction: pd.Series,
        expected_by_junction: pd.Series,
        warnings: list[dict[str, Any]] | None = None,
    ) -> None:
        self.names = min_pressure.index
        self.pressure_m = min_pressure.to_numpy()
        self.served_m3_s = served_by_junction.reindex(self.names).to_numpy()
        self.expected_m3_s = expected_by_junction.reindex(self.names).to_numpy()
        self.warnings: list[dict[str, Any]] = list(warnings or [])

    @classmethod
    def of_arrays(
        cls, names: pd.Index, pressure_m: np.ndarray, served_m3_s: np.ndarray, expected_m3_s: np.ndarray
    ) -> Outcome:
        """An outcome from arrays aligned with ``names``."""
        outcome = cls.__new__(cls)
        outcome.names, outcome.pressure_m = names, pressure_m
        outcome.served_m3_s, outcome.expected_m3_s = served_m3_s, expected_m3_s
        outcome.warnings = []
        return outcome

    @property
    def min_pressure(self) -> pd.Series:
        """Minimum pressure of each junction over the window (m)."""
        return pd.Series(self.pressure_m, index=self.names, copy=False)

    @property
    def served_by_junction(self) -> pd.Series:
        """Delivered demand of each junction summed at report times in the window (m3/s)."""
        return pd.Series(self.served_m3_s, index=self.names, copy=False)

    @property
    def expected_by_junction(self) -> pd.Series:
        """Full demand of each junction summed at report times in the window (m3/s)."""
        return pd.Series(self.expected_m3_s, index=self.names, copy=False)

    @property
    def served_fraction(self) -> float | None:
        """Demand delivered / demand asked for (summed at report times in the window)."""
        expected = float(np.nansum(self.expected_m3_s))
        return min(float(np.nansum(self.served_m3_s)) / expected, 1.0) if expected > 0 else None


@dataclass(frozen=True)
class Prepared:
    """What every sweep of one model with one set of settings starts from (read-only, shared)."""

    model: WaterNetworkModel
    population: pd.Series
    names: pd.Index
    counted_demand: np.ndarray
    population_values: np.ndarray


def _prepare(wn: WaterNetworkModel, settings: SimSettings, demand_multiplier: float | None) -> Prepared:
    """The prepared copy of ``wn``, its junction order, which junctions have demand, and their population."""
    model = prepare(wn, settings)
    if demand_multiplier is not None:
        model.options.hydraulic.demand_multiplier *= demand_multiplier
    population = wntr.metrics.population(model)
    has_demand = pd.Series(
        {
            name: any(d.base_value > 0 for d in model.get_node(name).demand_timeseries_list)
            for name in model.junction_name_list
        },
        dtype=bool,
    )
    names = pd.Index(model.junction_name_list)
    return Prepared(
        model,
        population,
        names,
        has_demand.reindex(names).to_numpy(dtype=bool),
        population.reindex(names).fillna(0).to_numpy(dtype=float),
    )


# kept per parsed model like its open projects: population and the prepared copy cost more than a scenario
_PREPARED: PerModel[Prepared] = PerModel(toolkit.OPEN_PER_MODEL)


class Sweep:
    """Many scenarios of one prepared model: one open EPANET 2.3 project, or WNTR runs of modified copies."""

    def __init__(
        self,
        wn: WaterNetworkModel,
        settings: SimSettings,
        window_start_s: int = 0,
        window_end_s: int | None = None,
        demand_multiplier: float | None = None,
    ) -> None:
        self.settings = settings
        self.window_start_s = window_start_s
        self.window_end_s = window_end_s
        key = f"{settings.key()}|multiplier={demand_multiplier}"
        prepared = _PREPARED.get(wn, key, lambda: _prepare(wn, settings, demand_multiplier))
        self.model = prepared.model
        self.population = prepared.population
        self.names = prepared.names
        self.counted_all = np.ones(len(self.names), dtype=bool)
        self.counted_demand = prepared.counted_demand
        self.population_values = prepared.population_values
        self._name_values = self.names.to_numpy()
        self.project: toolkit.Project | None = None
        self.notes: list[dict[str, Any]] = []
        self._aligned = True
        if settings.engine == "epanet":
            if toolkit.AVAILABLE:
                self.project = toolkit.shared_project(wn, key, self.model)
                self._aligned = self.project.junction_index.equals(self.names)
            else:
                self.notes.append(diagnostics.engine_fallback("the owa-epanet toolkit is not installed"))

    def solve(self, changes: Changes | None = None) -> Outcome:
        """One scenario; ``None`` is the baseline."""
        changes = changes or Changes()
        if self.project is not None:
            solution = self.project.solve(
                changes, full=False, window_start_s=self.window_start_s, window_end_s=self.window_end_s
            )
            warnings = diagnostics.epanet_warnings(
                solution.epanet_warnings, toolkit.warning_text
            ) + diagnostics.balance_warnings(solution.balance)
            if self._aligned:
                outcome = Outcome.of_arrays(
                    self.names, solution.min_pressure_m, solution.served_m3_s, solution.expected_m3_s
                )
            else:  # the toolkit's junction order differs from the model's: align once per solve
                outcome = Outcome(
                    solution.min_pressure.reindex(self.names),
                    solution.served_by_junction.reindex(self.names),
                    solution.expected_by_junction.reindex(self.names),
                )
            outcome.warnings = warnings + diagnostics.negative_pressures(outcome.pressure_m, self._name_values)
            return outcome
        sim = run(self.model, self.settings, changes)
        model = self.model
        times = [
            t for t in sim.times_s if t >= self.window_start_s and (self.window_end_s is None or t <= self.window_end_s)
        ]
        served = sim.junction_frame("demand").loc[times]
        if "leak_demand" in sim.node:
            served = served - sim.node["leak_demand"][sim.junctions].loc[times]
        expected = expected_demand(model, times)
        return Outcome(
            sim.junction_frame("pressure").loc[times].min().reindex(self.names),
            served.sum().reindex(self.names),
            expected.sum().reindex(self.names),
            [w for w in sim.warnings if w["code"] != "disconnected_nodes"],
        )

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


def impact(
    baseline: Outcome,
    scenario: Outcome,
    threshold_m: float,
    counted: np.ndarray,
    population: np.ndarray,
    exclude: Iterable[str] = (),
) -> dict[str, Any]:
    """Junctions (where ``counted``) below the threshold in the scenario, and those newly pushed below it.

    Arrays are aligned with the outcomes' junction index (a sweep's :attr:`Sweep.names`).
    """
    before, after = baseline.pressure_m, scenario.pressure_m
    index = scenario.names
    names = index.to_numpy()  # plain array lookups: this runs once per scenario of a sweep
    mask = counted.copy()
    for name in exclude:
        mask[index.get_loc(name)] = False
    below = mask & (after < threshold_m)
    hit = np.flatnonzero(below & (before >= threshold_m))
    hit = hit[np.argsort(after[hit], kind="stable")]
    finite = np.isfinite(after)
    worst = int(np.where(finite, after, np.inf).argmin()) if finite.any() else None
    return {
        "junctions_impacted": int(hit.size),
        "junctions_below_threshold": int(below.sum()),
        "population_impacted": int(population[hit].sum()),
        "impacted_junctions": [str(name) for name in names[hit[:MAX_LISTED]]],
        "worst_pressure_m": num(after[worst]) if worst is not None else None,
        "worst_node": str(names[worst]) if worst is not None else None,
    }
