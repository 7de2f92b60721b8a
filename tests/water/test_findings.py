"""Findings, key figures and tables read from real results, checked against WNTR/EPANET run directly."""

from __future__ import annotations

import pytest

from hydronet.water.findings import findings, next_steps
from hydronet.water.registry import run_analysis
from hydronet.water.tables import kpis, tables
from tests.water.conftest import fresh_model


def _by_code(items, code):
    return [f for f in items if f["code"] == code]


def test_hydraulic_findings_name_the_negative_pressure_and_the_tank_connections(model, direct):
    wn = model("Net3")
    result = run_analysis("hydraulic", fresh_model("Net3"), {})
    m, ref = direct(wn)
    pressure = ref.node["pressure"][m.junction_name_list]
    worst = pressure.min().idxmin()
    items = findings("hydraulic", result)
    assert items[0]["severity"] == "critical" and items[0]["code"] == "negative_pressure"
    assert items[0]["elements"] == [worst]
    assert abs(items[0]["value"] - float(pressure[worst].min())) < 1e-3
    assert items[0]["time_h"] == int(pressure[worst].idxmin()) / 3600
    assert "负压" in items[0]["message"]["zh"] and "negative pressure" in items[0]["message"]["en"]
    # A junction whose lowest pressure equals a tank's lowest depth is that tank's connection, not a shortfall.
    levels = {t: float((ref.node["head"][t] - m.get_node(t).elevation).min()) for t in m.tank_name_list}
    connected = {
        j for j in pressure.columns if any(abs(float(pressure[j].min()) - lv) <= 0.01 for lv in levels.values())
    }
    noted = {e for f in _by_code(items, "tank_connection_pressure") for e in f["elements"]}
    assert noted and noted <= connected
    # Low-pressure findings name real shortfalls below the result's service pressure, never a tank connection.
    required = float(result["settings"]["required_pressure_m"])
    low = {e for f in _by_code(items, "low_pressure") for e in f["elements"]}
    assert (
        low
        == {
            j
            for j in pressure.columns
            if 0 <= float(pressure[j].min()) < required and j not in connected and j != worst
        }
        - noted
    )
    ranks = [("critical", "warning", "info").index(f["severity"]) for f in items]
    assert ranks == sorted(ranks)
    steps = next_steps("hydraulic", items)
    assert any(worst in s["zh"] for s in steps)


def test_what_if_findings_flag_the_tanks_that_empty(model, direct):
    wn = model("Net3")
    result = run_analysis("what_if", fresh_model("Net3"), {"demand_multiplier": 1.5})

    def busier(m):
        m.options.hydraulic.demand_multiplier = 1.5

    m, ref = direct(wn, demand_model="PDD", edit=busier)
    emptied = {
        t
        for t in m.tank_name_list
        if float((ref.node["head"][t] - m.get_node(t).elevation).min()) <= m.get_node(t).min_level + 0.01
    }
    flagged = {f["elements"][0] for f in _by_code(findings("what_if", result), "tank_emptied")}
    assert emptied and flagged == emptied


def test_fire_flow_tables_and_figures_put_failing_hydrants_first():
    result = run_analysis("fire_flow", fresh_model("Net3"), {"hydrants": ["10", "15", "35", "40"], "duration_h": 6})
    ranking = {r["hydrant"]: r for r in result["ranking"]}
    table = tables("fire_flow", result)[0]
    assert table["columns"][2]["unit"] == "m" and table["columns"][2]["label"]["en"] == "Residual pressure"
    passes = [row["passes"] for row in table["rows"]]
    assert passes == sorted(passes)  # False (failing) first
    failing = sum(not r["passes"] for r in ranking.values())
    assert next(k for k in kpis("fire_flow", result) if k["key"] == "failing")["value"] == failing
    assert {f["elements"][0] for f in _by_code(findings("fire_flow", result), "hydrant_fails")} == {
        name for name, r in ranking.items() if not r["passes"]
    }


def test_findings_read_unknown_or_broken_results_without_failing():
    assert findings("hydraulic", {"min_pressure": "oops", "tanks": [1, None], "low_pressure": []}) == []
    assert findings("nope", None) == []
    warned = findings(
        "hydraulic",
        {
            "warnings": [
                {"code": "unbalanced", "message": "System unbalanced at 5 h", "elements": ["J1"]},
                "plain text warning",
                42,
                {"code": "water_balance", "message": "water balance fails", "elements": ["T1"], "severity": "error"},
            ]
        },
    )
    assert [f["code"] for f in warned] == ["engine.water_balance", "engine.unbalanced", "engine.warning"]
    assert warned[0]["severity"] == "critical" and "水量平衡" in warned[0]["message"]["zh"]
    assert warned[1]["elements"] == ["J1"] and "System unbalanced at 5 h" in warned[1]["message"]["zh"]
    # The engine's negative-pressure line for a junction already reported (with time and cause) is not repeated.
    result = {
        "min_pressure": {"pressure_m": -1.0, "node": "J9", "time_h": 3.0},
        "warnings": [
            {"code": "negative_pressure", "message": "1 junctions have negative pressure", "elements": ["J9"]}
        ],
    }
    assert [f["code"] for f in findings("hydraulic", result)] == ["negative_pressure"]


def test_thresholds_a_result_does_not_state_come_from_the_tenant_defaults_it_was_run_with():
    """A compacted result without its threshold, and the suggested fire-flow test, follow the tenant's defaults."""
    from hydronet.water import standards
    from hydronet.water.findings import standards_of

    tenant = standards.defaults_from({"storeys": 10, "fire_flow_l_s": 25, "fire_residual_pressure_m": 12})
    result = run_analysis("hydraulic", fresh_model("Net3"), {}, standards=tenant)
    assert standards_of(result) == tenant and standards_of({}) == standards.NATIONAL
    stripped = {
        **result,
        "low_pressure": {k: v for k, v in result["low_pressure"].items() if k != "threshold_m"},
        "settings": {"standards": result["settings"]["standards"]},
    }
    low = _by_code(findings("hydraulic", stripped), "low_pressure")
    assert low and "below the 44 m service pressure" in low[0]["message"]["en"]
    steps = " ".join(s["en"] for s in next_steps("hydraulic", findings("hydraulic", result), standards_of(result)))
    assert "25 L/s at ≥ 12 m residual" in steps
    national = " ".join(s["en"] for s in next_steps("hydraulic", []))
    assert "15 L/s at ≥ 10 m residual" in national
    fire = {
        "settings": {"standards": result["settings"]["standards"]},
        "ranking": [{"hydrant": "10", "passes": False, "hydrant_min_pressure_m": 8.0}],
    }
    fails = _by_code(findings("fire_flow", fire), "hydrant_fails")
    assert "needs ≥ 12 m" in fails[0]["message"]["en"] and "25 L/s" in fails[0]["message"]["en"]


@pytest.mark.parametrize(
    ("kind", "params"),
    [("what_if", {"close_pipes": ["60"], "duration_h": 12}), ("leak_scenario", {"junction": "123", "duration_h": 6})],
)
def test_what_if_and_leak_tables_list_each_junctions_pressure_change_largest_drop_first(kind, params):
    result = run_analysis(kind, fresh_model("Net3"), params)
    found = {t["key"]: t for t in tables(kind, result)}["pressure_change"]
    rows = found["rows"]
    assert len(rows) == len(result["node_pressure_change_m"]) == len(fresh_model("Net3").junction_name_list)
    assert [r["change_m"] for r in rows] == sorted(r["change_m"] for r in rows) and rows[0]["change_m"] < 0
    assert all(r["change_m"] == pytest.approx(r["scenario_m"] - r["baseline_m"], abs=2e-3) for r in rows)
    assert {c["key"]: c["unit"] for c in found["columns"]}["change_m"] == "m"


@pytest.mark.parametrize("network", ["Net1", "Net3"])
def test_velocity_pressure_and_age_are_flagged_above_the_tenants_limits(model, direct, network):
    """The 2 m/s, 80 m and 72 h flagging limits are tenant inputs: moved below the EPANET extremes, they flag them."""
    from hydronet.water import standards

    wn = model(network)
    m, ref = direct(wn)
    pressure = ref.node["pressure"][m.junction_name_list]
    velocity = ref.link["velocity"][m.pipe_name_list].abs()
    top_node, top_p = pressure.max().idxmax(), float(pressure.max().max())
    top_pipe, top_v = velocity.max().idxmax(), float(velocity.max().max())

    national = findings("hydraulic", run_analysis("hydraulic", fresh_model(network), {}))
    assert bool(_by_code(national, "high_pressure")) == (top_p > standards.NATIONAL.max_pressure_m)
    assert bool(_by_code(national, "high_velocity")) == (top_v >= standards.NATIONAL.max_velocity_m_s)

    tenant = standards.defaults_from({"max_pressure_m": top_p - 1, "max_velocity_m_s": top_v * 0.9})
    result = run_analysis("hydraulic", fresh_model(network), {}, standards=tenant)
    assert result["settings"]["standards"]["max_pressure_m"] == pytest.approx(top_p - 1)
    items = findings("hydraulic", result)
    (high,) = _by_code(items, "high_pressure")
    assert high["elements"] == [top_node] and high["value"] == pytest.approx(top_p, abs=1e-3)
    assert f"{top_p - 1:.2f}".rstrip("0").rstrip(".") in high["message"]["en"]
    (fast,) = _by_code(items, "high_velocity")
    assert fast["elements"] == [top_pipe] and fast["value"] == pytest.approx(top_v, abs=1e-4)
    assert fast["severity"] == "warning"  # below 1.5× the limit
    critical = standards.defaults_from({"max_velocity_m_s": max(top_v / 1.6, 0.5)})
    assert top_v >= 1.5 * critical.max_velocity_m_s, "precondition: the fastest pipe is 1.5× a settable limit"
    rerun = findings("hydraulic", run_analysis("hydraulic", fresh_model(network), {}, standards=critical))
    assert _by_code(rerun, "high_velocity")[0]["severity"] == "critical"

    # water age: the mean over the final 24 h of the AGE run, as the analysis defines it
    hours = max(wn.options.time.duration / 3600, 72)
    _, aged = direct(wn, duration_h=hours, quality="AGE")
    age = (aged.node["quality"][wn.junction_name_list] / 3600).loc[(hours - 24) * 3600 :].mean()
    age = age.sort_values(ascending=False)
    limit = float(age.iloc[4] + age.iloc[5]) / 2  # between the 5th and 6th oldest
    assert limit >= 6, "the oldest water is older than the input's lower limit"
    tenant = standards.defaults_from({"max_water_age_h": limit})
    result = run_analysis("water_age", fresh_model(network), {"top_n": 10}, standards=tenant)
    (old,) = _by_code(findings("water_age", result), "old_water")
    assert old["elements"] == list(age.index[:5])
    national = findings("water_age", run_analysis("water_age", fresh_model(network), {"top_n": 10}))
    assert bool(_by_code(national, "old_water")) == (age.iloc[0] > standards.NATIONAL.max_water_age_h)
