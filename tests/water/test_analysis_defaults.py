"""A tenant's analysis defaults: the API (permissions, per-field 422s, audit, isolation), every analysis using
them with the source of each value, and cached results that never outlive a changed default."""

from __future__ import annotations

import numpy as np
import pytest
import wntr

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.llm.tools import ToolContext, ToolRegistry
from hydronet.models import AnalysisDefaults
from hydronet.water.standards import service_head_m
from hydronet.water.tools import TOOLS as WATER_TOOLS
from tests.support.networks import LIBRARY, import_example, wait_for_job
from tests.water.reference import toolkit_run

URL = "/api/tenant/analysis-defaults"


@pytest.fixture
def admin(factory, two_tenants):
    return factory.headers(two_tenants["a_users"]["admin"])


@pytest.fixture
def member_headers(member):
    """The auth header of tenant A's member."""
    return member[1]


def analyse(client, headers, network_id: str, kind: str, params: dict | None = None):
    """POST an analysis; returns the response."""
    return client.post(f"/api/networks/{network_id}/analyses/{kind}", headers=headers, json={"params": params or {}})


def run_tool(app, tenant, name: str, arguments: dict):
    """Run one of the assistant's water tools as the chat loop does, in a session bound to ``tenant``."""
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        return ToolRegistry(WATER_TOOLS).run(ToolContext(tenant_id=str(tenant.id)), name, arguments)


def fields(body: dict) -> dict:
    return {f["name"]: f for f in body["analysis_defaults"]["fields"]}


def test_everyone_reads_the_national_defaults_with_their_sources(client, factory, two_tenants):
    viewer = factory.headers(two_tenants["a_users"]["viewer"])
    resp = client.get(URL, headers=viewer)
    assert resp.status_code == 200
    body = resp.get_json()["analysis_defaults"]
    rows = fields(resp.get_json())
    assert body["overrides"] == {} and body["service_head_m"] == 28.0 and body["updated_at"] is None
    assert rows["storeys"]["value"] == 6 and rows["storeys"]["changed"] is False
    assert rows["storeys"]["source"].startswith("GB 50013-2018")
    assert "GB 55036-2022" in rows["fire_flow_l_s"]["source"] and rows["fire_flow_l_s"]["unit"] == "L/s"
    assert rows["storeys"]["label"]["zh"] and rows["storeys"]["label"]["en"]
    assert (rows["storeys"]["minimum"], rows["storeys"]["maximum"]) == (1, 40)


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_only_admins_change_them(client, factory, two_tenants, role):
    headers = factory.headers(two_tenants["a_users"][role])
    resp = client.put(URL, headers=headers, json={"storeys": 3})
    assert resp.status_code == 403
    assert client.get(URL, headers=headers).get_json()["analysis_defaults"]["overrides"] == {}


def test_an_admin_changes_them_audited_and_another_tenant_keeps_its_own(client, factory, two_tenants, admin):
    resp = client.put(
        URL, headers=admin, json={"storeys": 4, "fire_flow_l_s": 25, "fire_duration_h": 3, "leak_area_m2": None}
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["analysis_defaults"]
    assert body["overrides"] == {"storeys": 4, "fire_flow_l_s": 25.0, "fire_duration_h": 3.0}
    assert body["service_head_m"] == service_head_m(4) == 20.0
    assert fields(resp.get_json())["storeys"]["changed"] is True and body["updated_at"].endswith("+00:00")
    logs = client.get("/api/tenant/audit-logs?action=tenant.analysis_defaults.update", headers=admin).get_json()["logs"]
    assert len(logs) == 1 and logs[0]["details"]["to"]["storeys"] == 4 and logs[0]["details"]["from"] == {}
    other = factory.headers(two_tenants["b_owner"])
    assert client.get(URL, headers=other).get_json()["analysis_defaults"]["overrides"] == {}
    # PUT replaces: what is left out is the national default again; a national value is no override
    again = client.put(URL, headers=admin, json={"storeys": 6, "fire_flow_l_s": 25}).get_json()["analysis_defaults"]
    assert again["overrides"] == {"fire_flow_l_s": 25.0} and again["service_head_m"] == 28.0


def test_out_of_range_values_answer_422_per_field_and_change_nothing(client, admin):
    bad = {
        "storeys": 41,
        "fire_flow_l_s": 0,
        "fire_duration_h": 100,
        "fire_residual_pressure_m": "ten",
        "colour": 1,
        "max_day_factor": True,
    }
    resp = client.put(URL, headers=admin, json=bad)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error" and set(error["fields"]) == set(bad)
    assert "40" in error["fields"]["storeys"] and "greater than 0" in error["fields"]["fire_flow_l_s"]
    assert "unknown" in error["fields"]["colour"]
    assert client.put(URL, headers=admin, json={"storeys": 2.5}).status_code == 422
    assert "colour" in client.put(URL, headers=admin, json={"colour": None}).get_json()["error"]["fields"]
    assert client.put(URL, headers=admin, data="[1]", content_type="application/json").status_code == 422
    assert client.get(URL, headers=admin).get_json()["analysis_defaults"]["overrides"] == {}


def _reference_below(threshold_m: float, tmp_path) -> int:
    """Junctions of Net1 whose minimum pressure falls below ``threshold_m``, solved by the EPANET toolkit directly."""
    wn = wntr.network.WaterNetworkModel(str(LIBRARY / "Net1.inp"))
    run = toolkit_run(wn, tmp_path)
    pressure = run.node["pressure"][wn.junction_name_list]
    return int((pressure.min() < threshold_m - 1e-9).sum())


def test_analyses_use_the_tenant_defaults_and_name_their_source(client, admin, member_headers, tmp_path):
    nid = import_example(client, member_headers, "Net1")["id"]
    national = analyse(client, member_headers, nid, "hydraulic").get_json()
    used = national["result"]["settings"]["defaults"]["pressure_threshold_m"]
    assert used["value"] == 28.0 and used["origin"] == "standard" and used["source"].startswith("GB 50013-2018")
    assert client.put(URL, headers=admin, json={"storeys": 20}).status_code == 200
    head = service_head_m(20)
    tenant = analyse(client, member_headers, nid, "hydraulic").get_json()
    assert tenant["cached"] is False, "a changed default must not serve the result computed before it"
    settings = tenant["result"]["settings"]
    assert settings["pressure_threshold_m"] == head == 84.0
    assert settings["defaults"]["pressure_threshold_m"]["origin"] == "tenant"
    assert settings["defaults"]["pressure_threshold_m"]["source"] == "tenant setting"
    assert "20 storeys → 84 m" in settings["defaults"]["pressure_threshold_m"]["basis"]
    expected = _reference_below(head, tmp_path)
    assert expected > 0 and tenant["result"]["low_pressure"]["junction_count"] == expected
    rows = {row["name"]: row for row in tenant["settings"]}
    assert rows["pressure_threshold_m"]["origin"] == "tenant" and rows["pressure_threshold_m"]["value"] == head
    # the findings speak of the tenant's service pressure
    low = [f for f in tenant["findings"] if f["code"] == "low_pressure"]
    assert low and "84 m" in low[0]["message"]["en"]
    given = analyse(client, member_headers, nid, "hydraulic", {"pressure_threshold_m": 84}).get_json()
    assert given["cached"] is False
    assert given["result"]["settings"]["defaults"]["pressure_threshold_m"] == {
        "value": 84,
        "origin": "request",
        "source": "request",
    }
    assert analyse(client, member_headers, nid, "hydraulic").get_json()["cached"] is True
    # back to the national default: the first result (named by the standard) is served again
    assert client.put(URL, headers=admin, json={}).status_code == 200
    back = analyse(client, member_headers, nid, "hydraulic").get_json()
    assert back["cached"] is True
    assert back["result"]["settings"]["defaults"] == national["result"]["settings"]["defaults"]


def test_jobs_and_the_assistant_use_the_same_defaults(app, client, admin, member_headers, two_tenants):
    nid = import_example(client, member_headers, "Net1")["id"]
    assert client.put(URL, headers=admin, json={"fire_flow_l_s": 25, "storeys": 3}).status_code == 200
    started = analyse(client, member_headers, nid, "fire_flow", {"max_hydrants": 2, "duration_h": 6})
    assert started.status_code == 202
    job = wait_for_job(client, member_headers, started.get_json()["job"]["id"])
    assert job["status"] == "done", job
    assert job["params"] == {"max_hydrants": 2, "duration_h": 6}
    settings = job["result"]["settings"]
    assert settings["fire_demand_m3_s"] == 0.025 and settings["defaults"]["fire_demand_m3_s"]["origin"] == "tenant"
    assert settings["defaults"]["fire_duration_h"]["origin"] == "standard"
    outcome = run_tool(app, two_tenants["a"], "run_hydraulic_simulation", {"network_id": nid, "duration_h": 6})
    assert not outcome.is_error, outcome.for_model
    assert outcome.full["settings"]["pressure_threshold_m"] == 16.0
    assert outcome.full["settings"]["defaults"]["required_pressure_m"]["origin"] == "tenant"
    other = run_tool(app, two_tenants["b"], "list_networks", {})
    assert other.for_model["count"] == 0


def test_stored_values_outside_tightened_limits_are_ignored(app, client, admin, member_headers, two_tenants):
    """A value stored under wider limits never breaks the tenant's analyses: the national default applies."""
    assert client.put(URL, headers=admin, json={"storeys": 3}).status_code == 200
    with app.app_context(), all_tenants(db.session):
        row = db.session.query(AnalysisDefaults).one()
        row.values = {"storeys": 55, "fire_flow_l_s": 20}
        db.session.commit()
    body = client.get(URL, headers=admin).get_json()["analysis_defaults"]
    assert body["overrides"] == {"fire_flow_l_s": 20} and body["service_head_m"] == 28.0
    nid = import_example(client, member_headers, "Net1")["id"]
    result = analyse(client, member_headers, nid, "hydraulic").get_json()["result"]
    assert result["settings"]["pressure_threshold_m"] == 28.0 and np.isfinite(result["mean_pressure_m"])


def test_a_pressure_driven_series_uses_the_tenants_service_head_like_its_analysis(
    client, admin, member_headers, tmp_path
):
    """The result view's charts read the same pressure-driven run as the hydraulic result they belong to."""
    nid = import_example(client, member_headers, "Net1")["id"]
    assert client.put(URL, headers=admin, json={"storeys": 22}).status_code == 200
    head = service_head_m(22)
    result = analyse(client, member_headers, nid, "hydraulic", {"demand_model": "PDD"}).get_json()["result"]
    series = client.get(
        f"/api/networks/{nid}/timeseries?element=31&variable=pressure&demand_model=PDD", headers=member_headers
    ).get_json()["timeseries"]
    assert series["min"] == pytest.approx(result["node_min_pressure_m"]["31"], abs=1e-3)
    wn = wntr.network.WaterNetworkModel(str(LIBRARY / "Net1.inp"))
    wn.options.hydraulic.demand_model = "PDD"
    wn.options.hydraulic.required_pressure = head
    wn.options.hydraulic.minimum_pressure = 0.0
    reference = toolkit_run(wn, tmp_path).node["pressure"]["31"]
    assert series["min"] == pytest.approx(float(reference.min()), abs=1e-3)


def test_any_changed_default_retires_the_tenants_cached_results(client, admin, member_headers):
    """A fire-flow input a hydraulic run does not use still changes what its findings suggest: no stale answer."""
    nid = import_example(client, member_headers, "Net1")["id"]
    first = analyse(client, member_headers, nid, "hydraulic").get_json()
    assert analyse(client, member_headers, nid, "hydraulic").get_json()["cached"] is True
    assert client.put(URL, headers=admin, json={"fire_flow_l_s": 30}).status_code == 200
    after = analyse(client, member_headers, nid, "hydraulic").get_json()
    assert after["cached"] is False
    assert after["result"]["settings"]["pressure_threshold_m"] == first["result"]["settings"]["pressure_threshold_m"]
    assert any("30 L/s" in step["en"] for step in after["next_steps"])
    assert not any("30 L/s" in step["en"] for step in first["next_steps"])


def test_the_findings_flag_water_age_above_the_tenants_limit(client, admin, member_headers):
    """A threshold of the findings (no parameter of the analysis) still reaches them, and retires cached results."""
    nid = import_example(client, member_headers, "Net1")["id"]
    national = analyse(client, member_headers, nid, "water_age").get_json()
    ages = {j["node"]: j["mean_age_h"] for j in national["result"]["oldest_junctions"]}
    flagged = [f for f in national["findings"] if f["code"] == "old_water"]
    assert bool(flagged) == any(age > 72 for age in ages.values())
    limit = national["result"]["settings"]["defaults"]["max_water_age_h"]
    assert limit["value"] == 72.0 and limit["origin"] == "standard" and "no national limit" in limit["source"]
    assert client.put(URL, headers=admin, json={"max_water_age_h": 6}).status_code == 200
    tenant = analyse(client, member_headers, nid, "water_age").get_json()
    assert tenant["cached"] is False
    assert tenant["result"]["settings"]["standards"]["max_water_age_h"] == 6.0
    (old,) = [f for f in tenant["findings"] if f["code"] == "old_water"]
    assert old["elements"] == [node for node, age in ages.items() if age > 6] != []
    assert "above 6 h" in old["message"]["en"]
    used = tenant["result"]["settings"]["defaults"]["max_water_age_h"]
    assert used["value"] == 6.0 and used["origin"] == "tenant" and "72 h is common practice" in used["basis"]
    (shown,) = [row for row in tenant["settings"] if row["name"] == "max_water_age_h"]
    # the key figure is flagged at the same limit as the findings
    oldest = {k["key"]: k for k in tenant["kpis"]}["max_age"]
    assert oldest["severity"] == ("warning" if oldest["value"] > 6 else None)
    assert {k["key"]: k for k in national["kpis"]}["max_age"]["severity"] == (
        "warning" if oldest["value"] > 72 else None
    )
    assert shown["value"] == 6.0 and shown["origin"] == "tenant" and shown["unit"] == "h"
    row = fields(client.get(URL, headers=admin).get_json())["max_water_age_h"]
    assert row["value"] == 6.0 and row["national"] == 72.0 and row["changed"] is True
    assert "no national limit" in row["source"]


def test_two_first_saves_at_once_both_succeed_and_the_last_one_stays(client, admin, monkeypatch):
    """The second of two concurrent first PUTs finds the row the first inserted: an update, not a 500."""
    from hydronet.water import tenant_defaults

    assert client.put(URL, headers=admin, json={"storeys": 4}).status_code == 200
    real_row, calls = tenant_defaults._row, []

    def not_seen_once(tenant_id):  # this request looked before the other one committed its insert
        calls.append(tenant_id)
        return None if len(calls) == 1 else real_row(tenant_id)

    monkeypatch.setattr(tenant_defaults, "_row", not_seen_once)
    resp = client.put(URL, headers=admin, json={"storeys": 5})
    assert resp.status_code == 200, resp.get_json()
    monkeypatch.undo()
    assert client.get(URL, headers=admin).get_json()["analysis_defaults"]["overrides"] == {"storeys": 5}
