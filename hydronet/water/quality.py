"""Water age: how long water has been in the network when it reaches each junction."""

from __future__ import annotations

from typing import Any

import numpy as np
from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.diagnostics import finding
from hydronet.water.jsonify import num, series_map
from hydronet.water.simulation import SimulationCache, cached_simulate, make_settings

DEFAULT_MIN_DURATION_H = 72.0
WINDOW_H = 24.0
STAGNANT_SLACK_S = 60  # quality steps are minutes: within this of the clock counts as 'equal'


def water_age(
    wn: WaterNetworkModel,
    duration_h: float | None = None,
    top_n: int = 10,
    cache: SimulationCache | None = None,
) -> dict[str, Any]:
    """Age of water (hours) averaged over the final 24 h of an AGE run, network-wide and oldest junctions.

    Without ``duration_h`` the run lasts the model's duration but at least 72 h, so that age
    has time to build up from the zero initial value.
    """
    top_n = checks.count("top_n", top_n, 1, 1000)
    settings = make_settings(wn, duration_h, quality="AGE", minimum_duration_h=DEFAULT_MIN_DURATION_H)
    sim = cached_simulate(wn, settings, cache)
    age_h = sim.junction_frame("quality") / 3600.0
    end_s = sim.times_s[-1]
    start_s = max(end_s - int(WINDOW_H * 3600), 0)
    window = age_h.loc[start_s:end_s]
    mean_age = window.mean()
    served = sim.junction_frame("demand").loc[start_s:end_s].clip(lower=0)
    weights = served.to_numpy()
    oldest = mean_age.sort_values(ascending=False).head(top_n)
    final_age_s = sim.junction_frame("quality").iloc[-1]
    # age starts at zero, so a junction whose age has kept pace with the clock was never reached by fresh water
    stagnant = sorted(str(node) for node in final_age_s.index[final_age_s >= end_s - STAGNANT_SLACK_S])
    return {
        "settings": {
            **settings.as_dict(),
            "method": (
                f"EPANET AGE quality run of at least {DEFAULT_MIN_DURATION_H:g} h from age 0; age "
                f"averaged over the final {WINDOW_H:g} h per junction; a junction whose age equals "
                "the run length was never reached by fresh water (stagnant, see warnings)"
            ),
        },
        "window": {"start_h": start_s / 3600, "end_h": end_s / 3600},
        "mean_age_h": num(mean_age.mean()),
        "demand_weighted_mean_age_h": (
            num(np.average(window.to_numpy(), weights=weights)) if weights.sum() > 0 else None
        ),
        "max_age_h": num(window.to_numpy().max()),
        "oldest_junctions": [
            {"node": str(node), "mean_age_h": num(age), "max_age_h": num(window[node].max())}
            for node, age in oldest.items()
        ],
        "node_mean_age_h": series_map(mean_age, 3),
        "stagnant_junctions": stagnant,
        "warning": _warning(settings.duration_s),
        "warnings": list(sim.warnings) + _stagnant_warning(stagnant, end_s),
    }


def _stagnant_warning(stagnant: list[str], end_s: int) -> list[dict[str, Any]]:
    """Junctions whose age equals the run length: stagnant, or never reached by water from a source."""
    if not stagnant:
        return []
    return [
        finding(
            "age_equals_run_length",
            f"{len(stagnant)} junctions have an age equal to the run length ({end_s / 3600:g} h): the water "
            "there is stagnant or never arrived from a source, so their age is a lower bound",
            stagnant,
        )
    ]


def _warning(duration_s: int) -> str | None:
    """A caveat when the run is too short for ages to settle."""
    if duration_s < DEFAULT_MIN_DURATION_H * 3600:
        return f"run is shorter than {DEFAULT_MIN_DURATION_H:g} h: ages may still be building up from zero"
    return None
