"""The assistant's water-network tools: the analyses of ``hydronet.water`` on the tenant's stored networks.

Each tool takes a ``network_id`` (from ``list_networks``) plus the parameters of one analysis in
``hydronet.water.registry.ANALYSES``. Results go through the same cache as the REST API, so chat
and REST quote the same numbers; the model gets a compact, rounded result and the UI the full one.
Tool runs are metered by the chat turn (or the MCP endpoint), not here.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.jsonio import iso
from hydronet.llm.tools import Tool, ToolContext, ToolError, ToolOutput
from hydronet.models import Network
from hydronet.water import jobs as analysis_jobs
from hydronet.water.compact import compact
from hydronet.water.errors import AnalysisTimeout, WaterError
from hydronet.water.registry import ANALYSES

TOOL_TIME_LIMIT_S = 25.0  # keeps a chat turn responsive; long analyses stop early and say so
CHAT_MAX_ITEMS = 50  # default and cap of pipes/hydrants analysed by one chat tool call
COMPACT_DIGITS = 4
FULL_MAX_ENTRIES = 2000  # per-element maps/lists larger than this are left out of the stored full result
SERIES_SAMPLE = 25
NETWORK_ID = {"type": "string", "description": "The network_id of one of the user's networks, from list_networks."}
UNITS = (
    "All numbers are SI: pressure and head in m, flow and demand in m3/s, velocity in m/s, length and "
    "diameter in m, volume in m3, energy in kWh; times are time_h (hours from the start of the simulation) "
    "and time_s (seconds)."
)


def _tenant_network(ctx: ToolContext, network_id: Any) -> Network:
    """The network of the caller's tenant (explicit tenant filter on top of the session scope)."""
    try:
        uid, tid = uuid.UUID(str(network_id)), uuid.UUID(str(ctx.tenant_id))
    except ValueError:
        raise ToolError("network not found: call list_networks for valid network_id values") from None
    found = db.session.execute(select(Network).where(Network.id == uid, Network.tenant_id == tid)).scalar_one_or_none()
    if found is None:
        raise ToolError("network not found: call list_networks for valid network_id values")
    return found


def _label(network: Network) -> dict[str, str]:
    """Which network a result belongs to."""
    return {"network_id": str(network.id), "network_name": network.name}


def _trim_full(result: dict[str, Any]) -> dict[str, Any]:
    """The full result for the UI, without per-element maps/lists too large to store with a message."""
    dropped = [
        key for key, value in result.items() if isinstance(value, (dict, list)) and len(value) > FULL_MAX_ENTRIES
    ]
    if not dropped:
        return result
    kept = {key: value for key, value in result.items() if key not in dropped}
    return {**kept, "omitted_large_fields": dropped}


def _for_model(result: dict[str, Any], kind: str) -> dict[str, Any]:
    """The compact result the model sees; run settings without entries that do not apply to this run."""
    brief = _series_for_model(result) if kind == "timeseries" else compact(result, kind, digits=COMPACT_DIGITS)
    settings = brief.get("settings")
    if isinstance(settings, dict):
        unused = {"duration_s", "quality"} | (
            {"required_pressure_m", "minimum_pressure_m"} if settings.get("demand_model") == "DD" else set()
        )
        brief["settings"] = {key: value for key, value in settings.items() if key not in unused}
    return brief


def _series_for_model(result: dict[str, Any]) -> dict[str, Any]:
    """A time series for the model: statistics, when the extremes occur and a thinned curve."""
    points = result.get("points") or []
    out = compact(result, "timeseries", digits=COMPACT_DIGITS)
    valued = [p for p in points if p.get("value") is not None]
    if valued:
        out["min_at_time_h"] = min(valued, key=lambda p: p["value"])["time_h"]
        out["max_at_time_h"] = max(valued, key=lambda p: p["value"])["time_h"]
    step = max(1, -(-len(points) // SERIES_SAMPLE))
    out["points_sample"] = [{"time_h": p["time_h"], "value": p["value"]} for p in points[::step]]
    out["point_count"] = len(points)
    return out


def _chat_params(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Analysis parameters from tool arguments; long analyses get a default work cap in chat."""
    params = {key: value for key, value in args.items() if key != "network_id"}
    if kind == "pipe_criticality" and not params.get("pipes"):
        params.setdefault("max_pipes", CHAT_MAX_ITEMS)
    if kind == "fire_flow" and not params.get("hydrants"):
        params.setdefault("max_hydrants", CHAT_MAX_ITEMS)
    if kind == "segment_criticality":
        params.setdefault("max_segments", CHAT_MAX_ITEMS)
    return params


def tool_time_limit() -> float:
    """Seconds one tool call may compute."""
    return min(TOOL_TIME_LIMIT_S, float(current_app.config["ANALYSIS_TIMEOUT_S"]))


def _analysis_handler(kind: str) -> Callable[[ToolContext, dict[str, Any]], ToolOutput]:
    """A tool handler running analysis ``kind`` on the tenant's network."""

    def handle(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
        network = _tenant_network(ctx, args.get("network_id"))
        try:
            result, _cached = analysis_jobs.analyse(
                network, kind, _chat_params(kind, args), time_limit_s=tool_time_limit()
            )
        except AnalysisTimeout as exc:
            raise ToolError(f"{exc.message}: try a shorter duration_h, or run it from the Networks page") from None
        except WaterError as exc:
            raise ToolError(exc.message) from None
        return ToolOutput(
            for_model={**_for_model(result, kind), **_label(network)}, full={**_trim_full(result), **_label(network)}
        )

    return handle


def _schema(kind: str, caps: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``network_id`` plus the analysis's own parameter schema (with chat caps applied)."""
    spec = ANALYSES[kind].parameters
    properties = {"network_id": NETWORK_ID, **copy.deepcopy(spec["properties"])}
    for name, change in (caps or {}).items():
        properties[name].update(change)
    return {
        "type": "object",
        "properties": properties,
        "required": ["network_id", *spec.get("required", [])],
        "additionalProperties": False,
    }


def _list_networks(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    """The tenant's networks, newest first."""
    rows = db.session.execute(
        select(Network.id, Network.name, Network.summary, Network.created_at)
        .where(Network.tenant_id == uuid.UUID(str(ctx.tenant_id)))
        .order_by(Network.created_at.desc())
        .limit(int(args.get("limit", 20)))
    ).all()
    networks = []
    for row in rows:
        overview = row.summary or {}
        counts = overview.get("counts", {})
        networks.append(
            {
                "network_id": str(row.id),
                "name": row.name,
                "junctions": counts.get("junctions"),
                "pipes": counts.get("pipes"),
                "tanks": counts.get("tanks"),
                "reservoirs": counts.get("reservoirs"),
                "pumps": counts.get("pumps"),
                "duration_h": (overview.get("time") or {}).get("duration_h"),
                "uploaded_at": iso(row.created_at),
            }
        )
    return ToolOutput(for_model={"networks": networks, "count": len(networks)})


def _network_summary(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    """The summary computed when the network was stored."""
    network = _tenant_network(ctx, args.get("network_id"))
    overview = network.summary or {}
    return ToolOutput(
        for_model={**compact(overview, "summary", digits=COMPACT_DIGITS), **_label(network)},
        full={**overview, **_label(network)},
    )


TOOLS = (
    Tool(
        "list_networks",
        "List the water networks (EPANET models) of the user's organisation, newest first: network_id, name, "
        "counts of junctions, pipes, tanks, reservoirs and pumps, simulated duration_h. Call this first to find "
        "the network_id every other water tool needs.",
        {
            "type": "object",
            "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}},
            "additionalProperties": False,
        },
        _list_networks,
    ),
    Tool(
        "get_network_summary",
        "Structure and settings of one network: counts (junctions, tanks, reservoirs, pipes, pumps, valves, "
        "patterns, controls), total_pipe_length_m, pipe_diameter_range_m, source flow units, headloss formula, "
        "time settings (duration_h, time steps in s), controls, demand totals (m3/s) and coordinate extent. " + UNITS,
        _schema("summary"),
        _network_summary,
    ),
    Tool(
        "run_hydraulic_simulation",
        "Run an extended-period hydraulic simulation (EPANET) and summarise it: min_pressure {pressure_m, node, "
        "time_h} = the lowest junction pressure with where and when it happens; max_pressure; mean_pressure_m; "
        "low_pressure = junctions whose pressure falls below pressure_threshold_m, worst first, each with the "
        "time of its minimum; max_velocity {velocity_m_s, pipe, time_h}; tanks (level ranges in m, emptied or "
        "filled); demand (expected vs served, m3/s). Use it for 'where/when is pressure lowest' questions. " + UNITS,
        _schema("hydraulic"),
        _analysis_handler("hydraulic"),
    ),
    Tool(
        "get_timeseries",
        "Time series of one node variable (pressure m, head m, demand m3/s, quality) or link variable (flowrate "
        "m3/s, velocity m/s, headloss, status, setting) from a hydraulic simulation: unit, min, max, mean, "
        "min_at_time_h, max_at_time_h and a thinned points_sample [{time_h, value}]. " + UNITS,
        _schema("timeseries"),
        _analysis_handler("timeseries"),
    ),
    Tool(
        "water_age",
        "Water age (hours) from an AGE quality simulation of at least 72 h: mean_age_h and "
        "demand_weighted_mean_age_h over the final 24 h, max_age_h, and oldest_junctions [{node, mean_age_h, "
        "max_age_h}]. High age means stagnant water (chlorine decay, quality complaints). " + UNITS,
        _schema("water_age"),
        _analysis_handler("water_age"),
    ),
    Tool(
        "resilience_metrics",
        "Resilience of the network under pressure-driven demand: todini (Todini resilience index, mean/min/max "
        "over time, 0-1, higher = more surplus head), water_service_availability (served/expected demand, "
        "network-wide and worst junctions, 0-1) and pump_energy (kWh per pump and total, mean/max power kW). " + UNITS,
        _schema("resilience"),
        _analysis_handler("resilience"),
    ),
    Tool(
        "topology_metrics",
        "Graph structure of the network: node/link counts, connected components, independent loops, average "
        "degree, meshedness, central point dominance, and weak points: dead_ends (nodes), bridges (links whose "
        "loss splits the network) and articulation_points (nodes whose loss splits it).",
        _schema("topology"),
        _analysis_handler("topology"),
    ),
    Tool(
        "pipe_criticality",
        "Close each candidate pipe in turn (pressure-driven simulation, EPANET 2.3) and rank pipes by "
        "junctions_impacted (junctions pushed below pressure_threshold_m), junctions_below_threshold, "
        "population_impacted and demand_served_fraction. closure_start_h gives a warm-up before the closure "
        "(WNTR's documented workflow: closure_start_h 24, duration_h 72, minimum 14.06 m, required 17.57 m, "
        "threshold 14.06 m); demand_only counts only junctions with demand; min/max_diameter_m select sizes; "
        "engine 'wntr' cross-checks with WNTR's solver. Check warnings (a water_balance error means the numbers "
        "are suspect). In chat at "
        f"most {CHAT_MAX_ITEMS} pipes are analysed by default (largest diameter first; set max_pipes up to 200 or "
        "list pipes); complete=false means the time limit stopped it early. " + UNITS,
        _schema(
            "pipe_criticality",
            {
                "max_pipes": {"maximum": 200, "default": CHAT_MAX_ITEMS},
                "pipes": {"maxItems": 200},
                "duration_h": {"maximum": 72},
            },
        ),
        _analysis_handler("pipe_criticality"),
    ),
    Tool(
        "segment_criticality",
        "Valve-segment criticality (what a utility does to repair a pipe): generate an isolation-valve layer "
        "(strategic or random, reproducible by seed), split the network into segments between valves, isolate "
        "each segment in turn (pressure-driven) and rank segments by junctions_impacted (pushed below "
        "pressure_threshold_m), junctions_below_threshold, population_impacted and demand_unserved_fraction. "
        f"In chat at most {CHAT_MAX_ITEMS} segments (largest first) are analysed by default; complete=false means "
        "the time limit stopped it early. " + UNITS,
        _schema(
            "segment_criticality",
            {"max_segments": {"maximum": 200, "default": CHAT_MAX_ITEMS}, "duration_h": {"maximum": 72}},
        ),
        _analysis_handler("segment_criticality"),
    ),
    Tool(
        "fire_flow",
        "Fire-flow test: add fire_demand_m3_s at each candidate hydrant junction in turn for fire_duration_h and "
        "rank hydrants: passes, hydrant_min_pressure_m (residual pressure), fire_flow_served_fraction and "
        f"junctions_impacted (below pressure_threshold_m). In chat at most {CHAT_MAX_ITEMS} hydrants are tested "
        "by default (set max_hydrants up to 200 or list hydrants); complete=false means the time limit stopped it "
        "early. " + UNITS,
        _schema(
            "fire_flow",
            {
                "max_hydrants": {"maximum": 200, "default": CHAT_MAX_ITEMS},
                "hydrants": {"maxItems": 200},
                "duration_h": {"maximum": 72},
            },
        ),
        _analysis_handler("fire_flow"),
    ),
    Tool(
        "leak_scenario",
        "Simulate an orifice leak at one junction (EPANET 2.3, pressure-driven; kind leak = 1 cm² opening by "
        "default, main_break = a burst) against a no-leak run: "
        "max_leak_flow_m3_s, lost_volume_m3, pressure at the leak node with and without the leak, network mean "
        "and max pressure drop (m), most_affected_junctions. " + UNITS,
        _schema("leak_scenario"),
        _analysis_handler("leak_scenario"),
    ),
    Tool(
        "what_if",
        "Compare the baseline with a modified network (close_pipes, demand_multiplier, pump_status OPEN/CLOSED, "
        "tank_init_level_m): baseline and scenario indicators (min/max/mean pressure with node and time, "
        "low-pressure junctions, max velocity, tank levels, demand served) and difference = scenario - baseline. "
        + UNITS,
        _schema("what_if"),
        _analysis_handler("what_if"),
    ),
)
