"""Hydraulic indicators, time series and simulation caching, checked against direct WNTR runs."""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import wntr

from hydronet.water import simulation
from hydronet.water.errors import AnalysisInputError
from hydronet.water.hydraulics import hydraulic
from hydronet.water.simulation import make_settings, simulate
from hydronet.water.timeseries import timeseries


@pytest.mark.parametrize(
    ("name", "demand_model", "duration_h"), [("Net1", "DD", None), ("Net3", "DD", 48), ("Net3", "PDD", 24)]
)
def test_hydraulic_indicators_match_direct_wntr(
    model: Callable, direct: Callable, name: str, demand_model: str, duration_h: float | None
) -> None:
    """Min/max pressure, low-pressure junctions, max velocity and tank levels equal WNTR's own numbers."""
    wn = model(name)
    result = hydraulic(wn, duration_h=duration_h, demand_model=demand_model, pressure_threshold_m=30)
    _, res = direct(wn, duration_h=duration_h, demand_model=demand_model)
    pressure = res.node["pressure"][wn.junction_name_list]
    velocity = res.link["velocity"][wn.pipe_name_list].abs()
    assert result["min_pressure"]["pressure_m"] == pytest.approx(pressure.min().min(), abs=1e-4)
    assert result["min_pressure"]["node"] == pressure.min().idxmin()
    assert result["max_pressure"]["pressure_m"] == pytest.approx(pressure.max().max(), abs=1e-4)
    assert result["mean_pressure_m"] == pytest.approx(float(np.mean(pressure.to_numpy())), rel=1e-5)
    assert result["low_pressure"]["junction_count"] == int((pressure.min() < 30).sum())
    assert result["max_velocity"]["velocity_m_s"] == pytest.approx(velocity.max().max(), rel=1e-5)
    assert result["max_velocity"]["pipe"] == velocity.max().idxmax()
    for tank in result["tanks"]:
        level = res.node["head"][tank["tank"]] - wn.get_node(tank["tank"]).elevation
        assert (tank["min_level_m"], tank["max_level_m"], tank["final_level_m"]) == pytest.approx(
            (level.min(), level.max(), level.iloc[-1]), abs=1e-4
        )
    assert result["timesteps"] == len(res.node["pressure"].index)
    json.dumps(result, allow_nan=False)


def test_low_pressure_list_is_sorted_capped_and_timed(model: Callable) -> None:
    """The worst junctions come first, at most top_n, each with the time of its minimum."""
    result = hydraulic(model("Net3"), duration_h=24, pressure_threshold_m=45, top_n=5)
    listed = result["low_pressure"]["junctions"]
    assert result["low_pressure"]["junction_count"] > 5 == len(listed)
    assert [row["min_pressure_m"] for row in listed] == sorted(row["min_pressure_m"] for row in listed)
    assert all(row["time_h"] == row["time_s"] / 3600 for row in listed)


def test_demand_served_under_pdd_matches_expected_demand(model: Callable) -> None:
    """With ample pressure PDD serves what the patterns ask, and the expected demand equals WNTR's."""
    wn = model("Net1")
    demand = hydraulic(wn, demand_model="PDD")["demand"]
    expected = wntr.metrics.expected_demand(wn)
    assert demand["expected_mean_m3_s"] == pytest.approx(expected.sum(axis=1).mean(), rel=1e-6)
    assert demand["served_fraction"] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("element", "variable", "frame"),
    [
        ("10", "pressure", ("node", "pressure")),
        ("2", "head", ("node", "head")),
        ("10", "flowrate", ("link", "flowrate")),
        ("9", "status", ("link", "status")),
    ],
)
def test_timeseries_match_direct_results(
    model: Callable, direct: Callable, element: str, variable: str, frame: tuple[str, str]
) -> None:
    """A node or link series equals the WNTR result column (Net1 has both a node and a pipe named 10)."""
    wn = model("Net1")
    series = timeseries(wn, element, variable)
    _, res = direct(wn)
    column = getattr(res, frame[0])[frame[1]][element]
    assert [p["time_s"] for p in series["points"]] == [int(t) for t in column.index]
    assert [p["value"] for p in series["points"]] == pytest.approx(column.tolist(), abs=1e-4)
    assert series["element_type"] == frame[0]


def test_quality_series_reports_its_unit(model: Callable) -> None:
    """Net1 models chlorine: WNTR reports it in kg/m3."""
    assert timeseries(model("Net1"), "10", "quality")["unit"] == "kg/m3"


def test_cache_reuses_one_simulation_per_settings(model: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    """Analyses sharing settings run EPANET once; the cache survives pickling (e.g. into Redis)."""
    wn = model("Net3")
    calls: list[Any] = []
    real = simulation.simulate
    monkeypatch.setattr(simulation, "simulate", lambda *a, **k: calls.append(a) or real(*a, **k))
    cache: dict[str, Any] = {}
    first = hydraulic(wn, duration_h=24, cache=cache)
    series = timeseries(wn, "10", "flowrate", duration_h=24, cache=cache)
    assert len(calls) == 1 and len(cache) == 1
    restored = pickle.loads(pickle.dumps(cache))
    assert hydraulic(wn, duration_h=24, cache=restored) == first
    assert timeseries(next(iter(restored.values())), "10", "flowrate") == series
    hydraulic(wn, duration_h=12, cache=cache)
    assert len(calls) == 2 and len(cache) == 2


def test_analyses_never_mutate_the_callers_model(model: Callable) -> None:
    """Settings are applied to a private copy."""
    wn = model("Net3")
    before = wntr.network.to_dict(wn)
    hydraulic(wn, duration_h=5, demand_model="PDD", required_pressure_m=30)
    assert wntr.network.to_dict(wn) == before


def test_concurrent_simulations_in_threads_agree(model: Callable) -> None:
    """EPANET runs in threads (embedded job mode) give the same answer as a sequential run."""
    wn = model("Net3")
    expected = hydraulic(wn, duration_h=48)
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(hydraulic(wn, duration_h=48))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda wn: hydraulic(wn, duration_h=-1), "duration_h must be >= 0"),
        (lambda wn: hydraulic(wn, demand_model="XX"), "demand_model"),
        (lambda wn: hydraulic(wn, duration_h=float("nan")), "finite"),
        (lambda wn: timeseries(wn, "nope", "pressure"), "unknown node 'nope'"),
        (lambda wn: timeseries(wn, "10", "colour"), "variable must be one of"),
        (lambda wn: make_settings(wn, required_pressure_m=5, minimum_pressure_m=10), "minimum_pressure_m"),
    ],
)
def test_invalid_parameters_raise_analysis_input_error(model: Callable, call: Callable, message: str) -> None:
    """Bad parameters are reported as AnalysisInputError (mapped to 422 by the web layer)."""
    with pytest.raises(AnalysisInputError, match=message):
        call(model("Net1"))


def test_simulation_results_are_si(model: Callable) -> None:
    """A GPM network is reported in metres and m3/s, like WNTR's own results."""
    wn = model("Net1")
    sim = simulate(wn, make_settings(wn, duration_h=0))
    assert sim.node["pressure"]["10"].iloc[0] == pytest.approx(89.0, abs=1.5)  # ~127 psi
    assert sim.times_s == [0]


def test_a_run_leaves_the_shared_model_alone_and_matches_a_full_copy(model: Callable) -> None:
    """EPANET runs use a read-only view of the cached model: same results as on a deep copy, model untouched."""
    import pandas as pd

    wn = model("Net3")

    def options():
        return (
            wn.options.time.duration,
            wn.options.hydraulic.demand_model,
            wn.options.hydraulic.required_pressure,
            str(wn.options.quality.parameter),
        )

    before, before_model = options(), wntr.network.to_dict(wn)
    settings = simulation.make_settings(wn, 12, "PDD", 25.0, quality="NONE")
    viewed = simulation.simulate(wn, settings)
    copied = simulation.run(simulation.prepare(wn, settings), settings)
    assert options() == before and wntr.network.to_dict(wn) == before_model
    assert viewed.times_s[-1] == 12 * 3600  # the settings reached the view
    for key in ("pressure", "demand", "head"):
        pd.testing.assert_frame_equal(viewed.node[key], copied.node[key])
    pd.testing.assert_frame_equal(viewed.link["flowrate"], copied.link["flowrate"])
