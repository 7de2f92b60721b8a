"""Time series of one node or link variable, from a cached or fresh simulation."""

from __future__ import annotations

from typing import Any

from wntr.network import WaterNetworkModel

from hydronet.water import checks
from hydronet.water.errors import AnalysisInputError
from hydronet.water.jsonify import at_time, num
from hydronet.water.simulation import QUALITY_UNITS, Simulation, SimulationCache, cached_simulate, make_settings
from hydronet.water.standards import NATIONAL

NODE_VARIABLES = {"pressure": "m", "head": "m", "demand": "m3/s", "quality": "", "leak_demand": "m3/s"}
LINK_VARIABLES = {"flowrate": "m3/s", "velocity": "m/s", "headloss": "", "status": "0=closed,1=open", "setting": ""}
VARIABLES = tuple(NODE_VARIABLES) + tuple(LINK_VARIABLES)


def timeseries(
    source: Simulation | WaterNetworkModel,
    element: str,
    variable: str,
    duration_h: float | None = None,
    demand_model: str = "DD",
    cache: SimulationCache | None = None,
    required_pressure_m: float = NATIONAL.service_head_m,
) -> dict[str, Any]:
    """``{"points": [{time_s, time_h, value}], unit, min/max/mean}`` for a node or link variable.

    ``source`` is a cached :class:`Simulation` (then ``duration_h``/``demand_model`` are ignored)
    or a model, simulated with those settings (or taken from ``cache``); under pressure-driven demand
    ``required_pressure_m`` is the full-demand pressure, as in the hydraulic analysis the series belongs to.
    """
    variable = checks.choice("variable", variable, VARIABLES).lower()
    is_node = variable in NODE_VARIABLES
    if isinstance(source, Simulation):
        sim = source
    else:
        checks.element(source, element, "node" if is_node else "link")
        # Quality is solved only when asked for; otherwise the run is the hydraulic analysis's (shared via cache).
        quality = None if variable == "quality" else "NONE"
        settings = make_settings(source, duration_h, demand_model, required_pressure_m, quality=quality)
        sim = cached_simulate(source, settings, cache)
    frames = sim.node if is_node else sim.link
    if variable not in frames:
        raise AnalysisInputError(f"{variable!r} is not available from the {sim.settings.engine} engine")
    frame = frames[variable]
    if element not in frame.columns:
        raise AnalysisInputError(f"unknown {'node' if is_node else 'link'} {element!r}")
    series = frame[element]
    return {
        "element": element,
        "element_type": "node" if is_node else "link",
        "variable": variable,
        "unit": _unit(sim, element, variable),
        "min": num(series.min()),
        "max": num(series.max()),
        "mean": num(series.mean()),
        "points": [{**at_time(time_s), "value": num(value)} for time_s, value in series.items()],
        "warnings": list(sim.warnings),
    }


def _unit(sim: Simulation, element: str, variable: str) -> str:
    """SI unit of a variable (quality depends on the parameter, headloss on the link type)."""
    if variable == "quality":
        return QUALITY_UNITS.get(sim.quality_parameter, "")
    if variable == "headloss":
        return "m/m (pipe gradient)" if element in sim.pipes else "m"
    return NODE_VARIABLES.get(variable) or LINK_VARIABLES[variable]
