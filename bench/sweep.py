"""(i) A sweep at utility scale: Net6 full pipe criticality (24 h, every pipe) with 1 and with 2 RQ workers.

The phase has a database of its own (``bench_sweep``, migrated by init_database.py, the app connecting
as the RLS-bound role) so that other phases re-seeding theirs never pull it away during its long run;
an organisation is registered through the API and Net6 imported once. Each run (2 workers, then 1) queues
``pipe_criticality`` (``duration_h`` 24, all 3,829 pipes) and times it from the POST to the job's ``done``, with N ``flask hydronet worker`` processes
on the bench's PostgreSQL and Redis — what an operator starts on each worker host. The sweep is
split into chunks (SWEEP_CHUNK_SCENARIOS); with one worker the parent works every chunk itself.
The result cache is emptied between runs so that both compute. Target: 2 workers ≤ 0.6 × 1 worker.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import redis
import requests

from bench import seed
from bench.services import Process

PARAMS = {"duration_h": 24}
SWEEP_DB = "bench_sweep"


def prepare(secrets: dict[str, str]) -> str:
    """(Re)create and migrate the phase's database; the URL the app and the workers use."""
    seed.create_owned_database(SWEEP_DB)
    seed.migrate(secrets, db=SWEEP_DB)
    return seed.url(SWEEP_DB, seed.APP_ROLE)


def register(http: requests.Session, base: str) -> str:
    """A new organisation on the enterprise plan (no quota in the way of a long sweep); its owner's token."""
    resp = http.post(
        f"{base}/api/auth/register",
        timeout=60,
        json={"email": "sweep@bench.example.com", "password": "Sweep-Bench-2026!x", "tenant_name": "bench-sweep"},
    )
    resp.raise_for_status()
    conn = seed._connect(SWEEP_DB)
    seed._run(conn, "UPDATE tenants SET plan = 'enterprise' WHERE id = %s", params=(resp.json()["tenant"]["id"],))
    conn.close()
    return resp.json()["access_token"]


def measure(
    base: str,
    env: dict[str, str],
    redis_url: str,
    out: Path,
    workers: tuple[int, ...] = (2, 1),
    max_pipes: int | None = None,
) -> dict[str, Any]:
    """Seconds of the Net6 sweep with each number of workers, and whether the results agree."""
    http = requests.Session()
    headers = {"Authorization": f"Bearer {register(http, base)}"}
    imported = http.post(f"{base}/api/networks/import", json={"example": "Net6"}, headers=headers, timeout=120)
    if imported.status_code != 201:
        return {"measured": False, "reason": f"import answered {imported.status_code}: {imported.text[:200]}"}
    network_id = imported.json()["network"]["id"]
    params = dict(PARAMS, **({"max_pipes": max_pipes} if max_pipes else {}))
    runs: dict[str, Any] = {}
    results = []
    for n in workers:
        _forget_results(redis_url)
        print(f"(i) Net6 criticality with {n} worker(s) …", flush=True)
        procs = [
            Process(
                f"worker {i}",
                [sys.executable, "-m", "flask", "--app", "app_saas:app", "hydronet", "worker"],
                {**os.environ, **env},
                out / f"sweep_worker_{n}_{i}.log",
            )
            for i in range(n)
        ]
        try:
            time.sleep(3)  # the workers have registered with the queue
            dead = [proc for proc in procs if not proc.alive()]
            if dead:
                return {"measured": False, "reason": f"{dead[0].name} exited at start, see {dead[0].log}"}
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            resp = http.post(
                f"{base}/api/networks/{network_id}/analyses/pipe_criticality",
                json={"params": params},
                headers=headers,
                timeout=60,
            )
            if resp.status_code != 202:
                return {"measured": False, "reason": f"analysis answered {resp.status_code}: {resp.text[:200]}"}
            job = _wait(http, base, resp.json()["job"]["id"], headers)
            took = time.perf_counter() - started
        finally:
            for proc in procs:
                proc.stop()
        if job["status"] != "done":
            return {"measured": False, "reason": f"the job ended {job['status']}: {job.get('error')}"}
        result = job["result"]
        results.append(result)
        runs[str(n)] = {
            "seconds": round(took, 1),
            "pipes_analysed": result["analysed"],
            "scenarios_failed": len(result["failed"]),
            "complete": result["complete"],
            "load_1min_before": round(load_before, 2),
            "load_1min_after": round(os.getloadavg()[0], 2),
        }
        print(f"    {n} worker(s): {runs[str(n)]}", flush=True)
    one, two = runs.get("1"), runs.get("2")
    return {
        "measured": True,
        "network": "Net6",
        "params": params,
        "pipes": results[0]["pipes_considered"],
        "chunk_scenarios": int(env.get("SWEEP_CHUNK_SCENARIOS", 100)),
        "runs": runs,
        "same_result": all(r == results[0] for r in results),
        "ratio": round(two["seconds"] / one["seconds"], 3) if one and two else None,
    }


def _forget_results(redis_url: str) -> None:
    """Drop cached analysis results (the two runs must both compute)."""
    conn = redis.Redis.from_url(redis_url)
    for key in conn.scan_iter("*analysis:v*"):
        conn.delete(key)


def _wait(http: requests.Session, base: str, job_id: str, headers: dict[str, str], timeout_s: float = 3 * 3600):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = http.get(f"{base}/api/jobs/{job_id}", headers=headers, timeout=60)
        if resp.status_code != 200:
            raise RuntimeError(f"GET /api/jobs/{job_id} answered {resp.status_code}: {resp.text[:200]}")
        job = resp.json()["job"]
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(1.0)
    raise TimeoutError("the sweep did not finish")
