"""A structural and settings overview of a network model."""

from __future__ import annotations

from typing import Any

import numpy as np
from wntr.network import WaterNetworkModel

from hydronet.water.hydraulics import expected_demand
from hydronet.water.jsonify import num

MAX_CONTROLS = 30


def summary(wn: WaterNetworkModel) -> dict[str, Any]:
    """Element counts, lengths, time settings, controls, patterns, demands and extent (SI units)."""
    time = wn.options.time
    controls = [f"{name}: {control}" for name, control in wn.controls()]
    lengths = np.array([pipe.length for _, pipe in wn.pipes()], dtype=float)
    diameters = np.array([pipe.diameter for _, pipe in wn.pipes()], dtype=float)
    return {
        "name": wn.name,
        "counts": {
            "junctions": wn.num_junctions,
            "tanks": wn.num_tanks,
            "reservoirs": wn.num_reservoirs,
            "pipes": wn.num_pipes,
            "pumps": wn.num_pumps,
            "valves": wn.num_valves,
            "patterns": wn.num_patterns,
            "curves": wn.num_curves,
            "controls": len(controls),
        },
        "total_pipe_length_m": num(lengths.sum()),
        "pipe_diameter_range_m": [num(diameters.min()), num(diameters.max())] if diameters.size else None,
        "units": {
            "source_flow_units": str(wn.options.hydraulic.inpfile_units),
            "results": "SI internally (m, m3/s, s)",
        },
        "headloss_formula": str(wn.options.hydraulic.headloss),
        "quality_parameter": str(wn.options.quality.parameter),
        "time": {
            "duration_s": int(time.duration),
            "duration_h": time.duration / 3600,
            "hydraulic_timestep_s": int(time.hydraulic_timestep),
            "report_timestep_s": int(time.report_timestep),
            "pattern_timestep_s": int(time.pattern_timestep),
            "quality_timestep_s": int(time.quality_timestep),
        },
        "controls": controls[:MAX_CONTROLS],
        "controls_truncated": len(controls) > MAX_CONTROLS,
        "patterns": list(wn.pattern_name_list),
        "demand": _demand(wn),
        "bounding_box": _bounding_box(wn),
    }


def _demand(wn: WaterNetworkModel) -> dict[str, Any]:
    """Base demand total, and average expected demand over one day of patterns."""
    base = sum(sum(entry.base_value for entry in junction.demand_timeseries_list) for _, junction in wn.junctions())
    day = range(0, 24 * 3600, max(int(wn.options.time.pattern_timestep), 60))
    expected = expected_demand(wn, day)
    return {
        "total_base_demand_m3_s": num(base),
        "average_expected_demand_m3_s": num(expected.sum(axis=1).mean()) if wn.num_junctions else 0.0,
        "demand_multiplier": num(wn.options.hydraulic.demand_multiplier),
        "junctions_with_demand": int(sum(1 for _, j in wn.junctions() if j.base_demand > 0)),
    }


def _bounding_box(wn: WaterNetworkModel) -> dict[str, float | None] | None:
    """Extent of node coordinates (model units, usually metres or feet, not converted)."""
    coordinates = np.array([node.coordinates for _, node in wn.nodes() if node.coordinates is not None], dtype=float)
    if coordinates.size == 0:
        return None
    return {
        "min_x": num(coordinates[:, 0].min()),
        "min_y": num(coordinates[:, 1].min()),
        "max_x": num(coordinates[:, 0].max()),
        "max_y": num(coordinates[:, 1].max()),
    }
