"""Criticality, fire flow, leak and what-if scenarios, checked against direct EPANET 2.3 (toolkit) and WNTR runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import wntr
from wntr.network import LinkStatus

from hydronet.water.criticality import pipe_criticality
from hydronet.water.errors import AnalysisInputError, AnalysisTimeout, SimulationError
from hydronet.water.fireflow import fire_flow
from hydronet.water.leak import leak_scenario
from hydronet.water.limits import run_with_timeout
from hydronet.water.whatif import what_if
from tests.water.reference import requires_toolkit, tk

# WNTR fits a curve to 3-point pump curves and warns when it cannot estimate a covariance.
pytestmark = pytest.mark.filterwarnings("ignore::scipy.optimize.OptimizeWarning")


def _impacted(base: Any, scenario: Any, junctions: list[str], threshold: float) -> set[str]:
    """Junctions at or above the threshold in the baseline that fall below it in the scenario."""
    before = base.node["pressure"][junctions].min()
    after = scenario.node["pressure"][junctions].min()
    return set(after[(before >= threshold) & (after < threshold)].index)


def test_criticality_ranks_pipes_like_a_direct_closure(model: Callable, direct: Callable) -> None:
    """The top Net3 pipe's impact equals closing it by hand in WNTR; progress is reported per pipe."""
    wn = model("Net3")
    seen: list[tuple[int, int]] = []
    result = pipe_criticality(
        wn, min_diameter_m=0.5, duration_h=12, max_pipes=6, progress=lambda done, total: seen.append((done, total))
    )
    assert result["pipes_considered"] == 6 and result["complete"] and seen == [(i, 6) for i in range(1, 7)]
    diameters = [wn.get_link(row["pipe"]).diameter for row in result["ranking"]]
    assert min(diameters) >= 0.5
    impacts = [row["junctions_impacted"] for row in result["ranking"]]
    assert impacts == sorted(impacts, reverse=True) and impacts[0] > 0
    top = result["ranking"][0]
    _, base = direct(wn, duration_h=12, demand_model="PDD")

    def close(m: Any) -> None:
        m.get_link(top["pipe"]).initial_status = LinkStatus.Closed

    m, closed = direct(wn, duration_h=12, demand_model="PDD", edit=close)
    with_demand = [
        name for name in m.junction_name_list if any(d.base_value > 0 for d in m.get_node(name).demand_timeseries_list)
    ]
    hit = _impacted(base, closed, with_demand, 28.0)  # defaults: GB 50013 service head for 6 storeys, demand_only
    assert top["junctions_impacted"] == len(hit)
    assert set(top["impacted_junctions"]) <= hit
    population = wntr.metrics.population(m)
    assert top["population_impacted"] == int(population[list(hit)].sum())


def test_criticality_explicit_pipes_and_bad_names(model: Callable) -> None:
    """An explicit pipe list is honoured; unknown pipes are input errors."""
    wn = model("Net1")
    result = pipe_criticality(wn, pipes=["10", "110"], duration_h=6)
    assert {row["pipe"] for row in result["ranking"]} == {"10", "110"}
    assert result["ranking"][0]["pipe"] == "10"  # Net1's only supply main
    with pytest.raises(AnalysisInputError, match="unknown pipe 'P9'"):
        pipe_criticality(wn, pipes=["P9"])


def test_criticality_time_limit_returns_partial_results(model: Callable) -> None:
    """With no time left the loop stops at once and says so."""
    result = pipe_criticality(model("Net3"), duration_h=6, max_pipes=3, time_limit_s=0)
    assert (result["analysed"], result["complete"], result["ranking"]) == (0, False, [])
    assert "time limit" in result["stopped_reason"]


def test_a_cut_short_sweep_warns_in_its_result_and_its_findings(model: Callable) -> None:
    """A partial ranking is never presented as clean: a warning in `warnings`, a warning finding."""
    from hydronet.water.findings import findings

    result = pipe_criticality(model("Net3"), duration_h=6, max_pipes=3, time_limit_s=0)
    (cut,) = [w for w in result["warnings"] if w["code"] == "sweep_incomplete"]
    assert cut["severity"] == "warning" and "0 pipes analysed" in cut["message"]
    assert any(f["code"] == "incomplete" and f["severity"] == "warning" for f in findings("pipe_criticality", result))


def test_progress_callback_can_cancel(model: Callable) -> None:
    """An exception raised by progress (a cancelled job) stops the analysis."""

    class Cancelled(Exception):
        """Raised by the job runner when the user cancels."""

    def cancel(done: int, total: int) -> None:
        if done == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        pipe_criticality(model("Net1"), duration_h=2, progress=cancel)


def test_fire_flow_matches_a_direct_fire_run(model: Callable, direct: Callable) -> None:
    """Hydrant residual pressure and impacted junctions equal a hand-built WNTR fire scenario."""
    wn = model("Net1")
    result = fire_flow(
        wn,
        fire_demand_m3_s=0.06,
        fire_start_h=8,
        fire_duration_h=2,
        duration_h=12,
        hydrants=["32", "12"],
        pressure_threshold_m=14,
        required_pressure_m=14,
    )
    assert result["fire_window"]["start"]["time_h"] == 8 and result["fire_window"]["end"]["time_h"] == 10
    row = next(r for r in result["ranking"] if r["hydrant"] == "32")
    _, base = direct(wn, duration_h=12, demand_model="PDD", required_pressure_m=14)

    def fire(m: Any) -> None:
        step_h = m.options.time.pattern_timestep / 3600  # Net1 uses 2 h pattern steps
        m.add_pattern("fire", [1.0 if 8 <= i * step_h < 10 else 0.0 for i in range(int(12 / step_h) + 1)])
        m.get_node("32").add_demand(0.06, "fire")

    m, res = direct(wn, duration_h=12, demand_model="PDD", required_pressure_m=14, edit=fire)
    fire_on = slice(8 * 3600, 10 * 3600 - 1)  # the report times while the fire burns
    during_fire = res.node["pressure"]["32"].loc[fire_on]
    assert row["hydrant_min_pressure_m"] == pytest.approx(during_fire.min(), abs=1e-3)
    before = base.node["pressure"][m.junction_name_list].loc[fire_on].min()
    after = res.node["pressure"][m.junction_name_list].loc[fire_on].min()
    hit = set(after[(before >= 14) & (after < 14)].index) - {"32"}
    assert row["junctions_impacted"] == len(hit)
    served = res.node["demand"]["32"].loc[fire_on].sum() / res.node["full_demand"]["32"].loc[fire_on].sum()
    assert row["fire_flow_served_fraction"] == pytest.approx(min(served, 1.0), rel=1e-5)
    assert row["passes"] == (
        row["junctions_impacted"] == 0
        and row["hydrant_min_pressure_m"] >= 14
        and row["fire_flow_served_fraction"] >= 0.999
    )
    assert result["ranking"][0]["passes"] is False or all(r["passes"] for r in result["ranking"])


def test_fire_flow_defaults_to_peak_demand_hour(model: Callable) -> None:
    """Without a start time the fire is placed at the hour of highest expected demand."""
    wn = model("Net1")
    result = fire_flow(wn, duration_h=24, max_hydrants=2)
    demand = wntr.metrics.expected_demand(wn).sum(axis=1).loc[: 22 * 3600]
    assert result["fire_window"]["start"]["time_s"] == demand.idxmax()
    assert result["hydrants_considered"] == 2


def test_leak_matches_a_direct_wntr_leak(model: Callable, direct: Callable) -> None:
    """With engine='wntr': leak flow, lost volume and pressure drop equal WNTR's own leak model under PDD."""
    wn = model("Net3")
    result = leak_scenario(
        wn,
        "123",
        area_m2=0.01,
        discharge_coeff=0.75,
        start_h=2,
        end_h=8,
        duration_h=12,
        required_pressure_m=20,
        engine="wntr",
    )
    _, base = direct(wn, duration_h=12, demand_model="PDD", engine="wntr")

    def leak(m: Any) -> None:
        m.get_node("123").add_leak(m, area=0.01, discharge_coeff=0.75, start_time=7200, end_time=28800)

    _, res = direct(wn, duration_h=12, demand_model="PDD", engine="wntr", edit=leak)
    flow = res.node["leak_demand"]["123"]
    steps = np.diff(flow.index.to_numpy(dtype=float))
    assert result["max_leak_flow_m3_s"] == pytest.approx(flow.max(), rel=1e-5)
    assert result["lost_volume_m3"] == pytest.approx(float((flow.to_numpy()[:-1] * steps).sum()), rel=1e-5)
    drop = (base.node["pressure"]["123"] - res.node["pressure"]["123"]).loc[7200:28800]
    assert result["leak_node"]["max_pressure_drop_m"] == pytest.approx(drop.max(), abs=1e-4)
    assert result["lost_volume_m3"] > 0 and result["network"]["max_pressure_drop_m"] >= drop.max() - 1e-6


@requires_toolkit
def test_leak_matches_an_epanet_23_emitter(model: Callable, direct: Callable) -> None:
    """A whole-run leak equals an emitter (Cd·A·√(2g), exponent 0.5) set on the junction in the toolkit directly."""
    wn = model("Net3")
    result = leak_scenario(wn, "123", area_m2=0.01, discharge_coeff=0.75, duration_h=12, required_pressure_m=20)
    coefficient = 0.75 * 0.01 * (2 * 9.80665) ** 0.5

    def emitter(ph: Any) -> None:
        tk.setoption(ph, tk.EMITEXPON, 0.5)
        tk.setnodevalue(ph, tk.getnodeindex(ph, "123"), tk.EMITTER, coefficient * 1000)  # the file is in LPS

    _, res = direct(wn, duration_h=12, demand_model="PDD", edit_project=emitter)
    flow = res.node["leak_demand"]["123"]
    assert result["max_leak_flow_m3_s"] == pytest.approx(flow.max(), rel=1e-3)
    steps = np.diff(flow.index.to_numpy(dtype=float))
    assert result["lost_volume_m3"] == pytest.approx(float((flow.to_numpy()[:-1] * steps).sum()), rel=1e-3)
    assert "water_balance" not in {w["code"] for w in result["warnings"]}
    assert result["settings"]["method"].startswith("orifice leak")
    # the analysis ran pressure-driven with 20 m required: so do both direct runs compared here
    _, leaking = direct(wn, duration_h=12, demand_model="PDD", required_pressure_m=20, edit_project=emitter)
    _, base = direct(wn, duration_h=12, demand_model="PDD", required_pressure_m=20)
    junctions = wn.junction_name_list
    expected = leaking.node["pressure"][junctions].min() - base.node["pressure"][junctions].min()
    change = result["node_pressure_change_m"]
    assert set(change) == set(junctions) and max(abs(change[j] - float(expected[j])) for j in junctions) < 1e-3
    assert result["pressure_change"][0]["node"] == expected.idxmin()


@requires_toolkit
def test_leak_window_default_and_main_break(model: Callable) -> None:
    """A windowed leak flows only inside its window; the default is a leak (litres per second), a break is not."""
    wn = model("Net3")
    windowed = leak_scenario(wn, "123", start_h=2, end_h=8, duration_h=12)
    flows = {p["time_h"]: p["flow_m3_s"] for p in windowed["leak_flow_series"]}
    assert all(flows[h] == 0 for h in (0, 1, 8, 9, 11)) and all(flows[h] > 0 for h in range(2, 8))
    assert 0.0005 < windowed["max_leak_flow_m3_s"] < 0.005  # a 1 cm² opening: a couple of L/s
    assert windowed["settings"]["defaults"]["area_m2"]["value"] == 1e-4
    assert "water_balance" not in {w["code"] for w in windowed["warnings"]}
    burst = leak_scenario(wn, "123", kind="main_break", duration_h=6)
    assert burst["area_m2"] == 0.005 and burst["max_leak_flow_m3_s"] > 0.05


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"junction": "nope"}, "unknown junction"),
        ({"junction": "123", "area_m2": -1}, "area_m2"),
        ({"junction": "123", "start_h": 10, "end_h": 5}, "before it ends"),
    ],
)
def test_leak_rejects_bad_parameters(model: Callable, kwargs: dict[str, Any], message: str) -> None:
    """Unknown junctions and impossible windows are input errors."""
    with pytest.raises(AnalysisInputError, match=message):
        leak_scenario(model("Net3"), **kwargs)


def test_what_if_matches_a_direct_modified_run(model: Callable, direct: Callable) -> None:
    """Closing a main and raising demand changes the indicators exactly as a hand-modified run does."""
    wn = model("Net3")
    result = what_if(
        wn,
        close_pipes=["189"],
        demand_multiplier=1.3,
        tank_init_level_m={"1": 5.0},
        pump_status={"10": "OPEN"},
        duration_h=12,
    )
    assert len(result["changes"]) == 4

    def change(m: Any) -> None:
        m.get_link("189").initial_status = LinkStatus.Closed
        m.options.hydraulic.demand_multiplier = 1.3
        m.get_node("1").init_level = 5.0
        m.get_link("10").initial_status = LinkStatus.Open
        for name in [n for n, c in m.controls() if any(a.target()[0].name == "10" for a in c.actions())]:
            m.remove_control(name)

    m, res = direct(wn, duration_h=12, demand_model="PDD", edit=change)
    _, base = direct(wn, duration_h=12, demand_model="PDD")
    pressure = res.node["pressure"][m.junction_name_list]
    assert result["scenario"]["min_pressure"]["pressure_m"] == pytest.approx(pressure.min().min(), abs=1e-4)
    assert result["scenario"]["low_pressure"]["junction_count"] == int((pressure.min() < 28).sum())
    base_min = base.node["pressure"][m.junction_name_list].min().min()
    assert result["difference"]["min_pressure_m"] == pytest.approx(pressure.min().min() - base_min, abs=1e-3)
    assert result["difference"]["junctions_below_threshold"] == (
        result["scenario"]["low_pressure"]["junction_count"] - result["baseline"]["low_pressure"]["junction_count"]
    )
    assert result["scenario"]["tanks"][0]["initial_level_m"] == 5.0
    # each junction's change of minimum pressure, scenario − baseline, as the direct runs give it, largest drop first
    expected = pressure.min() - base.node["pressure"][m.junction_name_list].min()
    change = result["node_pressure_change_m"]
    assert set(change) == set(m.junction_name_list)
    assert max(abs(change[j] - float(expected[j])) for j in change) < 1e-3
    rows = result["pressure_change"]
    assert rows[0]["node"] == expected.idxmin() and [r["change_m"] for r in rows] == sorted(r["change_m"] for r in rows)
    assert rows[0]["baseline_m"] == pytest.approx(float(base.node["pressure"][rows[0]["node"]].min()), abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no change requested"),
        ({"close_pipes": ["nope"]}, "unknown pipe"),
        ({"pump_status": {"10": "HALF"}}, "pump_status"),
        ({"pump_status": {"999": "OPEN"}}, "unknown pump"),
        ({"tank_init_level_m": {"1": 99.0}}, "tank_init_level_m"),
        ({"demand_multiplier": -2}, "demand_multiplier"),
    ],
)
def test_what_if_rejects_bad_parameters(model: Callable, kwargs: dict[str, Any], message: str) -> None:
    """Unknown elements and out-of-range values are input errors."""
    with pytest.raises(AnalysisInputError, match=message):
        what_if(model("Net3"), duration_h=1, **kwargs)


def test_run_with_timeout_gives_up_and_passes_results_through() -> None:
    """A slow call raises AnalysisTimeout; a fast one returns its value or raises its own error."""
    with pytest.raises(AnalysisTimeout):
        run_with_timeout(time.sleep, 0.05, 1.0)
    assert run_with_timeout(sum, 1.0, [1, 2]) == 3
    with pytest.raises(SimulationError):
        run_with_timeout(lambda: (_ for _ in ()).throw(SimulationError("boom")), 1.0)
