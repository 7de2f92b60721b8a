"""Run the whole bench in one go: databases, servers, phases (a)–(i), bench/RESULTS.md + bench/results.json.

Called by bench/run.sh (which starts PostgreSQL/Redis and installs wrk).
``--quick`` shortens every load for debugging; ``--reuse-db`` keeps the
seeded databases of the previous run; ``--only b,c`` runs some phases (i, the
Net6 sweep with 1 and 2 workers, takes most of an hour and runs only when named);
``--candidate DIR`` also serves HydroNet from another work tree (a prototype
of a product change) and measures it beside the current one — interleaved
for (b) and (c), right after for (d) and (e).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis

from bench import busy, engine, phases, report, seed, sweep
from bench.inproc import InProcessApp, request_costs
from bench.services import SERVERS, CpuMeter, fake_upstream, free_port, gunicorn, wait_quiet
from bench.sse_load import Profile

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
API_KEY = "sk-bench-0123456789abcdef"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuv"
JWT_SECRET = "bench-jwt-secret-0123456789-abcdefghijklmnopqrstuv"


def machine() -> dict[str, Any]:
    """nproc, memory, CPU model, load, date."""
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1048576, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "loadavg_start": list(os.getloadavg()),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def hydronet_env(redis_url: str, fake_url: str, **extra: str) -> dict[str, str]:
    """The production settings for gunicorn, pointed at the bench's services."""
    return {
        "DATABASE_URL": seed.url(seed.HYDRONET_DB, seed.APP_ROLE),
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "JWT_SECRET_KEY": JWT_SECRET,
        "DEBUG": "false",
        "ALIYUN_API_KEY": API_KEY,
        "DASHSCOPE_HTTP_BASE_URL": fake_url,
        "HYDRONET_ENV_FILE": "/dev/null",
        **extra,
    }


def inproc_config(redis_url: str, fake_url: str) -> dict[str, Any]:
    """create_app() overrides for the in-process app (tokens, counting)."""
    return {
        "DATABASE_URL": seed.url(seed.HYDRONET_DB, seed.APP_ROLE),
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "JWT_SECRET_KEY": JWT_SECRET,
        "JWT_ACCESS_TOKEN_MINUTES": 180,
        "ALIYUN_API_KEY": API_KEY,
        "DASHSCOPE_HTTP_BASE_URL": fake_url,
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": False,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short loads (debugging); results are not meaningful")
    p.add_argument("--reuse-db", action="store_true", help="keep the databases seeded by the previous run")
    p.add_argument("--only", default="a,b,c,d,e,f,g,h", help="phases to run, e.g. 'b,c'")
    p.add_argument("--redis-db", type=int, default=12, help="Redis database index used by the bench")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--stream-steps", default="100,250,500,750,1000")
    p.add_argument("--first-ms", type=float, default=500, help="upstream delay before the first chunk (d)")
    p.add_argument("--chunks", type=int, default=19, help="upstream text chunks per answer (d)")
    p.add_argument("--every-ms", type=float, default=500, help="upstream interval between chunks (d)")
    p.add_argument("--extra-env", action="append", default=[], help="KEY=VALUE for HydroNet's gunicorn")
    p.add_argument("--candidate", type=Path, help="another work tree to measure beside this one")
    p.add_argument(
        "--candidate-env",
        action="append",
        default=[],
        help="KEY=VALUE for the candidate only (without --candidate: this tree with these settings)",
    )
    p.add_argument("--results", type=Path, default=BENCH, help="where RESULTS.md and results.json go")
    p.add_argument(
        "--sweep-workers",
        default="2,1",
        help="(i) the worker counts to time, in order (e.g. '2' to see the full sweep complete once)",
    )
    p.add_argument(
        "--sweep-pipes",
        type=int,
        default=None,
        help="(i) analyse only this many pipes of Net6 (debugging; the target is for every pipe)",
    )
    return p.parse_args(argv)


def worker_boots(log: Path) -> int:
    """Workers gunicorn has booted so far (max_requests recycling shows up here)."""
    return log.read_text(errors="replace").count("Booting worker") if log.exists() else 0


class LoadSampler:
    """The 1-minute load average every few seconds while the bench runs (how busy the machine was)."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True, name="load-sampler")

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.samples.append(round(os.getloadavg()[0], 2))

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


class Bench:
    """One run: the dataset, tokens and servers shared by the phases."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.only = set(args.only.split(","))
        self.steps = [int(s) for s in args.stream_steps.split(",")]
        self.d = phases.Durations()
        if args.quick:
            self.d = phases.Durations(wrk_s=5, wrk_warmup_s=1, turns=30, history_s=6, stream_spread_s=3, water_runs=1)
        self.redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
        self.extra = dict(kv.split("=", 1) for kv in args.extra_env)
        self.candidate_env = dict(kv.split("=", 1) for kv in args.candidate_env)
        if self.candidate_env and not args.candidate:
            args.candidate = BENCH.parent
        self.results: dict[str, Any] = {
            "machine": machine(),
            "quick": args.quick,
            "phases_run": sorted(self.only),
            "extra_env": self.extra,
            "candidate": str(args.candidate) if args.candidate else None,
            "candidate_env": dict(kv.split("=", 1) for kv in args.candidate_env),
        }
        self.data = seed.Dataset()
        self.tokens: dict[str, str] = {}

    def prepare_data(self) -> None:
        dataset_file = OUT / "dataset.json"
        if self.args.reuse_db and dataset_file.exists():
            self.data = seed.Dataset.load(dataset_file)
            print("reusing the seeded databases", flush=True)
        else:
            print("creating and seeding bench_hydronet / bench_baseline …", flush=True)
            t0 = time.perf_counter()
            seed.create_databases()
            seed.migrate({"SECRET_KEY": SECRET, "JWT_SECRET_KEY": JWT_SECRET, "ADMIN_PASSWORD": "Bench-Admin-2026!"})
            self.data = seed.seed(self.steps)
            self.data.seed_seconds["total_with_migration"] = round(time.perf_counter() - t0, 2)
            self.data.save(dataset_file)
            print(
                f"  seeded in {self.data.seed_seconds['total_with_migration']} s ({self.data.seed_seconds})", flush=True
            )
        self.results["seed_seconds"] = self.data.seed_seconds

    def servers(self, stack: ExitStack, env: dict[str, str], tag: str) -> dict[str, str]:
        """HydroNet (and the candidate) under gunicorn; name -> base URL."""
        bases = {
            "hydronet": stack.enter_context(
                gunicorn("app_saas:app", env, free_port(), OUT / f"hydronet{tag}.log", "/api/health", self.args.workers)
            )
        }
        if self.args.candidate:
            bases["candidate"] = stack.enter_context(
                gunicorn(
                    "app_saas:app",
                    {**env, **self.candidate_env},
                    free_port(),
                    OUT / f"candidate{tag}.log",
                    "/api/health",
                    self.args.workers,
                    root=self.args.candidate.resolve(),
                )
            )
        return bases

    def run(self) -> None:
        OUT.mkdir(exist_ok=True)
        started = time.monotonic()
        redis.Redis.from_url(self.redis_url).flushdb()
        with LoadSampler() as load:
            self._run_phases()
        r = self.results
        r["machine"]["loadavg_samples"] = load.samples
        r["machine"]["loadavg_end"] = list(os.getloadavg())
        r["total_seconds"] = round(time.monotonic() - started, 1)
        r["targets"] = report.evaluate(r)
        r["candidate_targets"] = report.evaluate_candidate(r)
        self.args.results.mkdir(parents=True, exist_ok=True)
        (self.args.results / "results.json").write_text(json.dumps(r, indent=1, ensure_ascii=False) + "\n")
        (self.args.results / "RESULTS.md").write_text(report.markdown(r))
        print(report.table(r["targets"]), flush=True)
        if r["candidate_targets"]:
            print("candidate:\n" + report.table(r["candidate_targets"]), flush=True)
        print(f"done in {r['total_seconds']} s — {self.args.results}/RESULTS.md, results.json", flush=True)

    def _run_phases(self) -> None:
        if "g" in self.only:  # in the bench process alone, before any server competes for the cores
            print("(g) criticality per scenario vs the bare toolkit solve (Net3) …", flush=True)
            self.results["g_engine"] = engine.measure("Net3", rounds=3 if self.args.quick else 9)
        if "i" in self.only:  # its own database: no seeding, no fake upstream
            self._sweep()
        if not self.only - {"g", "i"}:
            return
        self.prepare_data()
        with fake_upstream(free_port(), API_KEY, OUT / "fake_upstream.log") as fake_url:
            self.fake_base = fake_url.rsplit("/api/v1", 1)[0]
            inproc = InProcessApp(inproc_config(self.redis_url, fake_url))
            users = self._all_users()
            self.tokens = dict(zip(users, inproc.tokens(users), strict=True))
            env = hydronet_env(self.redis_url, fake_url, **self.extra)
            if self.only & {"a", "b", "c", "d", "h"}:
                with ExitStack() as stack:
                    bases = self.servers(stack, env, "")
                    self._listing(bases)
                    self._turns(bases, inproc)
                    self._streams(bases)
                    self._busy(bases)
            if self.only & {"e", "f"}:
                # One user reads its own conversation thousands of times here, past any per-user
                # limit: this server runs without the rate limiter (the data path is measured).
                with ExitStack() as stack:
                    bases = self.servers(stack, {**env, "RATELIMIT_ENABLED": "false"}, "_e")
                    self._history(bases)
                    if "f" in self.only:
                        for name, base in bases.items():
                            print(f"(f) Net3 168 h ({name}) …", flush=True)
                            wait_quiet(SERVERS[base])  # the workers done with (e)'s load
                            self.results["f_water" if name == "hydronet" else "f_water_candidate"] = phases.water(
                                base, self.tokens[self.data.count_user], self.d.water_runs
                            )
            inproc.close()

    def _sweep(self) -> None:
        """(i) Net6 full pipe criticality with 1 and 2 RQ workers (the API on gunicorn queues it), own database."""
        print("(i) creating and migrating bench_sweep …", flush=True)
        database_url = sweep.prepare(
            {"SECRET_KEY": SECRET, "JWT_SECRET_KEY": JWT_SECRET, "ADMIN_PASSWORD": "Bench-Admin-2026!"}
        )
        # long enough for one worker to finish the whole sweep (the job's time limit and its lost-job check),
        # and an access token that outlasts both runs
        env = {
            **hydronet_env(self.redis_url, "http://127.0.0.1:9/api/v1"),
            "DATABASE_URL": database_url,
            "ALIYUN_API_KEY": "",
            "ANALYSIS_TIMEOUT_S": "14400",
            "JWT_ACCESS_TOKEN_MINUTES": "300",
            "RATELIMIT_ENABLED": "false",
            **self.extra,
        }
        pipes = self.args.sweep_pipes or (300 if self.args.quick else None)
        with ExitStack() as stack:
            base = stack.enter_context(
                gunicorn("app_saas:app", env, free_port(), OUT / "hydronet_i.log", "/api/health", self.args.workers)
            )
            workers = tuple(int(n) for n in self.args.sweep_workers.split(","))
            self.results["i_sweep"] = sweep.measure(base, env, self.redis_url, OUT, workers=workers, max_pipes=pipes)

    def _all_users(self) -> list[str]:
        data = self.data
        return (
            [*data.list_users, data.list_small_user, data.turn_user, data.count_user]
            + [h["user"] for h in data.history.values()]
            + [u for s in data.streams.values() for u in s["users"]]
        )

    def _listing(self, bases: dict[str, str]) -> None:
        if not self.only & {"a", "b"}:
            return
        tokens = [self.tokens[u] for u in self.data.list_users]
        log = OUT / "hydronet.log"
        boots = worker_boots(log)
        with ExitStack() as stack:
            servers = {}
            if "a" in self.only:
                env = {
                    "BASELINE_DATABASE_URL": seed.url(seed.BASELINE_DB, driver=True),
                    "JWT_SECRET_KEY": JWT_SECRET,
                    "HYDRONET_ENV_FILE": "/dev/null",
                }
                servers["a"] = stack.enter_context(
                    gunicorn(
                        "bench.baseline_app:app", env, free_port(), OUT / "baseline.log", "/health", self.args.workers
                    )
                )
            if "b" in self.only:
                servers["b"] = bases["hydronet"]
                if "candidate" in bases:
                    servers["b_candidate"] = bases["candidate"]
            print(f"(a)/(b) listing, interleaved: {', '.join(servers)} …", flush=True)
            meters = {
                name: CpuMeter(base, seed.BASELINE_DB if name == "a" else seed.HYDRONET_DB)
                for name, base in servers.items()
            }
            got = phases.listing(servers, tokens, self.d, meters=meters)
        for name, value in got.items():
            self.results[{"a": "a_baseline", "b": "b_listing"}.get(name, "b_listing_candidate")] = value
        if "b_listing" in self.results:
            self.results["b_listing"]["worker_boots"] = worker_boots(log) - boots

    def _turns(self, bases: dict[str, str], inproc: InProcessApp) -> None:
        if "c" not in self.only:
            return
        print("(c) chat turns …", flush=True)
        log = OUT / "hydronet.log"
        boots = worker_boots(log)
        meters = {name: CpuMeter(base, seed.HYDRONET_DB) for name, base in bases.items()}
        got = phases.turns(
            bases,
            self.tokens[self.data.turn_user],
            self.data.turn_conversation,
            self.fake_base,
            self.d.turns,
            meters=meters,
        )
        self.results["c_turns"] = got["hydronet"]
        self.results["c_turns"]["worker_boots"] = worker_boots(log) - boots
        if "candidate" in got:
            self.results["c_turns_candidate"] = got["candidate"]
        self.results["c_turns"]["counts"] = request_costs(inproc, self.data, self.tokens)

    def _streams(self, bases: dict[str, str]) -> None:
        if "d" not in self.only:
            return
        data, tokens = self.data, self.tokens

        def pairs_for(step: int) -> list[tuple[str, str]]:
            s = data.streams[str(step)]
            return [(tokens[s["users"][i % len(s["users"])]], conv) for i, conv in enumerate(s["conversations"])]

        profile = Profile(self.args.first_ms, self.args.chunks, self.args.every_ms)
        for name, base in bases.items():
            print(f"(d) streams ({name}) …", flush=True)
            log = OUT / f"{name}.log"
            boots = worker_boots(log)
            key = "d_streams" if name == "hydronet" else "d_streams_candidate"
            self.results[key] = phases.streams(
                base, pairs_for, self.fake_base, self.steps, self.d, profile, CpuMeter(base, seed.HYDRONET_DB)
            )
            self.results[key]["worker_boots"] = worker_boots(log) - boots

    def _busy(self, bases: dict[str, str]) -> None:
        if "h" not in self.only:
            return
        step = min((n for n in self.steps if n >= busy.STREAMS), default=max(self.steps))
        s = self.data.streams[str(step)]
        pairs = [
            (self.tokens[s["users"][i % len(s["users"])]], conv)
            for i, conv in enumerate(s["conversations"][: busy.STREAMS])
        ]
        print(
            f"(h) {len(pairs)} streams, quiet then beside {busy.UPLOADERS} clients uploading and simulating Net6 …",
            flush=True,
        )
        wait_quiet(SERVERS[bases["hydronet"]])
        self.results["h_busy"] = busy.streams_beside_busy_clients(
            bases["hydronet"],
            pairs,
            [self.tokens[self.data.count_user], self.tokens[self.data.turn_user]],
            self.fake_base,
            self.d.stream_spread_s,
            Profile(self.args.first_ms, self.args.chunks, self.args.every_ms),
        )

    def _history(self, bases: dict[str, str]) -> None:
        if "e" not in self.only:
            return
        pages = _history_pages(self.data, self.tokens)
        for name, base in bases.items():
            print(f"(e) history pages ({name}) …", flush=True)
            self.results["e_history" if name == "hydronet" else "e_history_candidate"] = phases.history(
                base, pages, self.d
            )


def _history_pages(data: seed.Dataset, tokens: dict[str, str]) -> dict[str, tuple[str, str]]:
    """First page (shallow) and the page after 90 % of the messages (deep) of both conversations."""
    import psycopg2

    from hydronet.kernel.pagination import encode_cursor

    pages: dict[str, tuple[str, str]] = {}
    conn = psycopg2.connect(seed.url(seed.HYDRONET_DB))
    with conn.cursor() as cur:
        for label, ids in data.history.items():
            size = seed.HISTORY_SIZES[label]
            cur.execute(
                "SELECT created_at, id FROM messages WHERE conversation_id = %s"
                " ORDER BY created_at, id OFFSET %s LIMIT 1",
                (ids["conversation"], math.floor(size * 0.9)),
            )
            ts, row_id = cur.fetchone()
            path = f"/api/chat/conversations/{ids['conversation']}/messages"
            pages[f"{label}_shallow"] = (tokens[ids["user"]], path)
            pages[f"{label}_deep"] = (tokens[ids["user"]], f"{path}?cursor={encode_cursor(ts, row_id)}")
    conn.close()
    return pages


def main(argv: list[str] | None = None) -> None:
    """Run the bench with the command-line options."""
    Bench(parse_args(argv)).run()


if __name__ == "__main__":
    main()
