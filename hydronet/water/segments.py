"""Segment criticality: isolate each valve segment in turn (as a repair crew would) and rank the harm.

EPANET models rarely carry isolation valves, so a valve layer is generated with WNTR
(``generate_valve_layer``: "strategic" places ``valves_per_node`` − 1 … valves at each node so that
isolating a pipe closes few others, "random" places them at random, both reproducible through
``seed``). WNTR's ``valve_segments`` groups links and nodes between valves into segments;
isolating a segment closes all its links. Segments are ranked by the junctions that fall below the
service pressure and the demand left unserved.
"""

from __future__ import annotations

from typing import Any

import wntr
from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.errors import AnalysisInputError
from hydronet.water.jsonify import num
from hydronet.water.limits import Deadline, Progress
from hydronet.water.scenarios import MAX_LISTED, Runner, Sweep, impact, run_each, sweep_warnings
from hydronet.water.simulation import make_settings
from hydronet.water.standards import NATIONAL
from hydronet.water.toolkit import Changes

PLACEMENTS = ("strategic", "random")


def segment_criticality(
    wn: WaterNetworkModel,
    placement: str = "strategic",
    valves_per_node: int = 2,
    seed: int = 0,
    duration_h: float | None = 24.0,
    closure_start_h: float = 0.0,
    pressure_threshold_m: float = NATIONAL.service_head_m,
    required_pressure_m: float = NATIONAL.service_head_m,
    minimum_pressure_m: float = 0.0,
    demand_only: bool = True,
    max_segments: int | None = None,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
    runner: Runner = run_each,
) -> dict[str, Any]:
    """Rank valve segments by the harm done when each is isolated (all its links closed), largest first.

    Segments are tried in order of their link count (largest first), capped at ``max_segments``.
    Stops early (``complete: false``) after ``time_limit_s``.
    """
    placement = checks.choice("placement", placement, PLACEMENTS).lower()
    per_node = checks.count("valves_per_node", valves_per_node, 1, 10)
    seed = checks.count("seed", seed, 0, 2**31 - 1)
    threshold = checks.number("pressure_threshold_m", pressure_threshold_m, 0, 300)
    if not isinstance(demand_only, bool):
        raise AnalysisInputError("demand_only must be true or false")
    settings = make_settings(wn, duration_h, "PDD", required_pressure_m, minimum_pressure_m, quality="NONE")
    start_s = int(round(checks.number("closure_start_h", closure_start_h, 0, checks.MAX_DURATION_H) * 3600))
    if start_s > 0 and start_s >= settings.duration_s:
        raise AnalysisInputError(
            f"closure_start_h ({closure_start_h:g}) must be before the end of the run "
            f"({settings.duration_s / 3600:g} h)"
        )
    valves = wntr.network.generate_valve_layer(wn, placement_type=placement, n=per_node, seed=seed)
    node_segments, link_segments, _sizes = wntr.metrics.valve_segments(wn.to_graph(), valves)
    links_of = {
        int(seg): [str(name) for name in names] for seg, names in link_segments.groupby(link_segments).groups.items()
    }
    nodes_of = {
        int(seg): [str(name) for name in names] for seg, names in node_segments.groupby(node_segments).groups.items()
    }
    order = sorted(links_of, key=lambda seg: (-len(links_of[seg]), seg))
    if max_segments is not None:
        order = order[: checks.count("max_segments", max_segments)]
    junctions = set(wn.junction_name_list)
    with Sweep(wn, settings, window_start_s=start_s) as sweep:
        baseline = sweep.solve()
        counted = sweep.counted(demand_only)
        expected_total = float(baseline.expected_by_junction.sum())

        def isolate(segment: str) -> dict[str, Any]:
            """Close every link of one segment and describe the outcome."""
            seg = int(segment)
            links = links_of[seg]
            scenario = sweep.solve(Changes(close_links=tuple(links), closure_start_s=start_s))
            inside = [name for name in nodes_of.get(seg, []) if name in junctions]
            unserved = expected_total - float(scenario.served_by_junction.sum())
            return {
                "segment": seg,
                "link_count": len(links),
                "links": links[:MAX_LISTED],
                "junctions_in_segment": inside[:MAX_LISTED],
                "junctions_in_segment_count": len(inside),
                **impact(baseline, scenario, threshold, counted, sweep.population_values),
                "demand_served_fraction": num(scenario.served_fraction),
                "demand_unserved_fraction": num(max(unserved, 0.0) / expected_total) if expected_total > 0 else None,
                "warning_codes": sorted({w["code"] for w in scenario.warnings}),
            }

        outcome = runner([str(seg) for seg in order], isolate, progress, Deadline(time_limit_s))
    ranking = sorted(
        outcome.pop("rows"),
        key=lambda row: (-row["junctions_impacted"], -(row["demand_unserved_fraction"] or 0.0), row["segment"]),
    )
    return {
        "settings": {
            **settings.as_dict(),
            "placement": placement,
            "valves_per_node": per_node,
            "seed": seed,
            "closure_start_h": start_s / 3600,
            "pressure_threshold_m": threshold,
            "demand_only": demand_only,
            "method": "valve layer from wntr.network.generate_valve_layer, segments from wntr.metrics.valve_segments; "
            "each segment isolated by closing all its links from closure_start_h to the end of the run",
            "defaults": NATIONAL.used(
                {"pressure_threshold_m": threshold, "required_pressure_m": settings.required_pressure_m}
            ),
        },
        "warnings": sweep.notes + baseline.warnings + sweep_warnings(outcome, "segments"),
        "valve_count": int(len(valves)),
        "segment_count": len(links_of),
        "segments_considered": len(order),
        **outcome,
        "junctions_counted": int(counted.sum()),
        "ranking": ranking,
        "link_segment": {str(link): int(seg) for link, seg in link_segments.items()},
    }
