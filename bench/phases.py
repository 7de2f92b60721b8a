"""The measurements (a)–(f); each takes running servers and returns a JSON-ready dict."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.inproc import tag_message
from bench.services import CpuMeter, quiet_gc
from bench.sse_load import Profile, analyse, fake_timings, run_streams
from bench.stats import summary
from bench.wrk import run_wrk


@dataclass
class Durations:
    """How long each load runs (short for debugging with --quick)."""

    wrk_s: float = 15
    wrk_warmup_s: float = 3
    connections: int = 16
    turns: int = 200
    history_s: float = 12
    stream_spread_s: float = 10
    water_runs: int = 11


def listing(
    bases: dict[str, str],
    tokens: list[str],
    d: Durations,
    rounds: int = 5,
    path: str = "/api/chat/conversations",
    meters: dict[str, CpuMeter] | None = None,
) -> dict[str, dict[str, Any]]:
    """(a)/(b): wrk on the conversation listing of each server in ``bases``, interleaved.

    The machine is shared, so its load drifts: the servers take turns in
    ``rounds`` short runs (order alternating, a-b, b-a, …) and each figure adds
    its rounds up, which keeps the ratio fair when the load changes.  The
    ratio of each round pair is kept too (``rounds_rps``).  With ``meters``,
    the servers' CPU per request is measured over the same rounds.
    """
    meters = meters or {}
    for base in bases.values():
        run_wrk(base + path, tokens, seconds=d.wrk_warmup_s, connections=d.connections)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in bases}
    cpu_s = {name: 0.0 for name in bases}
    order = list(bases)
    for i in range(rounds):
        for name in order if i % 2 == 0 else order[::-1]:
            meter = meters.get(name)
            before = meter.snapshot() if meter else {}
            runs[name].append(run_wrk(bases[name] + path, tokens, seconds=d.wrk_s / rounds, connections=d.connections))
            if meter:
                cpu_s[name] += meter.seconds(before, meter.snapshot())
    out = {name: _combine(r) for name, r in runs.items()}
    for name, result in out.items():
        if name in meters and result["requests"]:
            result["server_cpu_ms_per_request"] = round(cpu_s[name] * 1000 / result["requests"], 3)
    return out


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one server added up (latency percentiles: the rounds' weighted by their requests)."""
    seconds = sum(r["seconds"] for r in runs)
    requests_ = sum(r["requests"] for r in runs)
    errors = {k: sum(r["errors"][k] for r in runs) for k in runs[0]["errors"]}
    # latency: the rounds' percentiles weighted by their request counts (a round without a request has none)
    weight = {id(r): r["requests"] for r in runs}
    total = sum(weight.values()) or 1
    latency = {
        k: round(sum(r["latency_ms"][k] * weight[id(r)] for r in runs) / total, 2) for k in runs[0]["latency_ms"]
    }
    latency["max"] = max(r["latency_ms"]["max"] for r in runs)
    return {
        "connections": runs[0]["connections"],
        "seconds": round(seconds, 2),
        "requests": requests_,
        "rps": round(requests_ / seconds, 1),
        "errors": errors,
        "error_count": sum(errors.values()),
        "latency_ms": latency,
        "rounds_rps": [r["rps"] for r in runs],
    }


def turns(
    bases: dict[str, str],
    token: str,
    conversation: str,
    fake_base: str,
    n: int,
    warmup: int = 10,
    block: int = 10,
    meters: dict[str, CpuMeter] | None = None,
) -> dict[str, dict[str, Any]]:
    """(c): serial non-streamed turns with an instant upstream; overhead = end-to-end − upstream's own time.

    With several servers (a candidate build) they take turns in blocks of ``block`` turns.
    """
    prefix = f"c{int(time.time())}"
    e2e: dict[str, dict[str, float]] = {name: {} for name in bases}
    failures: dict[str, dict[int, int]] = {name: {} for name in bases}
    conns = {
        name: http.client.HTTPConnection(urlsplit(b).hostname, urlsplit(b).port, timeout=30)
        for name, b in bases.items()
    }
    path = f"/api/chat/conversations/{conversation}/messages"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    meters = meters or {}
    cpu_s = {name: 0.0 for name in bases}
    for start in range(0, warmup + n, block):
        for name, conn in conns.items():
            measured = start >= warmup and name in meters
            before = meters[name].snapshot() if measured else {}
            with quiet_gc():  # this process's own collector stays out of the timings
                for i in range(start, min(start + block, warmup + n)):
                    tag = f"{prefix}-{name}-{i}"
                    body = json.dumps({"message": tag_message(tag)})
                    started = time.perf_counter()
                    conn.request("POST", path, body, headers)
                    resp = conn.getresponse()
                    resp.read()
                    elapsed = time.perf_counter() - started
                    if resp.status != 200:
                        failures[name][resp.status] = failures[name].get(resp.status, 0) + 1
                    elif i >= warmup:
                        e2e[name][tag] = elapsed
            if measured:
                cpu_s[name] += meters[name].seconds(before, meters[name].snapshot())
    for conn in conns.values():
        conn.close()
    timings = asyncio.run(fake_timings(fake_base))
    out: dict[str, dict[str, Any]] = {}
    for name in bases:
        upstream = {tag: (timings.get(tag) or {}).get("total_s") for tag in e2e[name]}
        overhead = [(e2e[name][t] - upstream[t]) * 1000 for t in e2e[name] if upstream[t] is not None]
        out[name] = {
            "turns": n,
            "failures": failures[name],
            "end_to_end_ms": summary([v * 1000 for v in e2e[name].values()]),
            "upstream_ms": summary([v * 1000 for v in upstream.values() if v is not None]),
            "overhead_ms": summary(overhead),
        }
        if name in meters and e2e[name]:
            out[name]["server_cpu_ms_per_turn"] = round(cpu_s[name] * 1000 / len(e2e[name]), 2)
    return out


def streams(
    base: str,
    pairs_for: Callable[[int], list[tuple[str, str]]],
    fake_base: str,
    steps: list[int],
    d: Durations,
    profile: Profile,
    meter: CpuMeter | None = None,
) -> dict[str, Any]:
    """(d): steps of simultaneous streams until the first step with errors (or the last step)."""
    # every worker loads the tokenizer and opens its pools on its first turns: not part of a step
    asyncio.run(run_streams(base, pairs_for(steps[0])[:8], spread_s=0.5, profile=Profile(0, 2, 0), tag_prefix="dwarm"))
    asyncio.run(fake_timings(fake_base, clear=True))
    results: list[dict[str, Any]] = []
    for step in steps:
        started = time.monotonic()
        before = meter.snapshot() if meter else {}
        got = asyncio.run(
            run_streams(
                base,
                pairs_for(step),
                spread_s=d.stream_spread_s,
                profile=profile,
                tag_prefix=f"d{step}-{int(time.time())}",
            )
        )
        step_result = {
            "step": step,
            **analyse(got, asyncio.run(fake_timings(fake_base, clear=True))),
            "seconds": round(time.monotonic() - started, 1),
        }
        if meter:
            step_result["server_cpu_ms_per_stream"] = round(meter.seconds(before, meter.snapshot()) * 1000 / step, 2)
        results.append(step_result)
        print(
            f"  (d) {step} streams: {step_result['errors']} errors, peak {step_result['peak_concurrent']}, "
            f"TTFT overhead p50 {step_result['ttft_overhead_ms']['p50']} ms p99 "
            f"{step_result['ttft_overhead_ms']['p99']} ms",
            flush=True,
        )
        if step_result["errors"]:
            break
        time.sleep(2)  # let the last persists and keep-alive connections settle
    clean = [r for r in results if r["errors"] == 0]
    return {
        "profile": {
            "first_ms": profile.first_ms,
            "chunks": profile.chunks,
            "every_ms": profile.every_ms,
            "stream_seconds": profile.seconds,
            "arrivals_spread_s": d.stream_spread_s,
        },
        "steps": results,
        "max_clean_streams": max((r["step"] for r in clean), default=0),
        "max_clean_peak_concurrent": max((r["peak_concurrent"] for r in clean), default=0),
    }


def history(base: str, pages: dict[str, tuple[str, str]], d: Durations, rounds: int = 6) -> dict[str, Any]:
    """(e): wrk on one history page at a time; ``pages`` maps a name to (token, path).

    Like the listing, pages take turns in short rounds (order alternating) so
    that a change in the machine's load does not favour one of them.
    """
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in pages}
    for token, path in pages.values():
        run_wrk(base + path, [token], seconds=1, connections=4, threads=1)
    order = list(pages)
    for i in range(rounds):
        for name in order if i % 2 == 0 else order[::-1]:
            token, path = pages[name]
            runs[name].append(run_wrk(base + path, [token], seconds=d.history_s / rounds, connections=4, threads=1))
    return {name: _combine(r) for name, r in runs.items()}


def water(base: str, token: str, runs: int) -> dict[str, Any]:
    """(f): Net3 168 h through the API (import, then hydraulic analyses with varied settings) vs WNTR directly.

    The two are timed alternately, one run of each per round after a warm-up of
    each, so that both see the same state of the machine.
    """
    from hydronet.water.loader import load_bundled

    text = load_bundled("Net3")
    headers = {"Authorization": f"Bearer {token}"}
    http = requests.Session()  # one keep-alive connection, as any API client script holds
    imported = http.post(f"{base}/api/networks/import", json={"example": "Net3"}, headers=headers, timeout=60)
    if imported.status_code in (404, 405):
        return {"measured": False, "reason": "endpoint missing"}
    if imported.status_code not in (200, 201):
        return {"measured": False, "reason": f"import answered {imported.status_code}: {imported.text[:200]}"}
    network_id = _find_id(imported.json(), "network")
    raw: list[float] = []
    api: list[float] = []
    # This process's heap frozen with the collector on, as in a gunicorn worker after boot: a
    # collection then scans only what the measured work allocates, on either side.
    with quiet_gc(collecting=True):
        for i in range(runs + 1):  # round 0 warms both up and is not counted
            direct = _time_wntr(text)
            took = _time_api(http, base, network_id, headers, i)
            if isinstance(took, str):
                return {"measured": False, "reason": took}
            if i:
                raw.append(direct)
                api.append(took)
        ours = [_time_hydronet_water(text) for _ in range(runs)]  # for reading the gap, not the target
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    wntr_s = median(raw)
    return {
        "measured": True,
        "api_s": round(median(api), 3),
        "api_runs_s": [round(x, 3) for x in api],
        "direct": {
            "wntr_s": round(wntr_s, 3),
            "hydronet_water_s": round(median(ours), 3),
            "wntr_runs_s": [round(x, 3) for x in raw],
            "what": "parse Net3.inp + EpanetSimulator.run_sim, 168 h, hydraulics only (quality NONE); "
            "and hydronet.water.hydraulics.hydraulic",
        },
        "ratio": round(median(api) / wntr_s, 3),
    }


def _time_api(http: requests.Session, base: str, network_id: str, headers: dict[str, str], i: int) -> float | str:
    """Seconds of one hydraulic analysis through the API, or why it cannot be measured."""
    # a different required pressure per run changes both caches' keys (the result cache and the
    # simulation cache, see hydronet.water.simulation.SimSettings.key): every call really simulates
    body = {"params": {"duration_h": 168, "required_pressure_m": round(20 + 0.01 * (i + 1) + time.time() % 1, 3)}}
    started = time.perf_counter()
    resp = http.post(f"{base}/api/networks/{network_id}/analyses/hydraulic", json=body, headers=headers, timeout=600)
    resp = _await_job(base, resp, headers, http)
    took = time.perf_counter() - started
    if resp.status_code != 200:
        return f"analysis answered {resp.status_code}: {resp.text[:200]}"
    if resp.json().get("cached"):
        return "the API answered from its cache"
    return took


def _time_wntr(text: str) -> float:
    """Seconds of WNTR alone: parse Net3.inp and run EPANET for 168 h, hydraulics only."""
    import tempfile
    from pathlib import Path

    import wntr

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Net3.inp"
        path.write_text(text)
        wn = wntr.network.WaterNetworkModel(str(path))
        wn.options.time.duration = 168 * 3600
        wn.options.quality.parameter = "NONE"  # a hydraulic simulation, as HydroNet's analysis runs it
        wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(Path(tmp) / "run"))
    return time.perf_counter() - started


def _time_hydronet_water(text: str) -> float:
    """Seconds of hydronet.water's hydraulic analysis (parse included), without HTTP or database."""
    from hydronet.water.hydraulics import hydraulic
    from hydronet.water.loader import parse_inp

    started = time.perf_counter()
    hydraulic(parse_inp(text, "Net3"), duration_h=168)
    return time.perf_counter() - started


def _find_id(body: dict[str, Any], key: str) -> str:
    """The id of ``key`` in a success body ({key: {id}} or {id})."""
    inner = body.get(key) if isinstance(body.get(key), dict) else body
    return str(inner["id"])


def _await_job(
    base: str, resp: requests.Response, headers: dict[str, str], http: requests.Session, timeout_s: float = 600
) -> requests.Response:
    """Follow a 202 job answer (``job.url``/``job.id``/``Location``) until it finishes."""
    if resp.status_code != 202:
        return resp
    body = resp.json()
    job = body.get("job") or body
    url = resp.headers.get("Location") or job.get("url") or f"/api/jobs/{job.get('id')}"
    url = url if url.startswith("http") else base + url
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        polled = http.get(url, headers=headers, timeout=30)
        state = (polled.json().get("job") or polled.json()).get("status")
        if state in ("done", "finished", "succeeded", "completed", "failed", "error"):
            return polled if state not in ("failed", "error") else requests.Response()
        time.sleep(0.05)
    raise TimeoutError("analysis job did not finish")
