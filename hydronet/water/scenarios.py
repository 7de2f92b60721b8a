"""Building blocks shared by scenario analyses: forcing link states and counting impacts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import pandas as pd
import wntr
from wntr.network import LinkStatus, WaterNetworkModel

from hydronet.water.errors import SimulationError
from hydronet.water.jsonify import num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.simulation import SimSettings, Simulation, copy_model, run

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
