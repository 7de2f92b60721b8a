"""Segment criticality and the standards' defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import wntr
from wntr.network import LinkStatus

from hydronet.water import standards
from hydronet.water.errors import AnalysisInputError
from hydronet.water.fireflow import fire_flow
from hydronet.water.registry import ANALYSES, run_analysis
from hydronet.water.segments import segment_criticality

pytestmark = pytest.mark.filterwarnings("ignore::scipy.optimize.OptimizeWarning")


def test_segments_come_from_wntr_and_the_worst_matches_a_direct_isolation(model: Callable, direct: Callable) -> None:
    """Segments equal WNTR's valve_segments; isolating the top one by hand gives the same junction count."""
    wn = model("Net3")
    result = segment_criticality(wn, duration_h=12, max_segments=6, seed=3)
    valves = wntr.network.generate_valve_layer(wn, placement_type="strategic", n=2, seed=3)
    _nodes, links, _sizes = wntr.metrics.valve_segments(wn.to_graph(), valves)
    assert result["valve_count"] == len(valves) and result["segment_count"] == links.nunique()
    assert result["segments_considered"] == 6 and result["complete"]
    sizes = links.value_counts()
    assert [row["link_count"] for row in sorted(result["ranking"], key=lambda r: -r["link_count"])][0] == sizes.max()
    top = result["ranking"][0]
    members = [str(name) for name in links.index[links == top["segment"]]]
    assert sorted(top["links"]) == sorted(members)[:20] or set(top["links"]) <= set(members)

    def isolate(m: Any) -> None:
        for name in members:
            m.get_link(name).initial_status = LinkStatus.Closed
            for control in [n for n, c in m.controls() if any(a.target()[0].name == name for a in c.actions())]:
                m.remove_control(control)

    m, ref = direct(wn, duration_h=12, demand_model="PDD", edit=isolate)
    _, base = direct(wn, duration_h=12, demand_model="PDD")
    with_demand = [
        n for n in m.junction_name_list if any(d.base_value > 0 for d in m.get_node(n).demand_timeseries_list)
    ]
    before = base.node["pressure"][with_demand].min()
    after = ref.node["pressure"][with_demand].min()
    assert top["junctions_below_threshold"] == int((after < 28).sum())
    assert top["junctions_impacted"] == int(((before >= 28) & (after < 28)).sum())
    served = ref.node["demand"][m.junction_name_list].to_numpy().sum()
    expected = ref.node["full_demand"][m.junction_name_list].to_numpy().sum()
    assert top["demand_served_fraction"] == pytest.approx(min(served / expected, 1.0), rel=1e-5)
    impacts = [row["junctions_impacted"] for row in result["ranking"]]
    assert impacts == sorted(impacts, reverse=True)


def test_segment_parameters_are_checked(model: Callable) -> None:
    """Bad placements and windows are input errors; the schema declares the valve layer parameters."""
    wn = model("Net1")
    with pytest.raises(AnalysisInputError, match="placement"):
        segment_criticality(wn, placement="everywhere")
    with pytest.raises(AnalysisInputError, match="closure_start_h"):
        segment_criticality(wn, duration_h=6, closure_start_h=6)
    props = ANALYSES["segment_criticality"].parameters["properties"]
    assert {"placement", "valves_per_node", "seed", "closure_start_h", "demand_only", "max_segments"} <= set(props)


@pytest.mark.parametrize(("storeys", "head"), [(1, 10.0), (2, 12.0), (3, 16.0), (6, 28.0), (10, 44.0)])
def test_service_head_follows_gb_50013(storeys: int, head: float) -> None:
    """10 m for one storey, 12 m for two, +4 m for each further storey."""
    assert standards.service_head_m(storeys) == head
    assert standards.defaults_from({"storeys": storeys}).sources()["required_pressure_m"]["value"] == head


def test_tenant_defaults_are_validated() -> None:
    """A tenant may change the inputs; unknown keys and out-of-range values are refused."""
    tenant = standards.defaults_from({"storeys": 4, "fire_flow_l_s": 25, "fire_duration_h": 3})
    assert tenant.service_head_m == 20.0 and tenant.fire_flow_l_s == 25 and standards.NATIONAL.storeys == 6
    for bad in (
        {"storeys": 0},
        {"storeys": 41},
        {"storeys": 2.5},
        {"colour": 1},
        {"fire_flow_l_s": "lots"},
        {"fire_flow_l_s": 0},
        {"fire_duration_h": 0.1},
    ):
        with pytest.raises(AnalysisInputError):
            standards.defaults_from(bad)


def test_fire_flow_defaults_are_the_chinese_standard(model: Callable) -> None:
    """15 L/s, 10 m residual, 2 h at the peak hour; each default is shown with its source."""
    result = fire_flow(model("Net1"), duration_h=24, max_hydrants=2)
    settings = result["settings"]
    assert settings["fire_demand_m3_s"] == 0.015 and settings["fire_residual_pressure_m"] == 10.0
    assert settings["fire_duration_h"] == 2.0
    assert "GB 55036-2022" in settings["defaults"]["fire_demand_m3_s"]["source"]
    assert "0.10 MPa" in settings["defaults"]["fire_residual_pressure_m"]["source"]
    assert "peak hour" in settings["defaults"]["fire_start_h"]["source"]
    assert result["fire_window"]["end"]["time_s"] - result["fire_window"]["start"]["time_s"] == 2 * 3600


def test_tenant_standards_replace_the_national_defaults(model: Callable) -> None:
    """With a tenant's storeys and fire flow, omitted parameters take the tenant's values and say where from."""
    tenant = standards.defaults_from({"storeys": 3, "fire_flow_l_s": 25})
    hydraulic = run_analysis("hydraulic", model("Net1"), {"duration_h": 6, "demand_model": "PDD"}, standards=tenant)
    assert hydraulic["settings"]["required_pressure_m"] == 16.0
    used = hydraulic["settings"]["defaults"]["required_pressure_m"]
    assert used["value"] == 16.0 and used["origin"] == "tenant" and used["source"] == "tenant setting"
    assert "3 storeys → 16 m" in used["basis"] and used["basis"].startswith("GB 50013-2018")
    assert hydraulic["settings"]["standards"]["storeys"] == 3
    given = run_analysis("hydraulic", model("Net1"), {"duration_h": 6, "pressure_threshold_m": 30}, standards=tenant)
    assert given["settings"]["pressure_threshold_m"] == 30
    assert given["settings"]["defaults"]["pressure_threshold_m"] == {
        "value": 30,
        "origin": "request",
        "source": "request",
    }
    fire = run_analysis("fire_flow", model("Net1"), {"duration_h": 6, "max_hydrants": 1}, standards=tenant)
    assert fire["settings"]["fire_demand_m3_s"] == 0.025
    assert fire["settings"]["defaults"]["fire_demand_m3_s"]["value"] == 0.025
    assert fire["settings"]["defaults"]["fire_demand_m3_s"]["origin"] == "tenant"
    # the tenant kept the national residual pressure: the standard is named
    residual = fire["settings"]["defaults"]["pressure_threshold_m"]
    assert residual["origin"] == "standard" and "GB 55036-2022" in residual["source"] and residual["value"] == 10.0
    national = run_analysis("hydraulic", model("Net1"), {"duration_h": 6})
    assert national["settings"]["pressure_threshold_m"] == 28.0 and "standards" not in national["settings"]
    assert national["settings"]["defaults"]["pressure_threshold_m"]["origin"] == "standard"
    assert national["settings"]["defaults"]["pressure_threshold_m"]["source"].startswith("GB 50013-2018")


def test_a_tenant_leak_size_is_the_default_of_its_kind(model: Callable) -> None:
    """The leak opening follows the tenant's leak or main-break size, and says so."""
    tenant = standards.defaults_from({"leak_area_m2": 2e-4})
    leak = run_analysis("leak_scenario", model("Net1"), {"junction": "10", "duration_h": 6}, standards=tenant)
    assert leak["area_m2"] == 2e-4 and leak["settings"]["defaults"]["area_m2"]["origin"] == "tenant"
    burst = run_analysis(
        "leak_scenario", model("Net1"), {"junction": "10", "duration_h": 6, "kind": "main_break"}, standards=tenant
    )
    assert burst["area_m2"] == standards.NATIONAL.break_area_m2
    assert burst["settings"]["defaults"]["area_m2"]["origin"] == "standard"
    assert "main break" in burst["settings"]["defaults"]["area_m2"]["source"]
