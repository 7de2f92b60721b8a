"""Water age, resilience metrics and topology, checked against WNTR and networkx directly."""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import pytest
import wntr

from hydronet.water.loader import parse_inp
from hydronet.water.quality import water_age
from hydronet.water.resilience import resilience
from hydronet.water.topology import topology
from tests.water.conftest import TINY_INP


@pytest.mark.parametrize(("name", "duration_h"), [("Net1", None), ("Net3", 96)])
def test_water_age_matches_a_direct_age_run(
    model: Callable, direct: Callable, name: str, duration_h: float | None
) -> None:
    """Mean age over the final 24 h and the oldest junction equal an EPANET AGE run's."""
    wn = model(name)
    result = water_age(wn, duration_h=duration_h, top_n=3)
    expected_h = duration_h or max(wn.options.time.duration / 3600, 72)
    _, res = direct(wn, duration_h=expected_h, quality="AGE")
    age_h = res.node["quality"][wn.junction_name_list] / 3600
    window = age_h.loc[(expected_h - 24) * 3600 :]
    assert result["settings"]["duration_h"] == expected_h
    assert result["mean_age_h"] == pytest.approx(window.mean().mean(), rel=1e-5)
    assert result["max_age_h"] == pytest.approx(window.max().max(), rel=1e-5)
    oldest = window.mean().sort_values(ascending=False).index[:3]
    assert [row["node"] for row in result["oldest_junctions"]] == list(oldest)
    assert result["warning"] is None


def test_short_water_age_run_carries_a_warning(model: Callable) -> None:
    """Ages start at zero, so a short run is flagged."""
    assert "shorter than" in water_age(model("Net1"), duration_h=12)["warning"]


@pytest.mark.parametrize("name", ["Net1", "Net3"])
def test_resilience_matches_wntr_metrics(model: Callable, direct: Callable, name: str) -> None:
    """Todini index, water service availability and pump energy equal wntr.metrics on the same PDD run."""
    wn = model(name)
    result = resilience(wn, duration_h=24, pressure_threshold_m=15)
    m, res = direct(wn, duration_h=24, demand_model="PDD")
    todini = wntr.metrics.todini_index(
        res.node["head"], res.node["pressure"], res.node["demand"], res.link["flowrate"], m, 15
    )
    assert result["todini"]["mean"] == pytest.approx(todini.mean(), rel=1e-5)
    assert result["todini"]["min"]["value"] == pytest.approx(todini.min(), rel=1e-5)
    expected = wntr.metrics.expected_demand(m)
    served = res.node["demand"][m.junction_name_list]
    wsa = wntr.metrics.water_service_availability(expected.sum(), served.sum())
    assert result["water_service_availability"]["network"] == pytest.approx(
        min(served.sum().sum() / expected.sum().sum(), 1.0), rel=1e-5
    )
    worst = result["water_service_availability"]["worst_junctions"][0]
    assert worst["wsa"] == pytest.approx(min(wsa.min(), 1.0), rel=1e-5)
    energy = wntr.metrics.pump_energy(res.link["flowrate"][m.pump_name_list], res.node["head"], m)
    assert result["pump_energy"]["total_kwh"] == pytest.approx(energy.iloc[:-1].sum().sum() / 3.6e6, rel=1e-5)
    assert {p["pump"] for p in result["pump_energy"]["pumps"]} == set(m.pump_name_list)


def test_starved_network_has_low_service_availability(model: Callable) -> None:
    """Asking for 60 m everywhere under PDD leaves Net3 short of water."""
    result = resilience(model("Net3"), duration_h=6, required_pressure_m=60)
    assert result["water_service_availability"]["network"] < 0.95
    assert result["water_service_availability"]["junctions_below_full_service"] > 0


@pytest.mark.parametrize("name", ["Net1", "Net3"])
def test_topology_matches_wntr_and_networkx(model: Callable, name: str) -> None:
    """Dead ends, bridges, articulation points and central point dominance agree with the libraries."""
    wn = model(name)
    result = topology(wn)
    graph = wn.to_graph()
    assert {row["node"] for row in result["dead_ends"]} == set(wntr.metrics.terminal_nodes(graph))
    assert {row["link"] for row in result["bridges"]} == set(wntr.metrics.bridges(graph))
    simple = nx.Graph(graph.to_undirected())
    assert {row["node"] for row in result["articulation_points"]} == set(nx.articulation_points(simple))
    assert result["central_point_dominance"] == pytest.approx(wntr.metrics.central_point_dominance(graph), rel=1e-6)
    assert result["independent_loops"] == wn.num_links - wn.num_nodes + 1


def test_parallel_pipes_are_not_bridges() -> None:
    """Two parallel pipes back each other up; only the single pipes are bridges (WNTR lists all of them)."""
    wn = parse_inp(TINY_INP)
    result = topology(wn)
    assert [row["link"] for row in result["bridges"]] == ["P3", "P4"]
    assert set(wntr.metrics.bridges(wn.to_graph())) == {"P1", "P2", "P3", "P4"}
    assert [row["node"] for row in result["dead_ends"]] == ["J3"]
    assert np.isclose(result["average_degree"], 2 * 4 / 4)


DEAD_END_INP = """\
[JUNCTIONS]
 J1  10  2
 J2  10  0

[RESERVOIRS]
 R1  60

[PIPES]
 P1  R1  J1  100  200  100  0  Open
 P2  J1  J2  100  100  100  0  Open

[TIMES]
 Duration  48:00
 Quality Timestep  0:05

[OPTIONS]
 Units  LPS

[END]
"""


def test_water_age_flags_junctions_never_reached(direct: Callable) -> None:
    """A dead end without demand never receives fresh water: its age equals the run length and it is flagged."""
    wn = parse_inp(DEAD_END_INP)
    result = water_age(wn, duration_h=48)
    _, res = direct(wn, duration_h=48, quality="AGE")
    final_age = res.node["quality"][["J1", "J2"]].iloc[-1]
    assert final_age["J2"] == pytest.approx(48 * 3600, abs=60) and final_age["J1"] < 3600
    assert result["stagnant_junctions"] == ["J2"]
    flagged = {w["code"]: w for w in result["warnings"]}
    assert flagged["age_equals_run_length"]["elements"] == ["J2"]


def test_todini_warns_when_tanks_feed_the_network(model: Callable, direct: Callable) -> None:
    """Net1's tank feeds the network at times (its net inflow goes negative): the Todini index is flagged."""
    wn = model("Net1")
    result = resilience(wn, duration_h=24)
    _, res = direct(wn, duration_h=24, demand_model="PDD")
    assert (res.node["demand"]["2"] < 0).any()
    flagged = {w["code"]: w for w in result["warnings"]}
    assert flagged["todini_tanks_feeding"]["elements"] == ["2"]
    assert "todini_tanks_feeding" not in {w["code"] for w in resilience(parse_inp(TINY_INP), duration_h=6)["warnings"]}
