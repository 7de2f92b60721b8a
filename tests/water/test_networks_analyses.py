"""REST analyses on stored networks: numbers agree with WNTR / hydronet.water run directly; jobs; maps; series."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import wntr
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import AnalysisJob, UsageRecord
from hydronet.water.loader import parse_inp
from hydronet.water.registry import run_analysis
from tests.support.networks import LIBRARY, import_example, library_text, wait_for_job
from tests.water.reference import toolkit_run


def analyse(client, headers, network_id: str, kind: str, params: dict | None = None, query: str = ""):
    """POST an analysis; returns the response."""
    return client.post(
        f"/api/networks/{network_id}/analyses/{kind}{query}", headers=headers, json={"params": params or {}}
    )


def direct(name: str, kind: str, params: dict) -> dict:
    """The same analysis through hydronet.water on a freshly parsed model (JSON round trip)."""
    return json.loads(json.dumps(run_analysis(kind, parse_inp(library_text(name)), params)))


def wntr_run(name: str, duration_h: float | None, folder) -> tuple:
    """A plain EPANET 2.3 run (WNTR parses and writes the model, the toolkit solves), nothing of hydronet between."""
    wn = wntr.network.WaterNetworkModel(str(LIBRARY / f"{name}.inp"))
    if duration_h is not None:
        wn.options.time.duration = int(duration_h * 3600)
    return wn, toolkit_run(wn, folder)


@pytest.mark.parametrize(("name", "duration_h"), [("Net1", None), ("Net3", 48)])
def test_hydraulic_endpoint_agrees_with_wntr(client, member, name, duration_h, tmp_path):
    """Minimum/maximum pressure (value, node, time) and max velocity equal a direct WNTR run; reruns are cached."""
    _user, headers = member
    network = import_example(client, headers, name)
    params = {} if duration_h is None else {"duration_h": duration_h}
    resp = analyse(client, headers, network["id"], "hydraulic", params)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["cached"] is False and body["kind"] == "hydraulic"
    wn, res = wntr_run(name, duration_h, tmp_path)
    pressure = res.node["pressure"][wn.junction_name_list]
    stacked = pressure.stack()
    time_s, node = stacked.idxmin()
    lowest = body["result"]["min_pressure"]
    assert (lowest["node"], lowest["time_s"]) == (node, int(time_s))
    assert lowest["pressure_m"] == pytest.approx(stacked.min(), abs=1e-4)
    assert body["result"]["max_pressure"]["pressure_m"] == pytest.approx(stacked.max(), abs=1e-4)
    velocity = res.link["velocity"][wn.pipe_name_list].abs()
    assert body["result"]["max_velocity"]["velocity_m_s"] == pytest.approx(velocity.max().max(), rel=1e-5)
    assert body["result"]["mean_pressure_m"] == pytest.approx(float(np.mean(pressure.to_numpy())), rel=1e-5)
    again = analyse(client, headers, network["id"], "hydraulic", params).get_json()
    assert again["cached"] is True and again["result"] == body["result"]


@pytest.mark.parametrize(
    ("name", "kind", "params"),
    [
        ("Net1", "summary", {}),
        ("Net1", "water_age", {"duration_h": 72}),
        ("Net1", "resilience", {}),
        ("Net3", "topology", {}),
        ("Net1", "leak_scenario", {"junction": "22", "duration_h": 6}),
        ("Net3", "what_if", {"demand_multiplier": 1.5, "duration_h": 24}),
        ("Net3", "timeseries", {"element": "10", "variable": "flowrate", "duration_h": 24}),
    ],
)
def test_short_analyses_agree_with_the_water_package(client, member, app, name, kind, params):
    """Each short analysis answers inline with exactly what hydronet.water computes, and is metered."""
    _user, headers = member
    network = import_example(client, headers, name)
    resp = analyse(client, headers, network["id"], kind, params)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()["result"]
    expected = direct(name, kind, params)
    if kind == "summary":
        expected["name"] = result["name"]
    assert result == expected
    with app.app_context(), all_tenants(db.session):
        tools = db.session.execute(select(UsageRecord.tool).where(UsageRecord.kind == "analysis")).scalars().all()
    assert tools == [kind]


def test_bad_params_422_and_unknown_kind_404(client, member):
    """Schema violations name the parameter; unknown analyses and elements are refused clearly."""
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    resp = analyse(client, headers, nid, "hydraulic", {"duration_h": -1})
    assert resp.status_code == 422 and "duration_h" in resp.get_json()["error"]["fields"]["params"]
    resp = analyse(client, headers, nid, "hydraulic", {"bogus": 1})
    assert resp.status_code == 422
    resp = analyse(client, headers, nid, "leak_scenario", {"junction": "nope"})
    assert resp.status_code == 422 and "nope" in resp.get_json()["error"]["message"]
    resp = analyse(client, headers, nid, "fire_flow", {"max_hydrants": 0})
    assert resp.status_code == 422
    for kind, params, name in (
        ("pipe_criticality", {"engine": "epanet22"}, "engine"),
        ("pipe_criticality", {"demand_only": 1}, "demand_only"),
        ("pipe_criticality", {"closure_start_h": -2}, "closure_start_h"),
        ("segment_criticality", {"valves_per_node": 0}, "valves_per_node"),
    ):
        resp = analyse(client, headers, nid, kind, params)
        assert resp.status_code == 422 and name in json.dumps(resp.get_json()["error"]), (kind, params)
    resp = analyse(client, headers, nid, "pipe_criticality", {"min_diameter_m": 0.5, "max_diameter_m": 0.2})
    assert resp.status_code in (202, 422)  # checked in the job when it is not refused up front
    assert analyse(client, headers, nid, "bogus").status_code == 404
    resp = client.post(f"/api/networks/{nid}/analyses/hydraulic", headers=headers, json={"params": [1]})
    assert resp.status_code == 422


def test_long_analysis_runs_as_a_job_with_progress(client, member, app):
    """pipe_criticality answers 202 with a job; the job reaches progress 1.0 with the direct result."""
    _user, headers = member
    nid = import_example(client, headers, "Net3")["id"]
    params = {"max_pipes": 8, "duration_h": 12}
    resp = analyse(client, headers, nid, "pipe_criticality", params)
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()["job"]
    assert job["status"] in ("queued", "running", "done") and job["kind"] == "pipe_criticality"
    finished = wait_for_job(client, headers, job["id"])
    assert finished["status"] == "done", finished
    assert finished["progress"] == 1.0 and finished["finished_at"] and finished["network_id"] == nid
    expected = direct("Net3", "pipe_criticality", params)
    assert finished["result"]["ranking"] == expected["ranking"] and finished["result"]["complete"] is True
    again = analyse(client, headers, nid, "pipe_criticality", params).get_json()["job"]
    assert again["status"] == "done" and again["result"] == finished["result"]  # answered from the cache
    with app.app_context(), all_tenants(db.session):
        assert db.session.execute(select(AnalysisJob.status)).scalars().all() == ["done", "done"]


def test_async_flag_queues_a_short_analysis(client, member):
    """?async=true runs even a short analysis as a job."""
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    resp = analyse(client, headers, nid, "hydraulic", {"duration_h": 6}, query="?async=true")
    assert resp.status_code == 202
    job = wait_for_job(client, headers, resp.get_json()["job"]["id"])
    assert job["status"] == "done" and job["result"]["min_pressure"]["node"]
    assert client.get(f"/api/jobs/{uuid.uuid4()}", headers=headers).status_code == 404
    assert client.get("/api/jobs/not-a-uuid", headers=headers).status_code == 404


def test_progress_writes_are_throttled_and_lost_jobs_fail(app, client, member, two_tenants):
    """Progress reaches the database every 5 %; a job whose worker vanished reads as failed."""
    from datetime import timedelta

    from hydronet.kernel.db import utcnow
    from hydronet.kernel.tenancy import bind_tenant
    from hydronet.water.jobstate import ProgressWriter

    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    tenant = two_tenants["a"]
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        row = AnalysisJob(
            tenant_id=tenant.id,
            network_id=uuid.UUID(nid),
            kind="fire_flow",
            params={},
            status="running",
            created_at=utcnow() - timedelta(days=1),
            attempts=2,
        )
        db.session.add(row)
        db.session.commit()
        job_id = row.id
        writer = ProgressWriter(job_id, tenant.id)
        writer(1, 100)
        db.session.expire_all()
        assert db.session.get(AnalysisJob, job_id).progress == 0.0  # below the 5 % step, within the second
        writer(10, 100)
        db.session.expire_all()
        assert db.session.get(AnalysisJob, job_id).progress == pytest.approx(0.1)
    job = client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]
    assert job["status"] == "failed" and "lost" in job["error"]


def test_rq_worker_runs_the_job(backends, app, factory):
    """With Redis configured and JOBS_INLINE off, the job goes through RQ and a worker finishes it."""
    if not backends.redis_url:
        pytest.skip("RQ needs Redis (embedded mode runs jobs in threads)")
    import redis
    from rq import Queue, SimpleWorker

    from hydronet.kernel import jobs
    from hydronet.web.app import create_app

    rq_app = create_app(backends.app_config(JOBS_INLINE=False))
    backends.apps.append(rq_app)
    client = rq_app.test_client()
    tenant = factory.tenant(plan="pro")
    headers = factory.headers(factory.user(tenant, role="member"))
    nid = import_example(client, headers, "Net1")["id"]
    resp = analyse(client, headers, nid, "fire_flow", {"max_hydrants": 3, "duration_h": 6})
    assert resp.status_code == 202
    job_id = resp.get_json()["job"]["id"]
    assert client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]["status"] == "queued"
    connection = redis.Redis.from_url(backends.redis_url)
    previous, jobs._worker_app = jobs._worker_app, rq_app
    try:
        SimpleWorker([Queue(jobs.QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
    finally:
        jobs._worker_app = previous
    job = client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]
    assert job["status"] == "done" and job["progress"] == 1.0, job
    assert len(job["result"]["ranking"]) == 3


def test_timeseries_agrees_with_wntr(client, member, tmp_path):
    """The time-series endpoint returns WNTR's pressure curve at a node, in metres and hours."""
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    resp = client.get(f"/api/networks/{nid}/timeseries?element=22&variable=pressure&duration_h=12", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    series = resp.get_json()["timeseries"]
    _wn, res = wntr_run("Net1", 12, tmp_path)
    expected = res.node["pressure"]["22"]
    assert series["unit"] == "m" and [p["time_h"] for p in series["points"]] == [t / 3600 for t in expected.index]
    assert [p["value"] for p in series["points"]] == pytest.approx(list(expected), abs=1e-4)
    bad = client.get(f"/api/networks/{nid}/timeseries?element=nope&variable=pressure", headers=headers)
    assert bad.status_code == 422
    png = client.get(f"/api/networks/{nid}/timeseries.png?element=22&variable=pressure&duration_h=12", headers=headers)
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:4] == b"\x89PNG"


def test_maps_are_coloured_by_the_simulation(client, member):
    """map.json carries each junction's minimum pressure (as the hydraulic result); PNG and SVG render."""
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    body = client.get(f"/api/networks/{nid}/map.json?value=min_pressure", headers=headers).get_json()
    assert body["unit"] == "m" and body["map"]["type"] == "FeatureCollection"
    values = {
        f["properties"]["name"]: f["properties"]["value"]
        for f in body["map"]["features"]
        if f["geometry"]["type"] == "Point" and f["properties"]["type"] == "Junction"
    }
    hydraulic = analyse(client, headers, nid, "hydraulic").get_json()["result"]
    assert values == pytest.approx(hydraulic["node_min_pressure_m"])
    velocity = client.get(f"/api/networks/{nid}/map.json?value=max_velocity", headers=headers).get_json()
    pipes = {
        f["properties"]["name"]: f["properties"]["value"]
        for f in velocity["map"]["features"]
        if f["properties"]["type"] == "Pipe"
    }
    assert pipes == pytest.approx(hydraulic["link_max_velocity_m_s"])
    png = client.get(f"/api/networks/{nid}/map.png?value=min_pressure", headers=headers)
    assert png.status_code == 200 and png.data[:4] == b"\x89PNG"
    svg = client.get(f"/api/networks/{nid}/map.svg?value=none", headers=headers)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get(f"/api/networks/{nid}/map.json?value=colour", headers=headers).status_code == 422
    assert client.get(f"/api/networks/{nid}/map.gif", headers=headers).status_code == 404
