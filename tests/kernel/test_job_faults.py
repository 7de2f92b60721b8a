"""Analysis jobs whose worker died: a heartbeat tells, the job is queued again once (idempotently),
then failed with the reason; a job is claimed by one run only; the RQ work horse dies with its worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hydronet.kernel.db import db, utcnow
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import AnalysisJob, UsageRecord
from hydronet.water import jobs as analysis_jobs
from hydronet.water.jobstate import Heartbeat
from tests.support.constants import ROOT
from tests.support.networks import import_example, wait_for_job


def _job_row(app, tenant_id, network_id, **fields) -> uuid.UUID:
    with app.app_context():
        bind_tenant(db.session, tenant_id)
        row = AnalysisJob(
            tenant_id=tenant_id, network_id=uuid.UUID(network_id), kind="hydraulic", params={"duration_h": 6}, **fields
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def _runs_metered(app, tenant_id) -> int:
    with app.app_context(), all_tenants(db.session):
        return db.session.scalar(
            select(func.count(UsageRecord.id)).where(UsageRecord.tenant_id == tenant_id, UsageRecord.kind == "analysis")
        )


def test_a_running_job_whose_heartbeat_stopped_is_queued_again_and_finishes(app, client, member, two_tenants):
    _user, headers = member
    tenant = two_tenants["a"]
    nid = import_example(client, headers, "Net1")["id"]
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_S"] + 5)
    job_id = _job_row(app, tenant.id, nid, status="running", progress=0.4, attempts=1, heartbeat_at=stale)
    job = wait_for_job(client, headers, str(job_id), timeout_s=60)
    assert job["status"] == "done" and job["result"]["min_pressure"]["node"]
    with app.app_context(), all_tenants(db.session):
        assert db.session.get(AnalysisJob, job_id).attempts == 2
    assert _runs_metered(app, tenant.id) == 1


def test_a_job_lost_twice_is_failed_with_the_reason(app, client, member, two_tenants):
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_S"] + 5)
    job_id = _job_row(
        app, two_tenants["a"].id, nid, status="running", attempts=analysis_jobs.MAX_ATTEMPTS, heartbeat_at=stale
    )
    job = client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]
    assert job["status"] == "failed" and job["error"] == analysis_jobs.LOST_REASON


def test_a_fresh_heartbeat_keeps_a_job_running(app, client, member, two_tenants):
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    job_id = _job_row(app, two_tenants["a"].id, nid, status="running", attempts=1, heartbeat_at=utcnow())
    assert client.get(f"/api/jobs/{job_id}", headers=headers).get_json()["job"]["status"] == "running"


def test_recovery_is_idempotent_and_a_job_is_claimed_once(app, client, member, two_tenants, monkeypatch):
    """Two sweeps of one stale job queue it once; a job delivered twice runs once."""
    _user, headers = member
    tenant = two_tenants["a"]
    nid = import_example(client, headers, "Net1")["id"]
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_S"] + 5)
    job_id = _job_row(app, tenant.id, nid, status="running", attempts=1, heartbeat_at=stale)
    queued = []
    monkeypatch.setattr(analysis_jobs, "enqueue", lambda name, **kw: queued.append(kw["job_id"]) or "x")
    with app.app_context(), all_tenants(db.session):
        first, second = analysis_jobs.recover_stale(), analysis_jobs.recover_stale()
    assert (first["requeued"], second["requeued"], queued) == (1, 0, [str(job_id)])
    with app.app_context():
        analysis_jobs.run_job(str(job_id), str(tenant.id))
        analysis_jobs.run_job(str(job_id), str(tenant.id))  # delivered twice
    with app.app_context(), all_tenants(db.session):
        row = db.session.get(AnalysisJob, job_id)
        assert (row.status, row.attempts) == ("done", 2)
    assert _runs_metered(app, tenant.id) == 1


def test_the_heartbeat_is_stamped_while_running(app, client, member, two_tenants, monkeypatch):
    _user, headers = member
    tenant = two_tenants["a"]
    nid = import_example(client, headers, "Net1")["id"]
    old = utcnow() - timedelta(minutes=5)
    job_id = _job_row(app, tenant.id, nid, status="running", attempts=1, heartbeat_at=old)
    monkeypatch.setitem(app.config, "JOB_HEARTBEAT_S", 0.05)
    beat = Heartbeat(app, job_id, tenant.id, 1)
    time.sleep(0.4)
    beat.stop()
    with app.app_context(), all_tenants(db.session):
        stamped = analysis_jobs._aware(db.session.get(AnalysisJob, job_id).heartbeat_at)
    assert stamped > old + timedelta(minutes=4)


_HORSE = r"""
import os, sys, time
from hydronet.kernel import jobs
pid = os.fork()
if pid == 0:
    jobs._die_with_parent()
    print(os.getpid(), flush=True)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_work_horse_dies_with_its_worker():
    """A worker killed with SIGKILL takes its horse along (no orphan finishing a re-queued job)."""
    worker = subprocess.Popen([sys.executable, "-c", _HORSE], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    horse = int(worker.stdout.readline())
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    deadline = time.time() + 5
    while time.time() < deadline:
        if not _alive(horse):
            return
        time.sleep(0.05)
    os.kill(horse, signal.SIGKILL)
    pytest.fail("the horse outlived its worker")


def test_a_queued_job_the_queue_lost_is_delivered_again(backends, factory):
    """Redis restarted empty: a job still `queued` in the database is put back in the queue, once."""
    if not backends.redis_url:
        pytest.skip("RQ needs Redis (embedded mode runs jobs in threads)")
    import redis
    from rq import Queue

    from hydronet.kernel import jobs
    from hydronet.web.app import create_app

    rq_app = create_app(backends.app_config(JOBS_INLINE=False))
    backends.apps.append(rq_app)
    client = rq_app.test_client()
    tenant = factory.tenant(plan="pro")
    headers = factory.headers(factory.user(tenant, role="member"))
    nid = import_example(client, headers, "Net1")["id"]
    resp = client.post(
        f"/api/networks/{nid}/analyses/fire_flow",
        headers=headers,
        json={"params": {"max_hydrants": 2, "duration_h": 6}},
    )
    assert resp.status_code == 202
    job_id = uuid.UUID(resp.get_json()["job"]["id"])
    connection = redis.Redis.from_url(backends.redis_url)
    queue = Queue(jobs.QUEUE_NAME, connection=connection)
    assert queue.job_ids == [analysis_jobs._delivery_key(job_id, 0)]
    connection.flushdb()  # Redis lost everything
    with rq_app.app_context(), all_tenants(db.session):
        db.session.execute(
            AnalysisJob.__table__.update()
            .where(AnalysisJob.id == job_id)
            .values(created_at=utcnow() - timedelta(minutes=2))
        )
        db.session.commit()
        assert analysis_jobs.recover_stale()["redelivered"] == 1
        assert analysis_jobs.recover_stale()["redelivered"] == 0  # known to the queue again: left alone
    assert queue.job_ids == [analysis_jobs._delivery_key(job_id, 0)]
