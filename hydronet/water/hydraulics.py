"""Hydraulic performance indicators (pressures, velocities, tanks, demand served)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from wntr.network import WaterNetworkModel

from hydronet.water import checks, diagnostics
from hydronet.water.demand import expected_demand
from hydronet.water.jsonify import at_time, num, series_map
from hydronet.water.simulation import Simulation, SimulationCache, cached_simulate, make_settings
from hydronet.water.standards import NATIONAL


def hydraulic(
    wn: WaterNetworkModel,
    duration_h: float | None = None,
    demand_model: str = "DD",
    pressure_threshold_m: float = NATIONAL.service_head_m,
    required_pressure_m: float = NATIONAL.service_head_m,
    top_n: int = 10,
    cache: SimulationCache | None = None,
) -> dict[str, Any]:
    """Extended-period hydraulic run (EPANET) summarised; simulations are reused through ``cache``.

    Hydraulics only: the water-quality solver is switched off (it would take a third
    of the run on Net3 and nothing here reads it; see quality.py for water age).
    """
    settings = make_settings(wn, duration_h, demand_model, required_pressure_m, quality="NONE")
    sim = cached_simulate(wn, settings, cache)
    pressure = sim.junction_frame("pressure")
    return {
        "settings": {
            **settings.as_dict(),
            "pressure_threshold_m": pressure_threshold_m,
            "method": (
                "extended-period simulation of the whole run by the engine named in `engine`; "
                "minimum, maximum and mean values over the report steps; junctions below "
                "pressure_threshold_m counted; water balance checked per tank and network"
            ),
            "defaults": NATIONAL.used(
                {"pressure_threshold_m": pressure_threshold_m, "required_pressure_m": settings.required_pressure_m}
            ),
        },
        "timesteps": len(sim.times_s),
        **indicators(wn, sim, pressure_threshold_m, top_n),
        "node_min_pressure_m": series_map(pressure.min(), 3),
        "link_max_velocity_m_s": series_map(sim.pipe_frame("velocity").abs().max(), 4),
        "water_balance": diagnostics.balance_summary(sim.balance) if sim.balance else None,
        "warnings": list(sim.warnings),
    }


def indicators(wn: WaterNetworkModel, sim: Simulation, pressure_threshold_m: float, top_n: int = 10) -> dict[str, Any]:
    """Key indicators of one simulation; ``wn`` supplies tank limits and expected demand."""
    threshold = checks.number("pressure_threshold_m", pressure_threshold_m, -100, 300)
    top_n = checks.count("top_n", top_n, 1, 1000)
    pressure = sim.junction_frame("pressure")
    velocity = sim.pipe_frame("velocity").abs()
    return {
        "min_pressure": _extreme(pressure, "pressure_m", "node", lowest=True),
        "max_pressure": _extreme(pressure, "pressure_m", "node", lowest=False),
        "mean_pressure_m": num(np.nanmean(pressure.to_numpy())) if pressure.size else None,
        "low_pressure": low_pressure(pressure, threshold, top_n),
        "max_velocity": _extreme(velocity, "velocity_m_s", "pipe", lowest=False),
        "tanks": tank_levels(wn, sim),
        "demand": demand_served(wn, sim),
    }


def low_pressure(pressure: pd.DataFrame, threshold_m: float, top_n: int) -> dict[str, Any]:
    """Junctions whose minimum pressure falls below ``threshold_m``, worst first."""
    minimum = pressure.min()
    below = minimum[minimum < threshold_m].sort_values()
    when = pressure.idxmin()
    worst = [
        {"node": str(node), "min_pressure_m": num(value), **at_time(when[node])}
        for node, value in below.head(top_n).items()
    ]
    return {"threshold_m": threshold_m, "junction_count": int(below.size), "junctions": worst}


def tank_levels(wn: WaterNetworkModel, sim: Simulation) -> list[dict[str, Any]]:
    """Water level range of each tank (head minus tank elevation), with its allowed limits."""
    tanks = []
    for name in wn.tank_name_list:
        tank = wn.get_node(name)
        level = sim.node["head"][name] - tank.elevation
        tanks.append(
            {
                "tank": name,
                "initial_level_m": num(tank.init_level),
                "min_level_m": num(level.min()),
                "max_level_m": num(level.max()),
                "final_level_m": num(level.iloc[-1]),
                "allowed_min_level_m": num(tank.min_level),
                "allowed_max_level_m": num(tank.max_level),
                "emptied": bool(level.min() <= tank.min_level + 0.01),
                "filled": bool(level.max() >= tank.max_level - 0.01),
            }
        )
    return tanks


def demand_served(wn: WaterNetworkModel, sim: Simulation) -> dict[str, float | None]:
    """Mean junction demand expected (patterns × multiplier) and actually served (PDD may serve less)."""
    served = sim.junction_frame("demand")
    expected = expected_demand(wn, served.index)
    expected_total = float(expected.to_numpy().sum())
    served_total = float(served.to_numpy().sum())
    return {
        "expected_mean_m3_s": num(expected.sum(axis=1).mean()),
        "served_mean_m3_s": num(served.sum(axis=1).mean()),
        "served_fraction": num(served_total / expected_total) if expected_total > 0 else None,
    }


def _extreme(frame: pd.DataFrame, value_key: str, element_key: str, lowest: bool) -> dict[str, Any] | None:
    """The lowest/highest cell of a time × element frame, with its element and time.

    Ties go to the earliest time, then the first element (row-major order, NaN ignored).
    """
    values = frame.to_numpy(dtype=float)
    if values.size == 0 or np.isnan(values).all():
        return None
    flat = np.nanargmin(values) if lowest else np.nanargmax(values)
    row, col = divmod(int(flat), values.shape[1])
    return {value_key: num(values[row, col]), element_key: str(frame.columns[col]), **at_time(frame.index[row])}


def pressure_change(baseline: pd.DataFrame, scenario: pd.DataFrame) -> list[dict[str, Any]]:
    """Each junction's minimum pressure in the baseline and the scenario and their change (scenario − baseline, m).

    ``baseline``/``scenario``: time × junction pressure frames over the period compared. Junctions are
    listed by change, the largest drop first.
    """
    names = [name for name in baseline.columns if name in scenario.columns]
    before, after = baseline[names].min(), scenario[names].min()
    change = (after - before).sort_values(na_position="last")
    return [
        {"node": str(node), "baseline_m": num(before[node]), "scenario_m": num(after[node]), "change_m": num(value)}
        for node, value in change.items()
    ]
