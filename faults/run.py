"""HydroNet fault injection: gunicorn under chat load while Redis, PostgreSQL, a web worker and the job
worker fail; writes faults/RESULTS.md and faults/results.json.

Called by faults/run.sh.  Everything is its own and on loopback: a Redis on a
free port (SIGKILLed and restarted empty), the database ``faults_hydronet``
(its backends, and no other database's, are terminated), the fake DashScope
server, gunicorn and an RQ worker.  Every phase is bounded in time and every
process started here is stopped at the end.

Faults, in order, each followed by an observation window:

1. ``redis``     — Redis SIGKILLed, down for a few seconds, restarted empty;
2. ``postgres``  — every backend of the app's database terminated (pg_terminate_backend);
3. ``gunicorn``  — one gunicorn worker SIGKILLed while streams are open;
4. ``rq``        — the RQ worker SIGKILLed mid-job (its work horse must die with it), then restarted.

Measured: per fault the answers seen (HTTP status and error code, SSE terminal
events), the time until ``/api/health`` answers 200 again, and over the run:
turns acknowledged but not stored (lost), stored twice (duplicated), streams
that ended with neither ``done`` nor ``error`` while the connection held,
500s, the quota counters against the usage aggregates, stuck jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg2
import redis
import requests

from bench.services import ROOT, Process, fake_upstream, free_port, wait_http

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DB, OWNER, APP = "faults_hydronet", "faults_owner", "faults_app"
API_KEY = "sk-faults-" + secrets.token_hex(8)
SECRET, JWT_SECRET = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
HEALTH_LIMIT_S = 10.0


def pg_url(db: str = DB, user: str = "postgres") -> str:
    return f"postgresql://{user}@127.0.0.1:5432/{db}"


def _admin(db: str = "postgres"):
    conn = psycopg2.connect(pg_url(db))
    conn.autocommit = True
    return conn


# -- setup -----------------------------------------------------------------------------------------


def create_database() -> None:
    """A fresh ``faults_hydronet``: migrations as an owner role, the app as a role under RLS."""
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        for role, extra in ((OWNER, "BYPASSRLS"), (APP, "NOBYPASSRLS NOINHERIT")):
            cur.execute(f"DO $$BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$")
            cur.execute(f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE {extra}")
        cur.execute(f'CREATE DATABASE "{DB}" OWNER {OWNER}')
    admin.close()
    conn = _admin(DB)
    with conn.cursor() as cur:
        for sql in (
            f"ALTER SCHEMA public OWNER TO {OWNER}",
            f"GRANT USAGE ON SCHEMA public TO {APP}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP}",
        ):
            cur.execute(sql)
    conn.close()


def app_env(redis_url: str, fake_url: str, quick: bool) -> dict[str, str]:
    return {
        "DATABASE_URL": pg_url(DB, APP),
        "DATABASE_OWNER_URL": pg_url(DB, OWNER),
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "JWT_SECRET_KEY": JWT_SECRET,
        "DEBUG": "false",
        "HYDRONET_ENV_FILE": "/dev/null",
        "ALIYUN_API_KEY": API_KEY,
        "DASHSCOPE_HTTP_BASE_URL": fake_url,
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
        "PROXY_COUNT": "0",
        "RATELIMIT_REGISTER": "100 per minute",
        "ADMIN_PASSWORD": secrets.token_urlsafe(16),
        # short enough that the run sees them act: a turn lost with its worker, a job lost with its worker
        "QUOTA_HOLD_S": "15",
        "QUOTA_RECONCILE_S": "30",
        "JOB_HEARTBEAT_S": "2",
        "JOB_STALE_S": "10",
        "ANALYSIS_TIMEOUT_S": "10" if quick else "40",
    }


def migrate(env: dict[str, str]) -> None:
    import subprocess

    run_env = {**os.environ, **env, "DATABASE_URL": pg_url(DB, OWNER)}
    done = subprocess.run(
        [sys.executable, "init_database.py"], cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=180
    )
    if done.returncode:
        raise RuntimeError(f"init_database.py failed:\n{done.stdout}\n{done.stderr}")


class RedisServer:
    """The suite's own redis-server on one port; kill() is SIGKILL, start() comes back empty."""

    def __init__(self, port: int) -> None:
        self.port, self.proc = port, None

    def start(self) -> None:
        OUT.mkdir(exist_ok=True)
        self.proc = Process(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            dict(os.environ),
            OUT / "redis.log",
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        os.kill(self.proc.popen.pid, signal.SIGKILL)
        self.proc.popen.wait(5)

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(5)


def children(pid: int) -> list[int]:
    """Direct children of a process (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return raw[raw.rindex(")") + 2 :].split()[0] != "Z"


# -- clients ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    answer: str  # "200", "503 store_unavailable", "sse done", "sse error <code>", "connection lost", …
    tag: str = ""
    reply_id: str = ""
    acked: bool = False  # the client was told the turn is stored
    terminal: bool = True  # SSE: the stream ended with done or error


@dataclass
class Tenant:
    id: str
    token: str


class Clients:
    """Client threads sending JSON turns, streamed turns and listings until stopped."""

    def __init__(self, base: str, tenants: list[Tenant], conversations: list[str]) -> None:
        self.base, self.tenants, self.conversations = base, tenants, conversations
        self.count = len(conversations)
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.count):
            kind = ("json", "sse", "list", "sse")[i % 4]
            tenant = self.tenants[i % len(self.tenants)]
            thread = threading.Thread(target=self._loop, args=(i, kind, tenant), daemon=True, name=f"client-{i}")
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def _loop(self, i: int, kind: str, tenant: Tenant) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {tenant.token}"}
        conv = self.conversations[i]
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.monotonic()
            try:
                if kind == "list":
                    resp = session.get(f"{self.base}/api/chat/conversations", headers=headers, timeout=(3, 20))
                    self._record(Outcome(kind, started, time.monotonic(), _answer(resp)))
                    resp = session.get(
                        f"{self.base}/api/chat/conversations/{conv}/messages?limit=20", headers=headers, timeout=(3, 20)
                    )
                    self._record(Outcome(kind, started, time.monotonic(), _answer(resp)))
                    time.sleep(0.5)  # all clients share one account per tenant: stay under its rate limit
                    continue
                tag = f"f{i}-{n}-{uuid.uuid4().hex[:6]}"
                if kind == "json":
                    text = f"[bench id={tag} first_ms=50 chunks=3 every_ms=100] 压力多少？"
                    resp = session.post(
                        f"{self.base}/api/chat/conversations/{conv}/messages",
                        headers=headers,
                        json={"message": text},
                        timeout=(3, 60),
                    )
                    body = _json(resp)
                    reply = (body.get("reply") or {}).get("id", "") if resp.status_code == 200 else ""
                    self._record(Outcome(kind, started, time.monotonic(), _answer(resp), tag, reply, acked=bool(reply)))
                else:
                    self._stream(session, headers, conv, tag, started)
            except requests.RequestException as exc:
                self._record(
                    Outcome(
                        kind,
                        started,
                        time.monotonic(),
                        "connection lost",
                        locals().get("tag", ""),
                        terminal=isinstance(exc, requests.ConnectionError),
                    )
                )
                time.sleep(0.2)
            time.sleep(0.05)

    def _stream(self, session: requests.Session, headers: dict, conv: str, tag: str, started: float) -> None:
        text = f"[bench id={tag} first_ms=100 chunks=8 every_ms=150] 讲讲管网"
        with session.post(
            f"{self.base}/api/chat/conversations/{conv}/messages",
            headers=headers,
            json={"message": text, "stream": True},
            timeout=(3, 60),
            stream=True,
        ) as resp:
            if resp.status_code != 200 or "text/event-stream" not in resp.headers.get("Content-Type", ""):
                self._record(Outcome("sse", started, time.monotonic(), _answer(resp), tag))
                return
            last: dict[str, Any] | None = None
            try:
                for line in resp.iter_lines(decode_unicode=True):
                    if line and line.startswith("data: "):
                        event = json.loads(line[6:])
                        if event.get("type") in ("done", "error"):
                            last = event
            except (requests.RequestException, ValueError):
                self._record(Outcome("sse", started, time.monotonic(), "connection lost", tag))
                return
        if last is None:  # the connection closed cleanly without a terminal event: the client cannot know
            self._record(Outcome("sse", started, time.monotonic(), "sse no terminal event", tag, terminal=False))
        elif last["type"] == "done":
            self._record(Outcome("sse", started, time.monotonic(), "sse done", tag, last["message"]["id"], acked=True))
        else:
            self._record(Outcome("sse", started, time.monotonic(), f"sse error {last['error']['code']}", tag))


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        return resp.json()
    except ValueError:
        return {}


def _answer(resp: requests.Response) -> str:
    if resp.status_code < 400:
        return str(resp.status_code)
    code = (_json(resp).get("error") or {}).get("code", "?")
    return f"{resp.status_code} {code}"


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class FaultResult:
    name: str
    injected_at: float
    window_end: float = 0.0
    health_recovery_s: float | None = None
    answers: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


def health_recovery(base: str, since: float, limit_s: float = 30.0) -> float | None:
    """Seconds from ``since`` until /api/health answers 200 (None when it did not within ``limit_s``)."""
    while time.monotonic() - since < limit_s:
        try:
            if requests.get(f"{base}/api/health", timeout=1).status_code == 200:
                return round(time.monotonic() - since, 2)
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return None


def register(base: str, name: str) -> Tenant:
    email = f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}@faults.example.com"
    resp = requests.post(
        f"{base}/api/auth/register",
        json={"email": email, "password": "Faults-Pass-2026!", "tenant_name": name},
        timeout=30,
    )
    if resp.status_code != 201:
        raise RuntimeError(f"registration refused: {resp.status_code} {resp.text[:300]}")
    body = resp.json()
    return Tenant(body["tenant"]["id"], body["access_token"])


def set_plan(tenant_ids: list[str], plan: str) -> None:
    conn = _admin(DB)
    with conn.cursor() as cur:
        cur.execute("UPDATE tenants SET plan = %s WHERE id = ANY(%s::uuid[])", (plan, tenant_ids))
    conn.close()


def terminate_backends() -> int:
    """pg_terminate_backend on every backend of the suite's own database (and of no other)."""
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (DB,),
        )
        killed = cur.fetchone()[0]
    conn.close()
    return int(killed)


def job_state(job_id: str) -> tuple[str, int, float]:
    conn = _admin(DB)
    with conn.cursor() as cur:
        # to_jsonb: also reads a schema without the attempts column (to run the suite against older code)
        cur.execute("SELECT status, to_jsonb(j)->>'attempts', progress FROM analysis_jobs j WHERE id = %s", (job_id,))
        row = cur.fetchone()
    conn.close()
    return row[0], int(row[1] or 0), float(row[2])


def start_gunicorn(env: dict[str, str]) -> tuple[Process, str]:
    """gunicorn with the production config (2 workers) on a free loopback port, once it answers."""
    port = free_port()
    full_env = {
        **os.environ,
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PYTHONPATH": str(ROOT),
    }
    proc = Process(
        "gunicorn",
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn_config.py"), "app_saas:app"],
        full_env,
        OUT / "gunicorn.log",
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(proc, base + "/api/health")
    return proc, base


def start_worker(env: dict[str, str]) -> Process:
    return Process(
        "rq worker",
        [sys.executable, "-m", "flask", "--app", "app_saas:app", "hydronet", "worker"],
        {**os.environ, **env, "PYTHONPATH": str(ROOT)},
        OUT / "worker.log",
    )


def truth(tenants: list[Tenant], redis_url: str) -> list[dict[str, Any]]:
    """Per tenant: the quota counters (committed + live holds) against the usage aggregates."""
    day = datetime.now(ZoneInfo("Asia/Shanghai"))
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    now_ms = time.time() * 1000
    conn = _admin(DB)
    rows = []
    for t in tenants:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT coalesce(sum(messages), 0), coalesce(sum(input_tokens + output_tokens), 0) "
                "FROM usage_daily WHERE tenant_id = %s AND day = %s",
                (t.id, day.date()),
            )
            db_messages, db_tokens = (int(v) for v in cur.fetchone())
            cur.execute("SELECT count(*) FROM messages WHERE tenant_id = %s AND role = 'assistant'", (t.id,))
            answers = int(cur.fetchone()[0])
        counters = {}
        for quota, stamp in (("messages_per_day", day.strftime("%Y%m%d")), ("tokens_per_month", day.strftime("%Y%m"))):
            key = f"quota:{t.id}:{quota}:{stamp}"
            committed = store.get(key)
            live = [h for h, until in store.zrange(key + ":hz", 0, -1, withscores=True) if until > now_ms]
            held = sum(int(store.hget(key + ":hh", h) or 0) for h in live)
            counters[quota] = {"committed": None if committed is None else int(committed), "held": held}
        rows.append(
            {
                "tenant": t.id,
                "db_messages": db_messages,
                "db_tokens": db_tokens,
                "stored_answers": answers,
                "counter_messages": counters["messages_per_day"],
                "counter_tokens": counters["tokens_per_month"],
            }
        )
    conn.close()
    return rows


def turn_audit(outcomes: list[Outcome]) -> dict[str, Any]:
    """Acknowledged turns that were not stored, turns stored twice, streams that ended silently."""
    conn = _admin(DB)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT substring(content from 'id=([^ \\]]+)'), count(*) FROM messages "
            "WHERE role = 'user' AND content LIKE '[bench id=%%' GROUP BY 1"
        )
        stored_tags = dict(cur.fetchall())
        cur.execute("SELECT id::text FROM messages WHERE role = 'assistant'")
        reply_ids = {r[0] for r in cur.fetchall()}
    conn.close()
    turns = [o for o in outcomes if o.kind in ("json", "sse") and o.tag]
    acked = [o for o in turns if o.acked]
    lost = [o.tag for o in acked if o.reply_id not in reply_ids]
    duplicated = [tag for tag, n in stored_tags.items() if n > 1]
    unacked_stored = [o.tag for o in turns if not o.acked and stored_tags.get(o.tag)]
    return {
        "turns_sent": len(turns),
        "turns_acknowledged": len(acked),
        "lost": lost,
        "duplicated": duplicated,
        "stored_but_not_acknowledged": unacked_stored,
        "streams_without_terminal_event": sum(1 for o in turns if not o.terminal),
        "answers_500": sum(1 for o in outcomes if o.answer.startswith("500")),
    }


def run(quick: bool) -> dict[str, Any]:
    OUT.mkdir(exist_ok=True)
    window = 6.0 if quick else 15.0
    results: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "faults": [],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    t0 = time.monotonic()
    with ExitStack() as stack:
        redis_server = RedisServer(free_port())
        redis_server.start()
        stack.callback(redis_server.stop)
        redis_url = f"redis://127.0.0.1:{redis_server.port}/0"
        fake_url = stack.enter_context(fake_upstream(free_port(), API_KEY, OUT / "upstream.log"))
        env = app_env(redis_url, fake_url, quick)
        stages: dict[str, float] = {}
        mark = time.monotonic()

        def stage(name: str) -> None:
            nonlocal mark
            stages[name] = round(time.monotonic() - mark, 1)
            mark = time.monotonic()

        create_database()
        migrate(env)
        stage("database")
        worker = start_worker(env)  # boots while gunicorn does
        stack.callback(worker.stop, 5)
        master, base = start_gunicorn(env)
        stack.callback(master.stop)
        stage("gunicorn")
        tenants = [register(base, "Faults Alpha"), register(base, "Faults Beta")]
        set_plan([t.id for t in tenants], "pro")
        conversations = []
        for i in range(4 if quick else 8):  # client i works in tenant i % 2
            resp = requests.post(
                f"{base}/api/chat/conversations",
                json={"title": f"faults {i}"},
                timeout=10,
                headers={"Authorization": f"Bearer {tenants[i % 2].token}"},
            )
            resp.raise_for_status()
            conversations.append(resp.json()["conversation"]["id"])
        headers0 = {"Authorization": f"Bearer {tenants[0].token}"}
        net = requests.post(f"{base}/api/networks/import", headers=headers0, json={"example": "Net3"}, timeout=60)
        net.raise_for_status()
        network_id = net.json()["network"]["id"]
        stage("tenants and data")
        results["setup_stages_s"] = stages
        results["setup_s"] = round(time.monotonic() - t0, 1)

        clients = Clients(base, tenants, conversations)
        clients.start()
        time.sleep(3 if quick else 8)  # steady state

        def observe(result: FaultResult) -> None:
            time.sleep(max(0.0, result.injected_at + window - time.monotonic()))
            result.window_end = time.monotonic()
            with clients.lock:
                seen = [
                    o.answer
                    for o in clients.outcomes
                    if o.ended >= result.injected_at and o.started <= result.window_end
                ]
            result.answers = dict(Counter(seen).most_common())
            results["faults"].append(result)

        # 1. Redis killed, down, restarted empty
        down_s = 4.0 if quick else 8.0
        r = FaultResult("redis", time.monotonic())
        redis_server.kill()
        time.sleep(down_s)
        redis_server.start()
        restarted = time.monotonic()
        r.health_recovery_s = health_recovery(base, restarted)
        with clients.lock:  # streams open when Redis died that finished while it was down (stored, then told)
            during = Counter(
                o.answer
                for o in clients.outcomes
                if o.kind == "sse" and o.answer.startswith("sse") and o.started < r.injected_at < o.ended <= restarted
            )
        r.notes = {"down_s": down_s, "recovery_measured_from": "restart", "streams_ending_during_outage": dict(during)}
        observe(r)

        # 2. every backend of the app's database terminated
        r = FaultResult("postgres", time.monotonic())
        r.notes["backends_terminated"] = terminate_backends()
        r.health_recovery_s = health_recovery(base, r.injected_at)
        observe(r)

        # 3. one gunicorn worker SIGKILLed while streams are open
        r = FaultResult("gunicorn", time.monotonic())
        victims = children(master.popen.pid)
        with clients.lock:
            open_streams = sum(1 for o in clients.outcomes if o.kind == "sse")
        if victims:
            os.kill(victims[0], signal.SIGKILL)
        r.notes = {"worker_killed": bool(victims), "streams_sent_before": open_streams}
        r.health_recovery_s = health_recovery(base, r.injected_at)
        observe(r)

        # 4. the RQ worker SIGKILLed mid-job; its horse must die with it; the job must not stay running
        r = FaultResult("rq", 0.0)
        resp = requests.post(
            f"{base}/api/networks/{network_id}/analyses/fire_flow",
            headers=headers0,
            json={"params": {"duration_h": 24}},
            timeout=30,
        )
        resp.raise_for_status()
        job_id = resp.json()["job"]["id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and job_state(job_id)[0] != "running":
            time.sleep(0.2)
        time.sleep(2.0)  # mid-run
        horses = children(worker.popen.pid)
        r.injected_at = time.monotonic()
        state_before = job_state(job_id)
        os.kill(worker.popen.pid, signal.SIGKILL)
        worker.popen.wait(5)
        time.sleep(1.0)
        orphans = [h for h in horses if alive(h)]
        for h in orphans:
            os.kill(h, signal.SIGKILL)
        worker = start_worker(env)
        stack.callback(worker.stop, 5)
        r.health_recovery_s = health_recovery(base, r.injected_at)
        requeued_s = finished_s = None
        final = state_before
        # claimed again within JOB_STALE_S + a sweep after the new worker is up, then its own run; the full
        # run allows the minute plus the run
        limit = (25.0 if quick else 60.0) + float(env["ANALYSIS_TIMEOUT_S"]) + 10
        while time.monotonic() - r.injected_at < limit:
            final = job_state(job_id)
            if requeued_s is None and final[1] >= 2:
                requeued_s = round(time.monotonic() - r.injected_at, 1)
            if final[0] in ("done", "failed"):
                finished_s = round(time.monotonic() - r.injected_at, 1)
                break
            time.sleep(0.5)
        r.notes = {
            "job_status_at_kill": state_before[0],
            "progress_at_kill": round(state_before[2], 3),
            "horses_at_kill": len(horses),
            "orphan_horses": len(orphans),
            "claimed_again_after_s": requeued_s,
            "finished_after_s": finished_s,
            "final_status": final[0],
            "attempts": final[1],
            "stuck_jobs": 0 if finished_s is not None else 1,
        }
        observe(r)

        clients.join()
        results["counters_at_end"] = truth(tenants, redis_url)
        # holds of turns lost with the gunicorn worker lapse after QUOTA_HOLD_S, a charge lost with it is
        # caught up at the next check against the aggregates (QUOTA_RECONCILE_S); one turn per tenant
        # after both shows the counters as the next request sees them
        since_kill = time.monotonic() - results["faults"][2].injected_at
        time.sleep(max(0.0, max(float(env["QUOTA_HOLD_S"]), float(env["QUOTA_RECONCILE_S"])) + 1 - since_kill))
        for i, t in enumerate(tenants):
            requests.post(
                f"{base}/api/chat/conversations/{conversations[i]}/messages",
                headers={"Authorization": f"Bearer {t.token}"},
                json={"message": f"[bench id=settle-{i} first_ms=10 chunks=1 every_ms=10] ok"},
                timeout=30,
            )
        results["counters"] = truth(tenants, redis_url)
        results["turns"] = turn_audit(clients.outcomes)
        results["requests"] = len(clients.outcomes)
        results["answers_total"] = dict(Counter(o.answer for o in clients.outcomes).most_common())
    results["duration_s"] = round(time.monotonic() - t0, 1)
    results["faults"] = [asdict(f) for f in results["faults"]]
    return results


# -- the report ------------------------------------------------------------------------------------


def verdicts(res: dict[str, Any]) -> list[tuple[str, bool, str]]:
    turns = res["turns"]
    checks = []
    for f in res["faults"]:
        rec = f["health_recovery_s"]
        checks.append(
            (
                f"/api/health 200 again after `{f['name']}` within {HEALTH_LIMIT_S:.0f} s",
                rec is not None and rec < HEALTH_LIMIT_S,
                f"{rec} s",
            )
        )
    checks.append(("no acknowledged turn lost", not turns["lost"], str(len(turns["lost"]))))
    checks.append(("no turn stored twice", not turns["duplicated"], str(len(turns["duplicated"]))))
    checks.append(
        (
            "every stream that kept its connection ended with done or error",
            turns["streams_without_terminal_event"] == 0,
            str(turns["streams_without_terminal_event"]),
        )
    )
    checks.append(("no 500", turns["answers_500"] == 0, str(turns["answers_500"])))
    for c in res["counters"]:
        m = c["counter_messages"]
        counted = (m["committed"] or 0) + m["held"] if m["committed"] is not None else c["db_messages"]
        checks.append(
            (
                f"tenant {c['tenant'][:8]}…: message counter equals the usage aggregates",
                counted == c["db_messages"],
                f"{counted} vs {c['db_messages']}",
            )
        )
        k = c["counter_tokens"]
        tokens = (k["committed"] or 0) + k["held"] if k["committed"] is not None else c["db_tokens"]
        checks.append(
            (
                f"tenant {c['tenant'][:8]}…: token counter equals the usage aggregates",
                tokens == c["db_tokens"],
                f"{tokens} vs {c['db_tokens']}",
            )
        )
    rq = next(f for f in res["faults"] if f["name"] == "rq")["notes"]
    checks.append(("the killed worker's horse died with it", rq["orphan_horses"] == 0, str(rq["orphan_horses"])))
    checks.append(
        (
            "no job stuck running (finished within a minute + its run)",
            rq["stuck_jobs"] == 0,
            f"{rq['final_status']} after {rq['finished_after_s']} s, attempts {rq['attempts']}",
        )
    )
    return checks


def write_report(res: dict[str, Any]) -> bool:
    checks = verdicts(res)
    ok = all(passed for _n, passed, _v in checks)
    lines = [
        "# Fault injection — results",
        "",
        f"Run `faults/run.sh{' --quick' if res['mode'] == 'quick' else ''}` ({res['mode']} mode), {res['date']}: "
        f"{res['duration_s']} s including {res['setup_s']} s of setup "
        f"({', '.join(f'{k} {v} s' for k, v in res.get('setup_stages_s', {}).items())}), "
        f"{res['requests']} client requests "
        "(JSON turns, streamed turns, listings; 2 tenants on loopback).  Method and scope: faults/README.md.",
        "",
        "## Verdicts",
        "",
        "| check | | value |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {'✅' if passed else '❌'} | {value} |" for name, passed, value in checks]
    lines += [
        "",
        "## Per fault",
        "",
        "| fault | health 200 after | answers seen during the window | notes |",
        "|---|---|---|---|",
    ]
    for f in res["faults"]:
        answers = ", ".join(f"{k}: {v}" for k, v in f["answers"].items())
        notes = ", ".join(f"{k}={v}" for k, v in f["notes"].items())
        lines.append(f"| {f['name']} | {f['health_recovery_s']} s | {answers} | {notes} |")
    t = res["turns"]
    lines += [
        "",
        "## Turns",
        "",
        f"- sent {t['turns_sent']}, acknowledged (`200` or `done`) {t['turns_acknowledged']}",
        f"- acknowledged but not stored (lost): {len(t['lost'])} {t['lost'][:5]}",
        f"- stored twice: {len(t['duplicated'])} {t['duplicated'][:5]}",
        f"- stored without acknowledgement (the connection died after the commit, e.g. with a killed "
        f"gunicorn worker; the answer is in the conversation): {len(t['stored_but_not_acknowledged'])}",
        f"- streams without `done`/`error` while the connection held: {t['streams_without_terminal_event']}",
        "",
        "## Quota counters against the usage aggregates",
        "",
        "Counters are Redis's (committed + live holds); the aggregates are PostgreSQL's usage_daily (the "
        "truth).  *At the end*: right after the clients stopped.  *Settled*: after QUOTA_HOLD_S and "
        "QUOTA_RECONCILE_S have passed since the last fault and one more turn per tenant (the verdicts).",
        "",
        "| when | tenant | messages: counter | messages: aggregates | tokens: counter | tokens: aggregates |",
        "|---|---|---|---|---|---|",
    ]
    for when, rows in (("at the end", res["counters_at_end"]), ("settled", res["counters"])):
        for c in rows:
            m, k = c["counter_messages"], c["counter_tokens"]
            lines.append(
                f"| {when} | {c['tenant'][:8]}… | {m['committed']} + {m['held']} | {c['db_messages']} | "
                f"{k['committed']} + {k['held']} | {c['db_tokens']} |"
            )
    lines += ["", "## All answers", "", ", ".join(f"{k}: {v}" for k, v in res["answers_total"].items()), ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 clients and short windows (≤ 3 min)")
    args = parser.parse_args(argv)
    res = run(args.quick)
    (HERE / "results.json").write_text(json.dumps(res, indent=1, default=str))
    ok = write_report(res)
    print((HERE / "RESULTS.md").read_text())
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
