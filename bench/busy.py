"""(h) Streams beside CPU-heavy requests: time to first token of 200 streams with and without two clients
that upload and simulate Net6 over and over on the same servers.

Each busy client, in its own thread, repeats: upload Net6.inp (3,829 pipes; the parse, validation
and summary), a 24 h hydraulic analysis of it through the API (a required pressure that differs
every time, so nothing comes from a cache), then deletes it. The same 200 conversations stream
with the servers otherwise idle and while both clients are busy (arrivals spread over the same
seconds), the two conditions alternating. Target: TTFT p99 busy ≤ 1.5 × TTFT p99 quiet.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import requests

from bench.sse_load import Profile, analyse, fake_timings, run_streams

UPLOADERS = 2
STREAMS = 200


class BusyClient(threading.Thread):
    """Uploads, simulates and deletes Net6 in a loop until stopped; counts what it did."""

    def __init__(self, base: str, token: str, text: bytes, number: int) -> None:
        super().__init__(daemon=True, name=f"busy-{number}")
        self.base, self.number, self.text = base, number, text
        self.headers = {"Authorization": f"Bearer {token}"}
        self.stop = threading.Event()
        self.rounds: list[dict[str, float]] = []
        self.errors: dict[str, int] = {}

    def run(self) -> None:
        http = requests.Session()
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                self.rounds.append(self._round(http, i))
            except Exception as exc:  # counted, and the loop goes on: the load must not stop
                self.errors[str(exc)[:80]] = self.errors.get(str(exc)[:80], 0) + 1
                time.sleep(0.5)

    def _round(self, http: requests.Session, i: int) -> dict[str, float]:
        started = time.perf_counter()
        resp = http.post(
            f"{self.base}/api/networks",
            headers=self.headers,
            timeout=300,
            files={"file": (f"net6-{self.number}-{i}.inp", self.text)},
        )
        if resp.status_code != 201:
            raise RuntimeError(f"upload answered {resp.status_code}: {resp.text[:60]}")
        network = resp.json()["network"]["id"]
        uploaded = time.perf_counter()
        body = {"params": {"duration_h": 24, "required_pressure_m": round(20 + (time.time() % 1) + self.number, 4)}}
        resp = http.post(
            f"{self.base}/api/networks/{network}/analyses/hydraulic", json=body, headers=self.headers, timeout=300
        )
        simulated = time.perf_counter()
        http.delete(f"{self.base}/api/networks/{network}", headers=self.headers, timeout=60)
        if resp.status_code != 200:
            raise RuntimeError(f"analysis answered {resp.status_code}: {resp.text[:60]}")
        return {"upload_s": uploaded - started, "simulate_s": simulated - uploaded}


def streams_beside_busy_clients(
    base: str,
    pairs: list[tuple[str, str]],
    busy_tokens: list[str],
    fake_base: str,
    spread_s: float,
    profile: Profile,
    rounds: int = 2,
) -> dict[str, Any]:
    """TTFT of the same streams on quiet servers and beside the busy clients, alternating ``rounds`` times.

    Quiet and busy runs take turns (quiet, busy, busy, quiet, …) so that a change in the rest of
    the machine's load does not favour either; each condition's streams are analysed together.
    """
    from hydronet.water.loader import load_bundled

    text = load_bundled("Net6").encode()
    asyncio.run(fake_timings(fake_base, clear=True))
    got: dict[str, dict[str, Any]] = {"quiet": {"streams": [], "timings": {}}, "busy": {"streams": [], "timings": {}}}
    rounds_done: list[dict[str, float]] = []
    errors: dict[str, int] = {}
    order = [name for i in range(rounds) for name in (("quiet", "busy") if i % 2 == 0 else ("busy", "quiet"))]
    for n, condition in enumerate(order):
        clients = [BusyClient(base, token, text, k) for k, token in enumerate(busy_tokens[:UPLOADERS])]
        if condition == "busy":
            for client in clients:
                client.start()
            time.sleep(3)  # both clients in the middle of their loops before the first stream starts
        streams = asyncio.run(
            run_streams(
                base, pairs, spread_s=spread_s, profile=profile, tag_prefix=f"h{condition[0]}{n}-{int(time.time())}"
            )
        )
        if condition == "busy":
            for client in clients:
                client.stop.set()
            for client in clients:
                client.join(300)
                rounds_done += client.rounds
                for key, count in client.errors.items():
                    errors[key] = errors.get(key, 0) + count
        got[condition]["streams"] += streams
        got[condition]["timings"].update(asyncio.run(fake_timings(fake_base, clear=True)))
    quiet = analyse(got["quiet"]["streams"], got["quiet"]["timings"])
    busy = analyse(got["busy"]["streams"], got["busy"]["timings"])
    p99 = lambda x: x["ttft_ms"]["p99"]  # noqa: E731
    return {
        "streams": len(pairs),
        "rounds": rounds,
        "order": order,
        "busy_clients": UPLOADERS,
        "quiet": quiet,
        "busy": busy,
        "busy_rounds": len(rounds_done),
        "busy_upload_s_mean": (
            round(sum(r["upload_s"] for r in rounds_done) / len(rounds_done), 3) if rounds_done else None
        ),
        "busy_simulate_s_mean": (
            round(sum(r["simulate_s"] for r in rounds_done) / len(rounds_done), 3) if rounds_done else None
        ),
        "busy_errors": errors,
        "ratio_p99": round(p99(busy) / p99(quiet), 3) if p99(quiet) and p99(busy) else None,
        "ratio_p50": (
            round(busy["ttft_ms"]["p50"] / quiet["ttft_ms"]["p50"], 3)
            if quiet["ttft_ms"]["p50"] and busy["ttft_ms"]["p50"]
            else None
        ),
    }
