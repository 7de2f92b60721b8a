"""Profile one kind of request in-process: where a listing or a chat turn spends its CPU.

    .venv/bin/python -m bench.profile list  -n 500          # after one bench/run.sh (it seeds the data)
    .venv/bin/python -m bench.profile turn  -n 300 --sort tottime
    .venv/bin/python -m bench.profile turn  --stream

Uses the bench's database (as the RLS-bound app role), Redis database 12 and
its own fake upstream, so nothing of the load phases is needed.  Prints the
mean wall and CPU time per request, then the cProfile table.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from bench import seed
from bench.inproc import InProcessApp, tag_message
from bench.run import API_KEY, OUT, inproc_config
from bench.services import fake_upstream, free_port


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["list", "turn", "history"])
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--stream", action="store_true", help="streamed turns (SSE)")
    p.add_argument("--chunks", type=int, default=4, help="chunks the fake upstream answers with (phase d: 20)")
    p.add_argument("--sort", default="cumulative")
    p.add_argument("--limit", type=int, default=45)
    p.add_argument("--redis-db", type=int, default=12)
    p.add_argument("--cpu", action="store_true", help="profile CPU time (waits on PostgreSQL/Redis/upstream left out)")
    p.add_argument("--no-profile", action="store_true", help="timings only")
    p.add_argument("--callers", metavar="NAME", help="also print who calls functions matching NAME")
    args = p.parse_args()

    data = seed.Dataset.load(OUT / "dataset.json")
    with fake_upstream(free_port(), API_KEY, OUT / "fake_upstream_profile.log") as fake_url:
        inproc = InProcessApp(inproc_config(f"redis://127.0.0.1:6379/{args.redis_db}", fake_url))
        if args.what == "list":  # rotate the users: 300 requests per minute each
            users = data.list_users[:40]
            method, path, body = "GET", "/api/chat/conversations", None
        elif args.what == "history":
            ids = data.history["1k"]
            users = [ids["user"]]
            method, path, body = "GET", f"/api/chat/conversations/{ids['conversation']}/messages", None
        else:
            users = [data.count_user]
            method, path = "POST", f"/api/chat/conversations/{data.count_conversation}/messages"
            body = {"message": tag_message("profile", chunks=args.chunks), "stream": args.stream}
        tokens = inproc.tokens(users)
        calls = iter(range(1 << 30))

        def once() -> None:
            token = tokens[next(calls) % len(tokens)]
            resp = inproc.client.open(path, method=method, headers={"Authorization": f"Bearer {token}"}, json=body)
            resp.get_data()
            if resp.status_code != 200:
                raise SystemExit(f"{method} {path} answered {resp.status_code}: {resp.get_data(as_text=True)[:300]}")
            resp.close()

        for _ in range(20):
            once()
        walls, cpus = [], []  # per-request means of blocks of 25: the median resists the VM's noise
        for _ in range(max(1, args.n // 25)):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(25):
                once()
            walls.append((time.perf_counter() - wall) * 1000 / 25)
            cpus.append((time.process_time() - cpu) * 1000 / 25)
        print(
            f"{args.what}: {len(walls) * 25} requests, per request: wall median {statistics.median(walls):.2f} "
            f"(min {min(walls):.2f}) ms, CPU of this process median {statistics.median(cpus):.2f} "
            f"(min {min(cpus):.2f}) ms",
            flush=True,
        )
        if args.no_profile:
            inproc.close()
            return
        prof = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
        prof.enable()
        for _ in range(args.n):
            once()
        prof.disable()
        inproc.close()
    stats = pstats.Stats(prof).strip_dirs().sort_stats(args.sort)
    stats.print_stats(args.limit)
    if args.callers:
        stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
