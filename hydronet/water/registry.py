"""The analysis catalogue: name → function, JSON schema of its parameters, and job class."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jsonschema
from wntr.network import WaterNetworkModel

from hydronet.water.criticality import pipe_criticality
from hydronet.water.errors import AnalysisInputError
from hydronet.water.fireflow import fire_flow
from hydronet.water.hydraulics import hydraulic
from hydronet.water.leak import leak_scenario
from hydronet.water.limits import Progress, run_with_timeout
from hydronet.water.quality import water_age
from hydronet.water.resilience import resilience
from hydronet.water.simulation import SimulationCache
from hydronet.water.summary import summary
from hydronet.water.timeseries import VARIABLES, timeseries
from hydronet.water.topology import topology
from hydronet.water.whatif import what_if


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: how to call it, its parameter schema and whether it belongs in a background job."""

    name: str
    function: Callable[..., dict[str, Any]]
    description: str
    parameters: dict[str, Any]
    long: bool = False
    uses_cache: bool = False

    def validate(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Schema-checked parameters with defaults filled in; AnalysisInputError when invalid."""
        values = dict(params or {})
        validator = jsonschema.Draft202012Validator(self.parameters)
        error = jsonschema.exceptions.best_match(validator.iter_errors(values))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "parameters"
            raise AnalysisInputError(f"{self.name}: {where}: {error.message}")
        for key, schema in self.parameters["properties"].items():
            if key not in values and "default" in schema:
                values[key] = schema["default"]
            if schema.get("type") == "integer" and values.get(key) is not None:
                values[key] = int(values[key])  # JSON Schema accepts 10.0 as an integer
        return values


def _schema(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema that rejects unknown parameters."""
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def _number(description: str, default: float | None = None, minimum: float | None = None,
            maximum: float | None = None, kind: str = "number") -> dict[str, Any]:
    """A numeric parameter schema."""
    schema: dict[str, Any] = {"type": kind, "description": description}
    for key, value in (("default", default), ("minimum", minimum), ("maximum", maximum)):
        if value is not None:
            schema[key] = value
    return schema


def _names(description: str) -> dict[str, Any]:
    """A list-of-element-names parameter schema."""
    return {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 5000,
            "description": description}


def _duration(default: float | None, maximum: float) -> dict[str, Any]:
    """The simulated period in hours."""
    text = "Simulated period in hours" + ("" if default is not None else "; omit to use the network's own duration")
    return _number(text + ".", default, 0, maximum)


_THRESHOLD = _number("Minimum acceptable service pressure in metres.", 20.0, 0, 300)
_REQUIRED = _number("Pressure-driven demand: pressure in metres giving a junction its full demand.", 20.0, 0.01, 300)
_MINIMUM = _number("Pressure-driven demand: pressure in metres below which a junction gets no water.", 0.0, 0, 300)
_ENGINE = {"type": "string", "enum": ["epanet", "wntr"], "default": "epanet",
           "description": "Solver: epanet = EPANET 2.3 toolkit; wntr = WNTR's own WNTRSimulator (for cross-checks)."}
_TOP_N = _number("How many worst items to list.", 10, 1, 100, kind="integer")
_DEMAND_MODEL = {
    "type": "string", "enum": ["DD", "PDD"], "default": "DD",
    "description": "DD = demand-driven (classic EPANET); PDD = pressure-driven (demand falls at low pressure).",
}
_STOPS_EARLY = " Stops early after the job's time limit and then reports complete=false."
_VARIABLE = {
    "type": "string", "enum": [v for v in VARIABLES if v != "leak_demand"],
    "description": "Node: pressure (m), head (m), demand (m3/s), quality. "
                   "Link: flowrate (m3/s), velocity (m/s), headloss, status, setting.",
}

_SPECS = (
    AnalysisSpec(
        "summary", summary,
        "Element counts, pipe length, time settings, controls, patterns, demand totals and extent.",
        _schema(),
    ),
    AnalysisSpec(
        "hydraulic", hydraulic,
        "Hydraulic simulation: min/max/mean junction pressure, low-pressure junctions, max velocity, "
        "tank level ranges and demand served.",
        _schema(duration_h=_duration(None, 744), demand_model=_DEMAND_MODEL, pressure_threshold_m=_THRESHOLD,
                required_pressure_m=_REQUIRED, top_n=_TOP_N),
        uses_cache=True,
    ),
    AnalysisSpec(
        "timeseries", timeseries,
        "Time series of one node variable (pressure, head, demand, quality) or link variable "
        "(flowrate, velocity, headloss, status, setting).",
        _schema(("element", "variable"),
                element={"type": "string", "description": "Node or link name, depending on the variable."},
                variable=_VARIABLE, duration_h=_duration(None, 744), demand_model=_DEMAND_MODEL),
        uses_cache=True,
    ),
    AnalysisSpec(
        "water_age", water_age,
        "Water age: network mean over the final 24 h and the oldest junctions (hours).",
        _schema(duration_h=_number("Simulated period in hours; omit for the network's duration, at least 72 h.",
                                   None, 0, 744),
                top_n=_TOP_N),
        uses_cache=True,
    ),
    AnalysisSpec(
        "resilience", resilience,
        "Todini resilience index, water service availability (pressure-driven) and pump energy in kWh.",
        _schema(duration_h=_duration(None, 744), pressure_threshold_m=_THRESHOLD, required_pressure_m=_REQUIRED,
                top_n=_TOP_N),
        uses_cache=True,
    ),
    AnalysisSpec(
        "topology", topology,
        "Graph weak points: dead ends, bridges, articulation points, central point dominance.",
        _schema(),
    ),
    AnalysisSpec(
        "pipe_criticality", pipe_criticality,
        "Close each pipe in turn (pressure-driven) and rank pipes by the junctions and population that "
        "lose service pressure." + _STOPS_EARLY,
        _schema(min_diameter_m=_number("Only pipes of at least this diameter (m; stored diameters within 0.1 mm "
                                       "count, so 0.6096 selects 24-inch pipes).", 0.0, 0, 10),
                max_diameter_m=_number("Only pipes of at most this diameter (m, same tolerance); omit for no limit.",
                                       None, 0, 10),
                duration_h=_duration(24.0, 168),
                closure_start_h=_number("Warm-up: hours the network runs normally before the pipe closes; it stays "
                                        "closed to the end of the run (WNTR's documented workflow: 24 with "
                                        "duration_h 72).", 0.0, 0, 167),
                pressure_threshold_m=_THRESHOLD, required_pressure_m=_REQUIRED, minimum_pressure_m=_MINIMUM,
                demand_only={"type": "boolean", "default": True,
                             "description": "Count only junctions that have demand (WNTR's documented default); "
                                            "false counts every junction."},
                engine=_ENGINE,
                max_pipes=_number("Analyse at most this many pipes, largest first; omit for all.",
                                  None, 1, 5000, kind="integer"),
                pipes=_names("Explicit pipe names to analyse instead of the diameter filter.")),
        long=True,
    ),
    AnalysisSpec(
        "fire_flow", fire_flow,
        "Add a fire demand at each candidate hydrant junction in turn and rank hydrants by junctions losing "
        "pressure, hydrant residual pressure and fire flow delivered." + _STOPS_EARLY,
        _schema(fire_demand_m3_s=_number("Fire flow in m3/s (0.0946 = 1500 gpm; 0.015 = 15 L/s).", 0.0946, 0.001, 10),
                fire_duration_h=_number("Fire duration in hours.", 2.0, 0.25, 72),
                fire_start_h=_number("Fire start in hours; omit to start at peak demand.", None, 0, 168),
                duration_h=_duration(24.0, 168),
                pressure_threshold_m=_number("Minimum residual pressure in metres.", 14.0, 0, 300),
                required_pressure_m=_number("Pressure-driven demand: full-demand pressure in metres.", 14.0, 0.01, 300),
                hydrants=_names("Junction names to test; omit for every junction."),
                max_hydrants=_number("Test at most this many hydrants; omit for all.", None, 1, 5000, kind="integer")),
        long=True,
    ),
    AnalysisSpec(
        "leak_scenario", leak_scenario,
        "Orifice leak at one junction (WNTR solver, pressure-driven): leak flow, lost volume and pressure "
        "drops against a no-leak run.",
        _schema(("junction",),
                junction={"type": "string", "description": "Junction name where the leak is."},
                area_m2=_number("Leak opening area in m2.", 0.005, 0.000001, 1.0),
                start_h=_number("Leak start in hours.", 0.0, 0, 168),
                end_h=_number("Leak end in hours; omit to leak until the end of the run.", None, 0, 168),
                duration_h=_duration(24.0, 168),
                discharge_coeff=_number("Orifice discharge coefficient.", 0.75, 0.1, 1.0),
                required_pressure_m=_REQUIRED),
    ),
    AnalysisSpec(
        "what_if", what_if,
        "Compare key indicators of the baseline and a modified network (closed pipes, demand multiplier, "
        "forced pump status, initial tank levels).",
        _schema(close_pipes=_names("Pipes to close for the whole run."),
                demand_multiplier=_number("Scale all demands by this factor.", 1.0, 0, 10),
                pump_status={"type": "object", "description": "Pump name → status forced for the whole run.",
                             "additionalProperties": {"type": "string", "enum": ["OPEN", "CLOSED"]}},
                tank_init_level_m={"type": "object", "description": "Tank name → initial water level in metres.",
                                   "additionalProperties": {"type": "number", "minimum": 0, "maximum": 300}},
                duration_h=_duration(None, 744), demand_model={**_DEMAND_MODEL, "default": "PDD"},
                pressure_threshold_m=_THRESHOLD, required_pressure_m=_REQUIRED, top_n=_TOP_N),
    ),
)
ANALYSES: dict[str, AnalysisSpec] = {spec.name: spec for spec in _SPECS}


def run_analysis(
    name: str,
    wn: WaterNetworkModel,
    params: Mapping[str, Any] | None = None,
    *,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
    cache: SimulationCache | None = None,
) -> dict[str, Any]:
    """Validate ``params`` against the analysis schema and run it within ``time_limit_s``.

    Long analyses stop cooperatively (partial result, ``complete: false``); others raise
    :class:`AnalysisTimeout`. ``cache`` (one mapping per network) stores/reuses simulations.
    """
    spec = ANALYSES.get(name)
    if spec is None:
        raise AnalysisInputError(f"unknown analysis {name!r}; available: {', '.join(ANALYSES)}")
    args = spec.validate(params)
    if spec.long:
        return spec.function(wn, **args, progress=progress, time_limit_s=time_limit_s)
    if spec.uses_cache:
        args["cache"] = cache
    return run_with_timeout(spec.function, time_limit_s, wn, **args)
