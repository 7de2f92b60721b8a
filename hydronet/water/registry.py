"""The analysis catalogue: name → function, JSON schema of its parameters, and job class."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
from hydronet.water.scenarios import Runner
from hydronet.water.segments import segment_criticality
from hydronet.water.simulation import SimulationCache
from hydronet.water.standards import NATIONAL, Standards
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

    def validate(self, params: Mapping[str, Any] | None, standards: Standards | None = None) -> dict[str, Any]:
        """Schema-checked parameters with defaults filled in; AnalysisInputError when invalid.

        With ``standards`` (a tenant's, from :func:`standards.defaults_from`) the defaults that come
        from the design standards are the tenant's instead of the national ones.
        """
        return self.resolve(params, standards)[0]

    def resolve(
        self, params: Mapping[str, Any] | None, standards: Standards | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """``(values, defaults)``: the validated parameters, and for each parameter whose default comes
        from the design standards the value used and where it came from (:func:`default_sources`)."""
        values = dict(params or {})
        given = set(values)
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
        standards = standards or NATIONAL
        for key, value in standard_defaults(self.name, standards, values).items():
            if key in self.parameters["properties"] and key not in given:
                values[key] = value
        return values, default_sources(self.name, standards, values, given)


def _schema(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema that rejects unknown parameters."""
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def _number(
    description: str,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    kind: str = "number",
) -> dict[str, Any]:
    """A numeric parameter schema."""
    schema: dict[str, Any] = {"type": kind, "description": description}
    for key, value in (("default", default), ("minimum", minimum), ("maximum", maximum)):
        if value is not None:
            schema[key] = value
    return schema


def _names(description: str) -> dict[str, Any]:
    """A list-of-element-names parameter schema."""
    return {
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
        "maxItems": 5000,
        "description": description,
    }


def _duration(default: float | None, maximum: float) -> dict[str, Any]:
    """The simulated period in hours."""
    text = "Simulated period in hours" + ("" if default is not None else "; omit to use the network's own duration")
    return _number(text + ".", default, 0, maximum)


_HEAD = NATIONAL.service_head_m
_ORG = " Omit for the organisation's analysis default"
_GB_HEAD = f"{_ORG} (national: {_HEAD:g} m, the GB 50013-2018 service head for {NATIONAL.storeys} storeys)."
_THRESHOLD = _number("Minimum acceptable service pressure in metres." + _GB_HEAD, _HEAD, 0, 300)
_REQUIRED = _number(
    "Pressure-driven demand: pressure in metres giving a junction its full demand." + _GB_HEAD, _HEAD, 0.01, 300
)
_MINIMUM = _number("Pressure-driven demand: pressure in metres below which a junction gets no water.", 0.0, 0, 300)
_ENGINE = {
    "type": "string",
    "enum": ["epanet", "wntr"],
    "default": "epanet",
    "description": "Solver: epanet = EPANET 2.3 toolkit; wntr = WNTR's own WNTRSimulator (for cross-checks).",
}
_TOP_N = _number("How many worst items to list.", 10, 1, 100, kind="integer")
_DEMAND_MODEL = {
    "type": "string",
    "enum": ["DD", "PDD"],
    "default": "DD",
    "description": "DD = demand-driven (classic EPANET); PDD = pressure-driven (demand falls at low pressure).",
}
_STOPS_EARLY = " Stops early after the job's time limit and then reports complete=false."
_VARIABLE = {
    "type": "string",
    "enum": [v for v in VARIABLES if v != "leak_demand"],
    "description": "Node: pressure (m), head (m), demand (m3/s), quality. "
    "Link: flowrate (m3/s), velocity (m/s), headloss, status, setting.",
}

_SPECS = (
    AnalysisSpec(
        "summary",
        summary,
        "Element counts, pipe length, time settings, controls, patterns, demand totals and extent.",
        _schema(),
    ),
    AnalysisSpec(
        "hydraulic",
        hydraulic,
        "Hydraulic simulation: min/max/mean junction pressure, low-pressure junctions, max velocity, "
        "tank level ranges and demand served.",
        _schema(
            duration_h=_duration(None, 744),
            demand_model=_DEMAND_MODEL,
            pressure_threshold_m=_THRESHOLD,
            required_pressure_m=_REQUIRED,
            top_n=_TOP_N,
        ),
        uses_cache=True,
    ),
    AnalysisSpec(
        "timeseries",
        timeseries,
        "Time series of one node variable (pressure, head, demand, quality) or link variable "
        "(flowrate, velocity, headloss, status, setting).",
        _schema(
            ("element", "variable"),
            element={"type": "string", "description": "Node or link name, depending on the variable."},
            variable=_VARIABLE,
            duration_h=_duration(None, 744),
            demand_model=_DEMAND_MODEL,
            required_pressure_m=_REQUIRED,
        ),
        uses_cache=True,
    ),
    AnalysisSpec(
        "water_age",
        water_age,
        "Water age: network mean over the final 24 h and the oldest junctions (hours).",
        _schema(
            duration_h=_number(
                "Simulated period in hours; omit for the network's duration, at least 72 h.", None, 0, 744
            ),
            top_n=_TOP_N,
        ),
        uses_cache=True,
    ),
    AnalysisSpec(
        "resilience",
        resilience,
        "Todini resilience index, water service availability (pressure-driven) and pump energy in kWh.",
        _schema(
            duration_h=_duration(None, 744),
            pressure_threshold_m=_THRESHOLD,
            required_pressure_m=_REQUIRED,
            top_n=_TOP_N,
        ),
        uses_cache=True,
    ),
    AnalysisSpec(
        "topology",
        topology,
        "Graph weak points: dead ends, bridges, articulation points, central point dominance.",
        _schema(),
    ),
    AnalysisSpec(
        "pipe_criticality",
        pipe_criticality,
        "Close each pipe in turn (pressure-driven) and rank pipes by the junctions and population that "
        "lose service pressure." + _STOPS_EARLY,
        _schema(
            min_diameter_m=_number(
                "Only pipes of at least this diameter (m; stored diameters within 0.1 mm "
                "count, so 0.6096 selects 24-inch pipes).",
                0.0,
                0,
                10,
            ),
            max_diameter_m=_number(
                "Only pipes of at most this diameter (m, same tolerance); omit for no limit.", None, 0, 10
            ),
            duration_h=_duration(24.0, 168),
            closure_start_h=_number(
                "Warm-up: hours the network runs normally before the pipe closes; it stays "
                "closed to the end of the run (WNTR's documented workflow: 24 with "
                "duration_h 72).",
                0.0,
                0,
                167,
            ),
            pressure_threshold_m=_THRESHOLD,
            required_pressure_m=_REQUIRED,
            minimum_pressure_m=_MINIMUM,
            demand_only={
                "type": "boolean",
                "default": True,
                "description": "Count only junctions that have demand (WNTR's documented default); "
                "false counts every junction.",
            },
            engine=_ENGINE,
            max_pipes=_number(
                "Analyse at most this many pipes, largest first; omit for all.", None, 1, 5000, kind="integer"
            ),
            pipes=_names("Explicit pipe names to analyse instead of the diameter filter."),
        ),
        long=True,
    ),
    AnalysisSpec(
        "segment_criticality",
        segment_criticality,
        "Valve-segment criticality: generate an isolation-valve layer, split the network into segments between "
        "valves, isolate each segment in turn (pressure-driven) and rank segments by the junctions losing service "
        "pressure and the demand left unserved." + _STOPS_EARLY,
        _schema(
            placement={
                "type": "string",
                "enum": ["strategic", "random"],
                "default": "strategic",
                "description": "Valve layer: strategic (WNTR's N-k placement) or random.",
            },
            valves_per_node=_number(
                "Valves per node for the strategic layer (k in N-k); for random, the "
                "number of valves per node on average.",
                2,
                1,
                10,
                kind="integer",
            ),
            seed=_number(
                "Random seed of the valve layer (the same seed gives the same layer).", 0, 0, 2**31 - 1, kind="integer"
            ),
            duration_h=_duration(24.0, 168),
            closure_start_h=_number("Warm-up hours before the segment is isolated.", 0.0, 0, 167),
            pressure_threshold_m=_THRESHOLD,
            required_pressure_m=_REQUIRED,
            minimum_pressure_m=_MINIMUM,
            demand_only={"type": "boolean", "default": True, "description": "Count only junctions that have demand."},
            max_segments=_number(
                "Analyse at most this many segments, largest first; omit for all.", None, 1, 5000, kind="integer"
            ),
        ),
        long=True,
    ),
    AnalysisSpec(
        "fire_flow",
        fire_flow,
        "Add a fire demand at each candidate hydrant junction in turn and rank hydrants by junctions losing "
        "pressure, hydrant residual pressure and fire flow delivered." + _STOPS_EARLY,
        _schema(
            fire_demand_m3_s=_number(
                "Fire flow in m3/s." + _ORG + " (national: 0.015, 15 L/s, "
                "GB 55036-2022 §3.0.3 / GB 50974-2014 §7.2.8).",
                NATIONAL.fire_flow_l_s / 1000,
                0.001,
                10,
            ),
            fire_duration_h=_number(
                "Fire duration in hours." + _ORG + " (national: 2 h).", NATIONAL.fire_duration_h, 0.25, 72
            ),
            fire_start_h=_number(
                "Fire start in hours; omit to start at the peak hour (of the maximum day when "
                "the model's demands are the maximum day).",
                None,
                0,
                168,
            ),
            duration_h=_duration(24.0, 168),
            pressure_threshold_m=_number(
                "Minimum residual pressure in metres at the hydrant and elsewhere during "
                "the fire." + _ORG + " (national: 10 m, 0.10 MPa, GB 55036-2022 §3.0.3).",
                NATIONAL.fire_residual_pressure_m,
                0,
                300,
            ),
            required_pressure_m=_number(
                "Pressure-driven demand during the fire: full-demand pressure in "
                "metres." + _ORG + " (the residual pressure).",
                NATIONAL.fire_residual_pressure_m,
                0.01,
                300,
            ),
            demand_multiplier=_number(
                "Maximum-day factor applied to the model's demands (1 = the model is the maximum day)." + _ORG + ".",
                NATIONAL.max_day_factor,
                0,
                10,
            ),
            hydrant_normal_pressure_m=_number(
                "Normal working pressure a hydrant needs outside a fire."
                + _ORG
                + " (national: 14 m, 0.14 MPa, GB 55036-2022 §3.0.3).",
                NATIONAL.hydrant_normal_pressure_m,
                0,
                300,
            ),
            hydrants=_names("Junction names to test; omit for every junction."),
            max_hydrants=_number("Test at most this many hydrants; omit for all.", None, 1, 5000, kind="integer"),
        ),
        long=True,
    ),
    AnalysisSpec(
        "leak_scenario",
        leak_scenario,
        "Orifice leak at one junction (EPANET 2.3 emitter, pressure-driven): leak flow, lost volume and pressure "
        "drops against a no-leak run.",
        _schema(
            ("junction",),
            junction={"type": "string", "description": "Junction name where the leak is."},
            kind={
                "type": "string",
                "enum": ["leak", "main_break"],
                "default": "leak",
                "description": "leak = a small opening (national default 1 cm²); main_break = a burst main "
                "(national default 50 cm²); the organisation may set other sizes.",
            },
            area_m2=_number(
                "Opening area in m2; omit for the organisation's default of the kind.", None, 0.000001, 1.0
            ),
            start_h=_number("Leak start in hours.", 0.0, 0, 168),
            end_h=_number("Leak end in hours; omit to leak until the end of the run.", None, 0, 168),
            duration_h=_duration(24.0, 168),
            discharge_coeff=_number(
                "Orifice discharge coefficient (0.6 = sharp-edged orifice)." + _ORG + ".",
                NATIONAL.leak_discharge_coeff,
                0.1,
                1.0,
            ),
            required_pressure_m=_REQUIRED,
            engine={
                **_ENGINE,
                "description": "Solver: epanet = EPANET 2.3 emitter; wntr = WNTR's leak model and solver.",
            },
        ),
    ),
    AnalysisSpec(
        "what_if",
        what_if,
        "Compare key indicators of the baseline and a modified network (closed pipes, demand multiplier, "
        "forced pump status, initial tank levels).",
        _schema(
            close_pipes=_names("Pipes to close for the whole run."),
            demand_multiplier=_number("Scale all demands by this factor.", 1.0, 0, 10),
            pump_status={
                "type": "object",
                "description": "Pump name → status forced for the whole run.",
                "additionalProperties": {"type": "string", "enum": ["OPEN", "CLOSED"]},
            },
            tank_init_level_m={
                "type": "object",
                "description": "Tank name → initial water level in metres.",
                "additionalProperties": {"type": "number", "minimum": 0, "maximum": 300},
            },
            duration_h=_duration(None, 744),
            demand_model={**_DEMAND_MODEL, "default": "PDD"},
            pressure_threshold_m=_THRESHOLD,
            required_pressure_m=_REQUIRED,
            top_n=_TOP_N,
        ),
    ),
)
ANALYSES: dict[str, AnalysisSpec] = {spec.name: spec for spec in _SPECS}


def standard_defaults(kind: str, standards: Standards, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters of analysis ``kind`` whose defaults come from the design standards, with ``standards``' values.

    ``values`` (the parameters given so far) decides defaults that depend on another parameter: a leak's
    opening follows its ``kind``.
    """
    head = standards.service_head_m
    if kind == "fire_flow":
        return {
            "fire_demand_m3_s": standards.fire_flow_l_s / 1000.0,
            "fire_duration_h": standards.fire_duration_h,
            "pressure_threshold_m": standards.fire_residual_pressure_m,
            "required_pressure_m": standards.fire_residual_pressure_m,
            "demand_multiplier": standards.max_day_factor,
            "hydrant_normal_pressure_m": standards.hydrant_normal_pressure_m,
        }
    if kind == "leak_scenario":
        burst = (values or {}).get("kind") == "main_break"
        return {
            "required_pressure_m": head,
            "discharge_coeff": standards.leak_discharge_coeff,
            "area_m2": standards.break_area_m2 if burst else standards.leak_area_m2,
        }
    return {"pressure_threshold_m": head, "required_pressure_m": head}


# the flagging limits of water.standards each analysis' findings compare its result with (not parameters)
FINDING_LIMITS = {
    "hydraulic": ("max_pressure_m", "max_velocity_m_s"),
    "what_if": ("max_pressure_m", "max_velocity_m_s"),
    "water_age": ("max_water_age_h",),
}

# the entry of Standards.sources() that explains a parameter, where it is not the parameter's own name
_SOURCE_OF = {
    ("fire_flow", "pressure_threshold_m"): "fire_residual_pressure_m",
    ("fire_flow", "required_pressure_m"): "fire_residual_pressure_m",
}


def default_sources(
    kind: str, standards: Standards, values: Mapping[str, Any], given: set[str]
) -> dict[str, dict[str, Any]]:
    """For each parameter of ``kind`` with a standard default: ``{value, origin, source}``.

    ``origin`` is ``request`` when the request gave the value, ``tenant`` when the tenant's setting
    changed the default from the national one (``basis`` then names the rule it was derived by), else
    ``standard`` with the standard's clause as ``source``.
    """
    spec = ANALYSES[kind]
    tenant = standard_defaults(kind, standards, values)
    national = standard_defaults(kind, NATIONAL, values)
    texts = standards.sources()
    if kind == "fire_flow":
        tenant["fire_start_h"] = national["fire_start_h"] = None
    out: dict[str, dict[str, Any]] = {}
    for name in tenant:
        if name not in spec.parameters["properties"]:
            continue
        key = _SOURCE_OF.get((kind, name), name)
        if name == "area_m2" and values.get("kind") == "main_break":
            key = "break_area_m2"
        if name in given:
            out[name] = {"value": values.get(name), "origin": "request", "source": "request"}
        else:
            out[name] = _origin(values.get(name), tenant[name] != national[name], texts[key]["source"])
    for name in FINDING_LIMITS.get(kind, ()):
        value = getattr(standards, name)
        out[name] = _origin(value, value != getattr(NATIONAL, name), texts[name]["source"])
    return out


def _origin(value: Any, tenant_changed: bool, text: str) -> dict[str, Any]:
    """A default's entry: the tenant's setting (``basis`` names the rule) or the standard's."""
    if tenant_changed:
        return {"value": value, "origin": "tenant", "source": "tenant setting", "basis": text}
    return {"value": value, "origin": "standard", "source": text}


def run_analysis(
    name: str,
    wn: WaterNetworkModel,
    params: Mapping[str, Any] | None = None,
    *,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
    cache: SimulationCache | None = None,
    standards: Standards | None = None,
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Validate ``params`` against the analysis schema and run it within ``time_limit_s``.

    Long analyses stop cooperatively (partial result, ``complete: false``); others raise
    :class:`AnalysisTimeout`. ``cache`` (one mapping per network) stores/reuses simulations.
    ``standards`` replaces the national defaults (a tenant's settings). The result's
    ``settings.defaults`` names, for each parameter with a standard default, the value used and
    where it came from (the standard, the tenant's setting or the request). ``runner`` evaluates a
    long analysis' scenarios (see :mod:`hydronet.water.sweeps`); by default in this process.
    """
    spec = ANALYSES.get(name)
    if spec is None:
        raise AnalysisInputError(f"unknown analysis {name!r}; available: {', '.join(ANALYSES)}")
    args, used = spec.resolve(params, standards)
    if spec.long:
        extra = {} if runner is None else {"runner": runner}
        result = spec.function(wn, **args, progress=progress, time_limit_s=time_limit_s, **extra)
    else:
        if spec.uses_cache:
            args["cache"] = cache
        result = run_with_timeout(spec.function, time_limit_s, wn, **args)
    settings = result.get("settings")
    if isinstance(settings, dict):
        if used:
            settings["defaults"] = used
        if standards is not None and standards != NATIONAL:
            # the findings read their thresholds from here, also for analyses without standard parameters
            settings["standards"] = standards.as_dict()
    return result
