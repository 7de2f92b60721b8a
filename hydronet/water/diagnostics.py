"""Checks on a simulation an engineer needs before trusting it: water balance, empty tanks, pressures, supply.

Each finding is ``{"code", "message", "elements", "severity"}`` with element names. The water
balance compares, over the run,

- for each tank: the flow into it integrated over time against its change of volume;
- for the network: what the sources (reservoirs) supply against the demand delivered, plus the
  change of storage, plus leak (emitter) outflow.

A mismatch larger than ``BALANCE_TOLERANCE`` of the volume delivered (at least
``BALANCE_FLOOR_M3``) is a ``water_balance`` error: water appeared from, or vanished into,
nowhere. EPANET 2.2 does this when a tank at its minimum level keeps delivering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from wntr.network import LinkStatus, WaterNetworkModel

BALANCE_TOLERANCE = 0.02
BALANCE_FLOOR_M3 = 1.0
MINIMUM_OUTFLOW_TOLERANCE = 0.002  # of the volume delivered, before water from an empty tank is reported
NEGATIVE_PRESSURE_M = -0.5
UNSUPPLIED_FRACTION = 0.01
MAX_ELEMENTS = 20
TANK_EPS_M = 0.001


def finding(code: str, message: str, elements: Iterable[str] = (), severity: str = "warning") -> dict[str, Any]:
    """One warning in the shape every result uses (element list capped, with the full count)."""
    names = [str(name) for name in elements]
    out: dict[str, Any] = {"code": code, "severity": severity, "message": message, "elements": names[:MAX_ELEMENTS]}
    if len(names) > MAX_ELEMENTS:
        out["element_count"] = len(names)
    return out


def frame_balance(wn: WaterNetworkModel, node: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Balance volumes from report-time frames (any engine), each value held until the next report.

    Coarser than the toolkit's per-hydraulic-step integration: intermediate steps (tank
    events, controls) are not seen, so the tolerance matters more here.
    """
    demand = node["demand"]
    times = demand.index.to_numpy(dtype=float)
    steps = np.diff(times)

    def integrate(columns: list[str]) -> np.ndarray:
        if not columns or steps.size == 0:
            return np.zeros(len(columns))
        return (demand[columns].to_numpy()[:-1] * steps[:, None]).sum(axis=0)

    tanks = list(wn.tank_name_list)
    junctions = list(wn.junction_name_list)
    change = []
    for name in tanks:
        tank = wn.get_node(name)
        level = node["head"][name] - tank.elevation
        change.append(float(tank.get_volume(level.iloc[-1]) - tank.get_volume(level.iloc[0])))
    level = node["head"][tanks] - np.array([wn.get_node(t).elevation for t in tanks]) if tanks else None
    at_min = np.zeros(len(tanks))
    if tanks and steps.size:
        minimum = np.array([wn.get_node(t).min_level for t in tanks])
        flows = demand[tanks].to_numpy()[:-1]
        empty = (level.to_numpy()[:-1] <= minimum + TANK_EPS_M) & (flows < 0)
        at_min = (np.where(empty, -flows, 0.0) * steps[:, None]).sum(axis=0)
    leak = node.get("leak_demand")
    leak_m3 = float(integrate_frame(leak[junctions], steps).sum()) if leak is not None and steps.size else 0.0
    delivered = float(integrate(junctions).sum()) - leak_m3  # WNTR's demand includes the leak
    return {
        "tanks": tanks,
        "tank_inflow_m3": integrate(tanks),
        "tank_volume_change_m3": np.array(change),
        "tank_out_at_minimum_m3": at_min,
        "sources_m3": float(-integrate(list(wn.reservoir_name_list)).sum()),
        "delivered_m3": delivered,
        "leak_m3": leak_m3,
        "pumps_short": {},
        "integrated_over": "report steps",
    }


def integrate_frame(frame: pd.DataFrame, steps: np.ndarray) -> np.ndarray:
    """Per-column volume of a flow frame, each value held until the next report time."""
    return (frame.to_numpy()[:-1] * steps[:, None]).sum(axis=0)


def balance_summary(balance: Mapping[str, Any]) -> dict[str, Any]:
    """The balance as plain numbers for a result (m3 over the run)."""
    tanks = balance["tanks"]
    inflow, change = balance["tank_inflow_m3"], balance["tank_volume_change_m3"]
    storage = float(np.sum(change))
    residual = balance["sources_m3"] - (balance["delivered_m3"] + storage + balance["leak_m3"])
    return {
        "sources_m3": _round(balance["sources_m3"]),
        "delivered_m3": _round(balance["delivered_m3"]),
        "storage_change_m3": _round(storage),
        "leak_m3": _round(balance["leak_m3"]),
        "residual_m3": _round(residual),
        "tolerance_m3": _round(tolerance_m3(balance)),
        "integrated_over": balance["integrated_over"],
        "tanks": [
            {
                "tank": name,
                "inflow_m3": _round(inflow[i]),
                "volume_change_m3": _round(change[i]),
                "residual_m3": _round(inflow[i] - change[i]),
            }
            for i, name in enumerate(tanks)
        ],
    }


def tolerance_m3(balance: Mapping[str, Any]) -> float:
    """The largest mismatch accepted: a share of the volume delivered and leaked, with a floor."""
    return max(BALANCE_TOLERANCE * (abs(balance["delivered_m3"]) + abs(balance["leak_m3"])), BALANCE_FLOOR_M3)


def balance_warnings(balance: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Water-balance errors (per tank and network-wide) and tanks delivering while at their minimum level."""
    out = []
    limit = tolerance_m3(balance)
    tanks = balance["tanks"]
    residual = np.asarray(balance["tank_inflow_m3"]) - np.asarray(balance["tank_volume_change_m3"])
    bad = [(name, residual[i]) for i, name in enumerate(tanks) if abs(residual[i]) > limit]
    if bad:
        detail = "; ".join(
            f"tank {name}: flow in {balance['tank_inflow_m3'][tanks.index(name)]:.0f} m3 "
            f"vs volume change {balance['tank_volume_change_m3'][tanks.index(name)]:.0f} m3"
            for name, _ in bad
        )
        out.append(
            finding(
                "water_balance",
                f"water balance fails for tanks (tolerance {limit:.0f} m3): {detail}",
                [name for name, _ in bad],
                "error",
            )
        )
    storage = float(np.sum(balance["tank_volume_change_m3"]))
    network = balance["sources_m3"] - (balance["delivered_m3"] + storage + balance["leak_m3"])
    if abs(network) > limit:
        out.append(
            finding(
                "water_balance",
                f"network water balance fails: sources supplied {balance['sources_m3']:.0f} m3 but demand delivered "
                f"{balance['delivered_m3']:.0f} m3 + storage change {storage:.0f} m3 + leaks {balance['leak_m3']:.0f} m3 "
                f"leaves {network:.0f} m3 unaccounted for (tolerance {limit:.0f} m3)",
                tanks,
                "error",
            )
        )
    at_min = np.asarray(balance["tank_out_at_minimum_m3"])
    minor = max(MINIMUM_OUTFLOW_TOLERANCE * abs(balance["delivered_m3"]), BALANCE_FLOOR_M3)
    empty = [(name, at_min[i]) for i, name in enumerate(tanks) if at_min[i] > minor]
    if empty:
        detail = ", ".join(f"tank {name} {volume:.0f} m3" for name, volume in empty)
        out.append(
            finding(
                "tank_empty_delivering",
                f"tanks delivered water while at their minimum level ({detail}): supply from them is "
                "overstated by that volume",
                [name for name, _ in empty],
            )
        )
    pumps = balance.get("pumps_short") or {}
    if pumps:
        out.append(
            finding(
                "pump_cannot_deliver",
                "pumps could not deliver the head required and were shut off by EPANET "
                "(EPANET warning 4) at some steps",
                sorted(pumps),
            )
        )
    return out


def epanet_warnings(codes: Mapping[int, list[int]], text: Any) -> list[dict[str, Any]]:
    """EPANET's own warning codes, with the times (h) they were raised; ``text(code)`` gives EPANET's wording."""
    out = []
    for code in sorted(codes):
        times = sorted(set(codes[code]))
        shown = ", ".join(f"{t / 3600:g}" for t in times[:10]) + (" …" if len(times) > 10 else "")
        out.append(
            finding(
                f"epanet_warning_{code}",
                f"{text(code)} (EPANET warning {code}, at {len(times)} time steps: {shown} h)",
                [],
                "warning",
            )
        )
    return out


def pressure_warnings(min_pressure: pd.Series, threshold_m: float = NEGATIVE_PRESSURE_M) -> list[dict[str, Any]]:
    """Junctions whose pressure drops below zero (beyond solver noise), worst first (EPANET warning 6)."""
    return negative_pressures(min_pressure.to_numpy(), min_pressure.index.to_numpy(), threshold_m)


def negative_pressures(
    values: np.ndarray, names: np.ndarray, threshold_m: float = NEGATIVE_PRESSURE_M
) -> list[dict[str, Any]]:
    """:func:`pressure_warnings` on a minimum pressure per junction given as arrays (sweeps, once per scenario)."""
    below = np.flatnonzero(values < threshold_m)
    if below.size == 0:
        return []
    worst_first = below[np.argsort(values[below], kind="quicksort")]
    lowest, worst = float(values[worst_first[0]]), names[worst_first[0]]
    return [
        finding(
            "negative_pressure",
            f"{worst_first.size} junctions have negative pressure (lowest {lowest:.1f} m at {worst}): "
            "the network cannot supply them as modelled",
            names[worst_first],
        )
    ]


def supply_warnings(served: pd.Series, expected: pd.Series) -> list[dict[str, Any]]:
    """Junctions with demand that received (almost) nothing over the run."""
    wanted = expected[expected > 0]
    starved = wanted.index[served.reindex(wanted.index).fillna(0) < UNSUPPLIED_FRACTION * wanted]
    if len(starved) == 0:
        return []
    return [
        finding(
            "unsupplied_nodes",
            f"{len(starved)} junctions with demand received less than {UNSUPPLIED_FRACTION:.0%} of it",
            starved,
        )
    ]


def disconnected_nodes(wn: WaterNetworkModel, closed: Iterable[str] = ()) -> list[str]:
    """Junctions with demand and no path to a tank or reservoir once initially closed links (and ``closed``)
    are removed (EPANET's warning 3 is about the same nodes)."""
    graph = nx.Graph()
    graph.add_nodes_from(wn.node_name_list)
    shut = set(closed)
    for name, link in wn.links():
        if name in shut or link.initial_status == LinkStatus.Closed:
            continue
        graph.add_edge(link.start_node_name, link.end_node_name)
    sources = set(wn.tank_name_list) | set(wn.reservoir_name_list)
    reached: set[str] = set()
    for component in nx.connected_components(graph):
        if component & sources:
            reached |= component
    return [
        name
        for name in wn.junction_name_list
        if name not in reached and any(entry.base_value > 0 for entry in wn.get_node(name).demand_timeseries_list)
    ]


def connectivity_warnings(wn: WaterNetworkModel, closed: Iterable[str] = ()) -> list[dict[str, Any]]:
    """A warning for junctions cut off from every source (EPANET warning 3)."""
    cut = disconnected_nodes(wn, closed)
    if not cut:
        return []
    return [finding("disconnected_nodes", f"{len(cut)} junctions with demand have no path to a tank or reservoir", cut)]


def engine_fallback(reason: str) -> dict[str, Any]:
    """The warning attached when a solve could not use EPANET 2.3."""
    return finding(
        "engine_fallback",
        f"solved with WNTR's EPANET 2.2 simulator instead of EPANET 2.3: {reason}; "
        "tank balances may be wrong when tanks empty",
    )


def _round(value: float) -> float:
    return round(float(value), 3)
