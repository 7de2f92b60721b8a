"""Building blocks shared by scenario analyses: sweeps over one open project, link states, impacts.

A :class:`Sweep` prepares the model once and, with EPANET, opens it once in the 2.3 toolkit;
each scenario is a :class:`toolkit.Changes` solved in memory. With ``engine="wntr"`` (or without
the toolkit) each scenario is a modified copy of the model run through WNTR.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
import wntr
from wntr.network import LinkStatus, WaterNetworkModel

from hydronet.water.errors import SimulationError
from hydronet.water.jsonify import num
from hydronet.water.limits import Deadline, Progress
from hydronet.water import diagnostics, toolkit
from hydronet.water.demand import expected_demand
from hydronet.water.simulation import SimSettings, Simulation, copy_model, prepare, run
from hydronet.water.toolkit import Changes, Timed

MAX_LISTED = 20


def force_link_status(model: WaterNetworkModel, name: str, status: str) -> None:
    """Hold a link OPEN or CLOSED for the whole run, removing controls/rules that would switch it."""
    link = model.get_link(name)
    link.initial_status = LinkStatus.Closed if status.upper() == "CLOSED" else LinkStatus.Open
    for control_name, control in list(model.controls()):
        if any(getattr(action.target()[0], "name", None) == name for action in control.actions()):
            model.remove_control(control_name)


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
        self.has_demand = pd.Series({name: any(d.base_value > 0 for d in self.model.get_node(name).demand_timeseries_list)
                                     for name in self.model.junction_name_list}, dtype=bool)
        self.project: toolkit.Project | None = None
        self.notes: list[dict[str, Any]] = []
        if settings.engine == "epanet":
            if toolkit.AVAILABLE:
                self.project = toolkit.Project(self.model)
            else:
                self.notes.append(diagnostics.engine_fallback("the owa-epanet toolkit is not installed"))

    def solve(self, changes: Changes | None = None) -> Outcome:
        """One scenario; ``None`` is the baseline."""
        changes = changes or Changes()
        if self.project is not None:
            solution = self.project.solve(changes, full=False, window_start_s=self.window_start_s,
                                          window_end_s=self.window_end_s)
            warnings = diagnostics.balance_warnings(solution.balance)
            return Outcome(solution.min_pressure, solution.served_by_junction, solution.expected_by_junction,
                           warnings + diagnostics.pressure_warnings(solution.min_pressure))
        model = copy_model(self.model)
        apply_changes(model, changes, wntr_leaks=self.settings.engine == "wntr")
        sim = run(model, self.settings)
        times = [t for t in sim.times_s
                 if t >= self.window_start_s and (self.window_end_s is None or t <= self.window_end_s)]
        served = sim.junction_frame("demand").loc[times]
        if "leak_demand" in sim.node:
            served = served - sim.node["leak_demand"][sim.junctions].loc[times]
        expected = expected_demand(model, times)
        return Outcome(sim.junction_frame("pressure").loc[times].min(), served.sum(), expected.sum(),
                       [w for w in sim.warnings if w["code"] != "disconnected_nodes"])

    def close(self) -> None:
        """Release the toolkit project."""
        if self.project is not None:
            self.project.close()

    def __enter__(self) -> "Sweep":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def apply_changes(model: WaterNetworkModel, changes: Changes, wntr_leaks: bool) -> None:
    """The same scenario on a WNTR model (for the WNTR solver and the EPANET 2.2 fallback)."""
    for name in changes.open_links:
        force_link_status(model, name, "OPEN")
    for name in changes.close_links:
        link = model.get_link(name)
        initial = link.initial_status
        force_link_status(model, name, "CLOSED")  # also drops the controls acting on it
        if changes.closure_start_s > 0:
            link.initial_status = initial
            action = wntr.network.controls.ControlAction(link, "status", LinkStatus.Closed)
            condition = wntr.network.controls.SimTimeCondition(model, "=", changes.closure_start_s)
            model.add_control(f"hydronet-close-{name}", wntr.network.controls.Control(condition, action))
    if changes.demand_multiplier is not None:
        model.options.hydraulic.demand_multiplier *= changes.demand_multiplier
    for name, level in changes.tank_init_level_m.items():
        model.get_node(name).init_level = level
    for name, timed in changes.extra_demand_m3_s.items():
        pattern = f"hydronet-window-{name}"
        model.add_pattern(pattern, window_pattern(model, timed))
        model.get_node(name).add_demand(timed.value, pattern, category="hydronet scenario")
    for name, timed in changes.emitters.items():
        node = model.get_node(name)
        if wntr_leaks:
            area = timed.value / math.sqrt(2 * 9.80665)  # Cd·A with Cd = 1
            node.add_leak(model, area=area, discharge_coeff=1.0, start_time=timed.start_s, end_time=timed.end_s)
        else:
            node.emitter_coefficient = timed.value


def window_pattern(model: WaterNetworkModel, timed: Timed) -> list[float]:
    """A 0/1 pattern at the model's pattern step that is on inside the window."""
    step = int(model.options.time.pattern_timestep) or 3600
    count = max(math.ceil((int(model.options.time.duration) + 1) / step), 1)
    return [1.0 if timed.at(index * step) else 0.0 for index in range(count)]


def impact(baseline: Outcome, scenario: Outcome, threshold_m: float, counted: pd.Index,
           population: pd.Series, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Junctions (among ``counted``) below the threshold in the scenario, and those newly pushed below it."""
    before = baseline.min_pressure.reindex(counted)
    after = scenario.min_pressure.reindex(counted).drop(list(exclude), errors="ignore")
    below = after[after < threshold_m]
    hit = below[before.reindex(below.index) >= threshold_m].sort_values()
    everywhere = scenario.min_pressure
    return {
        "junctions_impacted": int(hit.size),
        "junctions_below_threshold": int(below.size),
        "population_impacted": int(population.reindex(hit.index).fillna(0).sum()),
        "impacted_junctions": [str(node) for node in hit.index[:MAX_LISTED]],
        "worst_pressure_m": num(everywhere.min()) if everywhere.size else None,
        "worst_node": str(everywhere.idxmin()) if everywhere.size and np.isfinite(everywhere.min()) else None,
    }
