"""Resilience metrics: Todini index, water service availability and pump energy (one PDD run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import wntr
from wntr.network import WaterNetworkModel

from hydronet.water import checks, diagnostics
from hydronet.water.hydraulics import expected_demand
from hydronet.water.jsonify import at_time, num
from hydronet.water.simulation import Simulation, SimulationCache, cached_simulate, make_settings
from hydronet.water.standards import NATIONAL

J_PER_KWH = 3.6e6


def resilience(
    wn: WaterNetworkModel,
    duration_h: float | None = None,
    pressure_threshold_m: float = NATIONAL.service_head_m,
    required_pressure_m: float = NATIONAL.service_head_m,
    minimum_pressure_m: float = 0.0,
    top_n: int = 10,
    cache: SimulationCache | None = None,
) -> dict[str, Any]:
    """Todini index (P* = ``pressure_threshold_m``), WSA under PDD and pump energy in kWh."""
    threshold = checks.number("pressure_threshold_m", pressure_threshold_m, 0, 300)
    settings = make_settings(wn, duration_h, "PDD", required_pressure_m, minimum_pressure_m)
    sim = cached_simulate(wn, settings, cache)
    return {
        "settings": {
            **settings.as_dict(),
            "pressure_threshold_m": threshold,
            "method": (
                "one pressure-driven run; Todini index per report step (wntr.metrics.todini_index, "
                "P* = pressure_threshold_m; not meaningful while tanks feed the network, see "
                "warnings); water service availability = delivered ÷ expected demand per junction "
                "(wntr.metrics.water_service_availability); pump energy from wntr.metrics.pump_power "
                "with the model's global efficiency"
            ),
            "defaults": NATIONAL.used(
                {"pressure_threshold_m": threshold, "required_pressure_m": settings.required_pressure_m}
            ),
        },
        "warnings": list(sim.warnings) + _todini_warnings(wn, sim),
        "todini": _todini(wn, sim, threshold),
        "water_service_availability": _wsa(wn, sim, checks.count("top_n", top_n, 1, 1000)),
        "pump_energy": _pump_energy(wn, sim),
    }


def _todini(wn: WaterNetworkModel, sim: Simulation, pstar_m: float) -> dict[str, Any]:
    """Todini resilience index over time: mean, min (with time) and max."""
    index = wntr.metrics.todini_index(
        sim.node["head"], sim.node["pressure"], sim.node["demand"], sim.link["flowrate"], wn, pstar_m
    )
    index = index.replace([np.inf, -np.inf], np.nan).dropna()
    if index.empty:
        return {"pstar_m": pstar_m, "mean": None, "min": None, "max": None}
    return {
        "pstar_m": pstar_m,
        "mean": num(index.mean()),
        "min": {"value": num(index.min()), **at_time(index.idxmin())},
        "max": {"value": num(index.max()), **at_time(index.idxmax())},
    }


def _todini_warnings(wn: WaterNetworkModel, sim: Simulation) -> list[dict[str, Any]]:
    """Todini's index counts only reservoirs as sources: it is understated (even negative) while tanks feed."""
    tanks = list(wn.tank_name_list)
    if not tanks:
        return []
    outflow = sim.node["demand"][tanks]
    feeding = [name for name in tanks if (outflow[name] < -1e-6).any()]
    if not feeding:
        return []
    steps = int((outflow < -1e-6).any(axis=1).sum())
    return [
        diagnostics.finding(
            "todini_tanks_feeding",
            f"tanks fed the network at {steps} of {len(outflow)} report times; Todini's index treats only reservoirs "
            "as sources, so it is understated (it can go negative) at those times",
            feeding,
        )
    ]


def _wsa(wn: WaterNetworkModel, sim: Simulation, top_n: int) -> dict[str, Any]:
    """Served / expected demand: network-wide, lowest over time, and the worst junctions."""
    served = sim.junction_frame("demand")
    expected = expected_demand(wn, served.index)
    expected_by_time = expected.sum(axis=1)
    network = (served.sum(axis=1)[expected_by_time > 0] / expected_by_time[expected_by_time > 0]).clip(upper=1.0)
    # PDD never serves more than expected; values a hair above 1 are float32 noise
    per_junction = wntr.metrics.water_service_availability(expected.sum(), served.sum()).dropna().clip(upper=1.0)
    worst = per_junction.sort_values().head(top_n)
    total_expected = float(expected.to_numpy().sum())
    return {
        "network": num(min(served.to_numpy().sum() / total_expected, 1.0)) if total_expected > 0 else None,
        "min_over_time": {"value": num(network.min()), **at_time(network.idxmin())} if not network.empty else None,
        "junctions_below_full_service": int((per_junction < 0.999).sum()),
        "worst_junctions": [{"node": str(node), "wsa": num(value)} for node, value in worst.items()],
    }


def _pump_energy(wn: WaterNetworkModel, sim: Simulation) -> dict[str, Any]:
    """Energy and power of each pump (global efficiency; efficiency curves are ignored by WNTR)."""
    pumps = wn.pump_name_list
    efficiency = num(wn.options.energy.global_efficiency)
    if not pumps:
        return {"total_kwh": 0.0, "global_efficiency_pct": efficiency, "pumps": []}
    power_w = wntr.metrics.pump_power(sim.link["flowrate"][pumps], sim.node["head"], wn)
    step_s = np.diff(power_w.index.to_numpy())  # each value holds until the next report time
    snapshot = step_s.size == 0
    per_pump = []
    for name in pumps:
        values = power_w[name].to_numpy()
        running = sim.link["status"][name].to_numpy()[:-1] > 0
        per_pump.append(
            {
                "pump": str(name),
                "energy_kwh": None if snapshot else num((values[:-1] * step_s).sum() / J_PER_KWH),
                "mean_power_kw": num(values.mean() / 1000.0),
                "max_power_kw": num(values.max() / 1000.0),
                "hours_running": None if snapshot else num(step_s[running].sum() / 3600.0),
            }
        )
    energies = [item["energy_kwh"] for item in per_pump]
    total = None if snapshot else num(sum(value or 0.0 for value in energies))
    return {"total_kwh": total, "global_efficiency_pct": efficiency, "pumps": per_pump}
