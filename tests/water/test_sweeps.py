"""Sweeps split into chunks on RQ: any worker takes chunks, the parent aggregates exactly the single-process
result, reports progress, can be cancelled, says when a time limit cut it short; a lost chunk is run again."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import AnalysisDefaults, AnalysisJob, UsageRecord
from hydronet.water import jobs as analysis_jobs
from hydronet.water import sweeps
from hydronet.water.jobstate import claim
from hydronet.water.registry import run_analysis
from hydronet.water.standards import defaults_from
from tests.support.networks import import_example
from tests.water.conftest import fresh_model
from tests.water.test_networks_analyses import direct

PARAMS = {"duration_h": 24}
CHUNK = 25


@pytest.fixture
def rq(backends, factory):
    """An app whose jobs go through RQ (chunks of 25 scenarios), a member's headers, and a burst worker."""
    if not backends.redis_url:
        pytest.skip("chunked sweeps need Redis (embedded mode runs a sweep in one thread)")
    import redis
    from rq import Queue, SimpleWorker

    from hydronet.kernel import jobs
    from hydronet.web.app import create_app

    app = create_app(backends.app_config(JOBS_INLINE=False, SWEEP_CHUNK_SCENARIOS=CHUNK))
    backends.apps.append(app)
    tenant = factory.tenant(plan="pro")
    user = factory.user(tenant, role="member")
    connection = redis.Redis.from_url(backends.redis_url)

    def drain() -> None:
        """Another worker: run whatever is queued, in this thread (RQ's SimpleWorker, burst)."""
        previous, jobs._worker_app = jobs._worker_app, app
        try:
            SimpleWorker([Queue(jobs.QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
        finally:
            jobs._worker_app = previous

    return {
        "app": app,
        "client": app.test_client(),
        "headers": factory.headers(user),
        "tenant": tenant,
        "drain": drain,
        "queue": Queue(jobs.QUEUE_NAME, connection=connection),
    }


def _start(rq, kind="pipe_criticality", params=PARAMS) -> tuple[str, uuid.UUID]:
    nid = import_example(rq["client"], rq["headers"], "Net3")["id"]
    resp = rq["client"].post(f"/api/networks/{nid}/analyses/{kind}", headers=rq["headers"], json={"params": params})
    assert resp.status_code == 202, resp.get_json()
    return nid, uuid.UUID(resp.get_json()["job"]["id"])


def _job(rq, job_id) -> dict:
    return rq["client"].get(f"/api/jobs/{job_id}", headers=rq["headers"]).get_json()["job"]


def _chunks(rq, job_id) -> list[AnalysisJob]:
    with rq["app"].app_context(), all_tenants(db.session):
        rows = db.session.scalars(select(AnalysisJob).where(AnalysisJob.parent_id == job_id)).all()
        for row in rows:
            db.session.expunge(row)
        return sorted(rows, key=lambda row: row.params["index"])


def _metered(app, tenant_id) -> list[str]:
    """Statuses of the tenant's metered analysis runs (a short read: SQLite's writer must not wait on it)."""
    with app.app_context(), all_tenants(db.session):
        return list(
            db.session.scalars(
                select(UsageRecord.status).where(UsageRecord.tenant_id == tenant_id, UsageRecord.kind == "analysis")
            )
        )


def _parent_in_thread(rq, job_id) -> threading.Thread:
    """The parent job run by one worker (a thread here) that leaves every chunk to the others."""

    def target() -> None:
        with rq["app"].app_context():
            analysis_jobs.run_job(str(job_id), str(rq["tenant"].id))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not _chunks(rq, job_id):
        assert time.time() < deadline and thread.is_alive(), "the parent did not split the sweep"
        time.sleep(0.05)
    # the chunk rows are committed before they are queued: a burst worker started earlier could stop short
    while not _all_queued(rq, _chunks(rq, job_id)):
        assert time.time() < deadline and thread.is_alive(), "the parent did not queue every chunk"
        time.sleep(0.05)
    return thread


def _all_queued(rq, chunks: list[AnalysisJob]) -> bool:
    queued = rq["queue"].get_job_ids()
    return all(any(key.startswith(f"analysis-{chunk.id.hex}-") for key in queued) for chunk in chunks)


@pytest.fixture
def others_take_chunks(monkeypatch):
    """The parent works no chunk itself: every chunk goes through the queue to another worker."""
    monkeypatch.setattr(sweeps.Distributed, "_claim_next", lambda self: None)
    monkeypatch.setattr(sweeps, "WAKE_S", 0.5)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("pipe_criticality", PARAMS),
        ("fire_flow", {"duration_h": 24}),
        ("segment_criticality", {"duration_h": 24, "valves_per_node": 1}),
    ],
)
def test_one_worker_alone_gives_the_single_process_result(rq, kind, params):
    """A parent with no other worker works its chunks itself; the result is the one-process result."""
    _nid, job_id = _start(rq, kind, params)
    rq["drain"]()
    job = _job(rq, job_id)
    assert job["status"] == "done" and job["progress"] == 1.0, job
    chunks = _chunks(rq, job_id)
    assert len(chunks) >= 2 and all(c.status == "done" for c in chunks)
    assert sum(len(c.params["items"]) for c in chunks) == job["result"]["analysed"]
    assert job["result"] == direct("Net3", kind, params)


def test_chunks_taken_by_other_workers_aggregate_exactly_with_rising_progress(rq, others_take_chunks, monkeypatch):
    seen: list[float] = []
    original = sweeps.sweep_progress

    def recording(parent_id, tenant_id):
        original(parent_id, tenant_id)
        seen.append(db.session.scalar(select(AnalysisJob.progress).where(AnalysisJob.id == parent_id)))

    monkeypatch.setattr(sweeps, "sweep_progress", recording)
    _nid, job_id = _start(rq)
    parent = _parent_in_thread(rq, job_id)
    rq["drain"]()  # the other worker: the parent's own delivery is a no-op (claimed), then every chunk
    parent.join(60)
    job = _job(rq, job_id)
    assert job["status"] == "done", job
    assert all(c.attempts == 1 and c.status == "done" for c in _chunks(rq, job_id))
    assert job["result"] == direct("Net3", "pipe_criticality", PARAMS)
    assert seen == sorted(seen) and len(set(seen)) >= 5 and seen[-1] == 1.0


def test_cancel_stops_the_sweep_and_drops_chunks_not_started(rq, others_take_chunks):
    _nid, job_id = _start(rq)
    parent = _parent_in_thread(rq, job_id)
    resp = rq["client"].post(f"/api/jobs/{job_id}/cancel", headers=rq["headers"])
    assert resp.status_code == 200 and resp.get_json()["job"]["status"] == "cancelled"
    parent.join(30)
    assert not parent.is_alive()
    rq["drain"]()  # deliveries of cancelled chunks are dropped
    assert {c.status for c in _chunks(rq, job_id)} == {"cancelled"}
    assert all(c.attempts == 0 and c.result is None for c in _chunks(rq, job_id))
    assert _job(rq, job_id)["status"] == "cancelled" and _metered(rq["app"], rq["tenant"].id) == ["cancelled"]
    again = rq["client"].post(f"/api/jobs/{job_id}/cancel", headers=rq["headers"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "job_finished"
    with rq["app"].app_context(), all_tenants(db.session):
        assert db.session.scalar(select(AuditLog.action).where(AuditLog.target_id == str(job_id))) == "analysis.cancel"


def test_a_time_limited_sweep_says_it_is_incomplete(rq, monkeypatch):
    monkeypatch.setitem(rq["app"].config, "ANALYSIS_TIMEOUT_S", 0.0)
    _nid, job_id = _start(rq)
    rq["drain"]()
    job = _job(rq, job_id)
    result = job["result"]
    assert job["status"] == "done" and result["complete"] is False and result["analysed"] == 0
    warning = next(w for w in result["warnings"] if w["code"] == "sweep_incomplete")
    assert "time limit of 0 s reached: 0 pipes analysed" in warning["message"]


def test_a_chunk_lost_with_its_worker_is_run_again(rq, others_take_chunks):
    _nid, job_id = _start(rq)
    parent = _parent_in_thread(rq, job_id)
    lost = _chunks(rq, job_id)[2]
    tid = rq["tenant"].id
    with rq["app"].app_context():  # a worker took the chunk and was killed: a claim, then silence
        bind_tenant(db.session, tid)
        assert claim(lost.id, tid)
        db.session.execute(
            AnalysisJob.__table__.update()
            .where(AnalysisJob.id == lost.id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=rq["app"].config["JOB_STALE_S"] + 5))
        )
        db.session.commit()
    rq["drain"]()  # every other chunk; the lost one's delivery finds it running
    assert parent.is_alive() and _chunks(rq, job_id)[2].status == "running"
    with rq["app"].app_context(), all_tenants(db.session):
        assert analysis_jobs.recover_stale()["requeued"] == 1
    rq["drain"]()
    parent.join(60)
    job = _job(rq, job_id)
    assert job["status"] == "done" and _chunks(rq, job_id)[2].attempts == 2
    assert job["result"] == direct("Net3", "pipe_criticality", PARAMS)


def _set_defaults(rq, values: dict) -> None:
    with rq["app"].app_context():
        bind_tenant(db.session, rq["tenant"].id)
        row = db.session.scalar(select(AnalysisDefaults).where(AnalysisDefaults.tenant_id == rq["tenant"].id))
        if row is None:
            db.session.add(AnalysisDefaults(tenant_id=rq["tenant"].id, values=values))
        else:
            row.values = values
        db.session.commit()


def test_chunks_use_the_tenant_defaults_the_parent_started_with(rq, others_take_chunks):
    """Another worker's chunks take the tenant's design inputs of the parent, even when they change mid-sweep."""
    _set_defaults(rq, {"storeys": 3})
    _nid, job_id = _start(rq)
    parent = _parent_in_thread(rq, job_id)
    _set_defaults(rq, {"storeys": 10})  # changed while the chunks wait in the queue
    rq["drain"]()
    parent.join(60)
    job = _job(rq, job_id)
    three = defaults_from({"storeys": 3})
    expected = json.loads(json.dumps(run_analysis("pipe_criticality", fresh_model("Net3"), PARAMS, standards=three)))
    assert job["status"] == "done" and job["result"]["settings"]["pressure_threshold_m"] == 16.0
    assert job["result"]["ranking"] == expected["ranking"] and job["result"]["analysed"] == expected["analysed"]


def _kill_worker_of(rq, chunk_id) -> None:
    """A worker took the chunk and was killed: a claim, then a heartbeat older than JOB_STALE_S."""
    tid = rq["tenant"].id
    with rq["app"].app_context():
        bind_tenant(db.session, tid)
        assert claim(chunk_id, tid)
        db.session.execute(
            AnalysisJob.__table__.update()
            .where(AnalysisJob.id == chunk_id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=rq["app"].config["JOB_STALE_S"] + 5))
        )
        db.session.commit()


def test_scenarios_of_a_chunk_lost_twice_make_the_result_incomplete_not_failed_pipes(rq, others_take_chunks):
    _nid, job_id = _start(rq)
    parent = _parent_in_thread(rq, job_id)
    lost = _chunks(rq, job_id)[2]
    _kill_worker_of(rq, lost.id)
    rq["drain"]()
    with rq["app"].app_context(), all_tenants(db.session):
        assert analysis_jobs.recover_stale()["requeued"] == 1
    _kill_worker_of(rq, lost.id)  # its second delivery's worker is killed too
    with rq["app"].app_context(), all_tenants(db.session):
        assert analysis_jobs.recover_stale()["failed"] == 1
    rq["drain"]()
    parent.join(60)
    job = _job(rq, job_id)
    result = job["result"]
    everything = direct("Net3", "pipe_criticality", PARAMS)
    assert job["status"] == "done" and result["complete"] is False
    assert result["analysed"] == everything["analysed"] - len(lost.params["items"])
    assert "not evaluated" in result["stopped_reason"]
    assert {f["name"] for f in result["failed"]} == set(lost.params["items"])
    assert any(w["code"] == "sweep_incomplete" for w in result["warnings"])
    again = rq["client"].post(
        f"/api/networks/{_nid}/analyses/pipe_criticality", headers=rq["headers"], json={"params": PARAMS}
    )
    assert again.status_code == 202, "an incomplete result must not be served from the cache"


def test_embedded_mode_runs_a_sweep_in_one_process(app, client, factory, monkeypatch):
    """No Redis (or JOBS_INLINE): the job runs in a thread as before, without chunk rows."""
    monkeypatch.setitem(app.config, "SWEEP_CHUNK_SCENARIOS", 10)  # 30 pipes would make three chunks on RQ
    tenant = factory.tenant(plan="pro")
    headers = factory.headers(factory.user(tenant, role="member"))
    nid = import_example(client, headers, "Net3")["id"]
    resp = client.post(
        f"/api/networks/{nid}/analyses/pipe_criticality",
        headers=headers,
        json={"params": {"duration_h": 24, "max_pipes": 30}},
    )
    job_id = resp.get_json()["job"]["id"]
    deadline = time.time() + 60
    while (job := client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"])["status"] != "done":
        assert time.time() < deadline and job["status"] != "failed", job
        time.sleep(0.1)
    assert job["result"] == direct("Net3", "pipe_criticality", {"duration_h": 24, "max_pipes": 30})
    with app.app_context(), all_tenants(db.session):
        assert not db.session.scalars(select(AnalysisJob).where(AnalysisJob.parent_id == uuid.UUID(job_id))).all()


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("member", 200)])
def test_cancel_needs_analyses_run_and_stays_in_the_tenant(app, client, factory, two_tenants, role, status):
    a, b = two_tenants["a"], two_tenants["b"]
    headers = factory.headers(two_tenants["a_users"][role])
    nid = import_example(client, factory.headers(two_tenants["a_users"]["member"]), "Net1")["id"]
    with app.app_context():
        bind_tenant(db.session, a.id)
        row = AnalysisJob(
            tenant_id=a.id,
            network_id=uuid.UUID(nid),
            kind="fire_flow",
            params={},
            status="running",
            attempts=1,
            heartbeat_at=utcnow(),
        )
        db.session.add(row)
        db.session.commit()
        job_id = row.id

    def status_now() -> str:
        with app.app_context(), all_tenants(db.session):
            return db.session.get(AnalysisJob, job_id).status

    other = client.post(f"/api/jobs/{job_id}/cancel", headers=factory.headers(two_tenants["b_owner"]))
    assert other.status_code == 404 and b.id != a.id
    assert status_now() == "running", "another tenant's refused cancel must change nothing"
    resp = client.post(f"/api/jobs/{job_id}/cancel", headers=headers)
    assert resp.status_code == status, resp.get_json()
    assert status_now() == ("cancelled" if status == 200 else "running")
    if status == 200:
        assert resp.get_json()["job"]["status"] == "cancelled"


def test_cancel_stops_a_sweep_running_in_a_thread(app, client, factory):
    """Embedded mode: the running sweep notices at its next progress write and stops; the job stays cancelled."""
    tenant = factory.tenant(plan="pro")
    headers = factory.headers(factory.user(tenant, role="member"))
    nid = import_example(client, headers, "Net6")["id"]
    resp = client.post(
        f"/api/networks/{nid}/analyses/pipe_criticality",
        headers=headers,
        json={"params": {"duration_h": 24, "max_pipes": 300}},
    )
    job_id = resp.get_json()["job"]["id"]
    deadline = time.time() + 120
    while client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]["status"] != "running":
        assert time.time() < deadline
        time.sleep(0.05)
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=headers).get_json()["job"]["status"] == "cancelled"
    while not _metered(app, tenant.id):  # the run ends, metered as cancelled
        assert time.time() < deadline, "the sweep did not stop"
        time.sleep(0.2)
    assert _metered(app, tenant.id) == ["cancelled"]
    job = client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]
    assert job["status"] == "cancelled" and "result" not in job and job["progress"] < 1.0
