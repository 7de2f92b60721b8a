"""Targets of issue 11 evaluated on one run's results, and bench/RESULTS.md."""

from __future__ import annotations

from typing import Any

Target = dict[str, Any]


def _target(key: str, what: str, value: Any, goal: str, ok: bool | None, note: str = "") -> Target:
    return {
        "id": key,
        "what": what,
        "value": value,
        "target": goal,
        "status": "not measured" if ok is None else ("pass" if ok else "FAIL"),
        "note": note,
    }


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if not num or not den else round(num / den, 3)


def evaluate(r: dict[str, Any]) -> list[Target]:
    """One row per target; a phase not run is 'not measured'."""
    out: list[Target] = []
    a, b = r.get("a_baseline"), r.get("b_listing")
    ratio = _ratio(b and b["rps"], a and a["rps"])
    errors = (b or {}).get("error_count", 0)
    cpu = _ratio((a or {}).get("server_cpu_ms_per_request"), (b or {}).get("server_cpu_ms_per_request"))
    out.append(
        _target(
            "b",
            "listing throughput, HydroNet ÷ baseline",
            ratio,
            "≥ 0.8",
            None if ratio is None else ratio >= 0.8 and errors == 0,
            (
                f"{b['rps']} vs {a['rps']} req/s; {errors} HydroNet errors; server CPU per request "
                f"{b.get('server_cpu_ms_per_request')} vs {a.get('server_cpu_ms_per_request')} ms "
                f"(CPU-bound ceiling ratio {cpu})"
            )
            if ratio
            else "",
        )
    )
    c = r.get("c_turns")
    if c:
        over = c["overhead_ms"]
        failed = sum(c["failures"].values())
        out.append(
            _target(
                "c.p50",
                "chat turn overhead p50 (ms)",
                over["p50"],
                "≤ 10",
                over["p50"] is not None and over["p50"] <= 10 and not failed,
                f"{c['turns']} serial turns, {failed} failed",
            )
        )
        out.append(
            _target(
                "c.p99",
                "chat turn overhead p99 (ms)",
                over["p99"],
                "≤ 40",
                over["p99"] is not None and over["p99"] <= 40 and not failed,
            )
        )
        s = c["counts"]["summary"]
        constant = s["turn_constant"] and s["list_constant"] and s["history_constant"]
        out.append(
            _target(
                "c.sql",
                "SQL statements / Redis round trips per turn",
                f"{s['turn_sql']} / {s['turn_redis']}",
                "constant (no N+1)",
                constant,
                f"listing {s['list_sql']} / {s['list_redis']}; constant across turns and data sizes: "
                f"turn {s['turn_constant']}, listing {s['list_constant']}, history {s['history_constant']}",
            )
        )
    else:
        out += [
            _target(k, w, None, g, None)
            for k, w, g in (
                ("c.p50", "chat turn overhead p50 (ms)", "≤ 10"),
                ("c.p99", "chat turn overhead p99 (ms)", "≤ 40"),
                ("c.sql", "SQL statements / Redis round trips per turn", "constant (no N+1)"),
            )
        ]
    d = r.get("d_streams")
    if d:
        at500 = next((s for s in d["steps"] if s["step"] == 500), None)
        out.append(
            _target(
                "d.streams",
                "simultaneous streams with zero errors",
                d["max_clean_streams"],
                "≥ 500",
                d["max_clean_streams"] >= 500,
                f"peak open at once {d['max_clean_peak_concurrent']}; steps "
                + ", ".join(f"{s['step']}:{s['errors']} err" for s in d["steps"]),
            )
        )
        p99 = at500 and at500["ttft_overhead_ms"]["p99"]
        out.append(
            _target(
                "d.ttft",
                "TTFT overhead p99 at 500 streams (ms)",
                p99,
                "≤ 100",
                None if at500 is None else (p99 is not None and p99 <= 100 and at500["errors"] == 0),
            )
        )
    else:
        out += [
            _target("d.streams", "simultaneous streams with zero errors", None, "≥ 500", None),
            _target("d.ttft", "TTFT overhead p99 at 500 streams (ms)", None, "≤ 100", None),
        ]
    e = r.get("e_history")
    for depth in ("deep", "shallow"):
        small, big = (e or {}).get(f"1k_{depth}"), (e or {}).get(f"1m_{depth}")
        ratio = _ratio(big and big["latency_ms"]["p50"], small and small["latency_ms"]["p50"])
        note = (
            (
                f"p50 {big['latency_ms']['p50']} vs {small['latency_ms']['p50']} ms; p99 "
                f"{big['latency_ms']['p99']} vs {small['latency_ms']['p99']} ms"
            )
            if ratio
            else ""
        )
        out.append(
            _target(
                f"e.{depth}",
                f"history {depth} page p50, 1M ÷ 1k messages",
                ratio,
                "≤ 1.2",
                None if ratio is None else ratio <= 1.2 and not big["error_count"],
                note,
            )
        )
    f = r.get("f_water")
    if f and f.get("measured"):
        out.append(
            _target(
                "f",
                "Net3 168 h via the API ÷ WNTR directly",
                f["ratio"],
                "≤ 1.5",
                f["ratio"] <= 1.5,
                f"API {f['api_s']} s vs WNTR {f['direct']['wntr_s']} s",
            )
        )
    else:
        out.append(
            _target(
                "f",
                "Net3 168 h via the API ÷ WNTR directly",
                None,
                "≤ 1.5",
                None,
                f"not measured: {f['reason']}" if f else "",
            )
        )
    g = r.get("g_engine")
    out.append(
        _target(
            "g",
            "criticality per scenario ÷ bare toolkit solve (Net3, 24 h; CPU time)",
            g and g["ratio"],
            "≤ 1.5",
            None if not g else g["ratio"] <= 1.5,
            (
                f"{g['criticality_ms']['cpu']} vs {g['bare_ms']['cpu']} ms CPU per scenario (best of "
                f"{g['rounds']} alternating rounds; median ratio {g['ratio_median_cpu']}, wall-time ratio "
                f"{g['ratio_wall']}); first call on a fresh model {g['criticality_cold_ms']} ms"
            )
            if g
            else "",
        )
    )
    h = r.get("h_busy")
    out.append(
        _target(
            "h",
            "TTFT p99 of 200 streams beside 2 clients uploading + simulating Net6 ÷ without",
            h and h["ratio_p99"],
            "≤ 1.5",
            None
            if not h or h["ratio_p99"] is None
            else (h["ratio_p99"] <= 1.5 and not h["busy"]["errors"] and h["busy_rounds"] > 0),
            (
                f"p99 {h['busy']['ttft_ms']['p99']} vs {h['quiet']['ttft_ms']['p99']} ms, p50 "
                f"{h['busy']['ttft_ms']['p50']} vs {h['quiet']['ttft_ms']['p50']} ms; {h['busy_rounds']} "
                f"upload+simulate rounds meanwhile (upload {h['busy_upload_s_mean']} s, simulate "
                f"{h['busy_simulate_s_mean']} s on average), stream errors {h['busy']['errors']}, "
                f"busy-client errors {h['busy_errors'] or 0}"
            )
            if h
            else "",
        )
    )
    sweep = r.get("i_sweep")
    if sweep and sweep.get("measured"):
        runs = sweep["runs"]
        out.append(
            _target(
                "i",
                f"{sweep['network']} full pipe criticality, 2 workers ÷ 1 worker",
                sweep["ratio"],
                "≤ 0.6",
                None if sweep["ratio"] is None else sweep["ratio"] <= 0.6 and sweep["same_result"],
                "; ".join(f"{n} worker(s) {run['seconds']} s" for n, run in runs.items())
                + f" for {sweep['pipes']} pipes; same result {sweep['same_result']}; failed scenarios "
                + ", ".join(str(run["scenarios_failed"]) for run in runs.values()),
            )
        )
    elif sweep:
        out.append(
            _target(
                "i",
                "Net6 full pipe criticality, 2 workers ÷ 1 worker",
                None,
                "≤ 0.6",
                None,
                f"not measured: {sweep['reason']}",
            )
        )
    return out


CANDIDATE_KEYS = {
    "b_listing": "b_listing_candidate",
    "c_turns": "c_turns_candidate",
    "d_streams": "d_streams_candidate",
    "e_history": "e_history_candidate",
    "f_water": "f_water_candidate",
}


def evaluate_candidate(r: dict[str, Any]) -> list[Target] | None:
    """The same targets for the candidate work tree (--candidate), measured in the same run."""
    if not r.get("candidate"):
        return None
    swapped = dict(r)
    for key, alt in CANDIDATE_KEYS.items():
        swapped[key] = r.get(alt)
    if swapped.get("c_turns") and r.get("c_turns"):
        swapped["c_turns"] = {**swapped["c_turns"], "counts": r["c_turns"]["counts"]}
    return [t for t in evaluate(swapped) if t["id"] != "c.sql"]


def table(targets: list[Target]) -> str:
    """The targets as a Markdown table."""
    lines = ["| | measurement | value | target | result | detail |", "|---|---|---|---|---|---|"]
    for t in targets:
        lines.append(
            f"| {t['id']} | {t['what']} | {t['value'] if t['value'] is not None else '—'} | {t['target']} "
            f"| {t['status']} | {t['note']} |"
        )
    return "\n".join(lines)


def _lat(x: dict[str, Any]) -> str:
    return f"p50 {x['p50']} / p90 {x['p90']} / p99 {x['p99']} / max {x['max']} ms"


def _load_note(m: dict[str, Any]) -> list[str]:
    """A warning when other work competed for the cores during the run."""
    samples = m.get("loadavg_samples") or [m["loadavg_start"][0], m["loadavg_end"][0]]
    mean = sum(samples) / len(samples)
    if mean <= m["nproc"]:
        return [""]
    return [
        "",
        f"> **The machine was loaded during this run** (mean load {mean:.1f} on {m['nproc']} cores; the host is shared and "
        "the bench itself adds to it): absolute latencies and req/s are inflated and capacity (d) is "
        "understated. The interleaved ratios (a/b, e), CPU per request and the SQL/Redis counts are the "
        "figures to trust; rerun on a quiet machine for absolute numbers.",
        "",
    ]


def markdown(r: dict[str, Any]) -> str:
    """bench/RESULTS.md: machine, targets, then each phase's figures."""
    m = r["machine"]
    lines = [
        "# Bench results",
        "",
        "Written by `bench/run.sh` (see bench/README.md for what each figure means). Raw numbers: "
        "`bench/results.json`.",
        "",
        f"- date: {m['date']}; total run {r['total_seconds']} s"
        + (" — **--quick run: not meaningful**" if r["quick"] else ""),
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, Python {m['python']}",
        f"- load average (1 min) at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}"
        + (
            f", during the run min {min(m['loadavg_samples'])} / mean "
            f"{sum(m['loadavg_samples']) / len(m['loadavg_samples']):.2f} / max {max(m['loadavg_samples'])}"
            if m.get("loadavg_samples")
            else ""
        ),
        f"- phases run: {', '.join(r['phases_run'])}; extra HydroNet settings: {r.get('extra_env') or 'none'}",
        f"- seeding (s): {r.get('seed_seconds')}",
        "",
        *_load_note(m),
        "## Targets",
        "",
        table(r["targets"]),
        "",
    ]
    if r.get("candidate_targets"):
        lines += [
            f"## Candidate `{r['candidate']}` {r.get('candidate_env') or ''} (same run)",
            "",
            table(r["candidate_targets"]),
            "",
        ]
    for key, title in (("a_baseline", "(a) baseline listing"), ("b_listing", "(b) HydroNet listing")):
        x = r.get(key)
        if x:
            lines += [
                f"## {title}",
                "",
                f"{x['rps']} req/s over {x['seconds']} s, {x['connections']} connections "
                f"(rounds: {x.get('rounds_rps')} req/s); latency {_lat(x['latency_ms'])}; errors {x['errors']}; "
                f"server CPU per request {x.get('server_cpu_ms_per_request')} ms "
                "(gunicorn workers + their PostgreSQL backends)",
                "",
            ]
    c = r.get("c_turns")
    if c:
        s = c["counts"]
        lines += [
            "## (c) non-streamed chat turn, instant upstream",
            "",
            f"- end-to-end {_lat(c['end_to_end_ms'])}",
            f"- upstream's own time (at the fake) {_lat(c['upstream_ms'])}",
            f"- **overhead** {_lat(c['overhead_ms'])}",
            f"- server CPU per turn: {c.get('server_cpu_ms_per_turn')} ms (gunicorn workers + PostgreSQL backends; "
            f"{c.get('worker_boots')} worker restarts during the phase)",
            "",
            "| request | SQL statements | transactions ended | Redis round trips |",
            "|---|---|---|---|",
        ]
        for name, v in s.items():
            if name != "summary":
                lines.append(
                    f"| {name} | {v['sql_statements']} | {v['sql_transactions_ended']} | {v['redis_round_trips']} |"
                )
        lines += [
            "",
            "Statements of one turn: " + "; ".join(s["turn"]["sql"]),
            "",
            "Redis round trips of one turn: " + ", ".join(s["turn"]["redis"]),
            "",
        ]
    d = r.get("d_streams")
    if d:
        p = d["profile"]
        lines += [
            "## (d) concurrent streams",
            "",
            f"Upstream: first chunk after {p['first_ms']} ms, {p['chunks']} chunks every {p['every_ms']} ms "
            f"({p['stream_seconds']} s); arrivals spread over {p['arrivals_spread_s']} s.",
            "",
            "| streams | peak open | errors | TTFT p50 / p99 (ms) | upstream first chunk p50 / p99 | "
            "**overhead** p50 / p99 (ms) | server CPU per stream (ms) |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in d["steps"]:
            lines.append(
                f"| {s['step']} | {s['peak_concurrent']} | {s['errors']} {s['error_kinds'] or ''} | "
                f"{s['ttft_ms']['p50']} / {s['ttft_ms']['p99']} | {s['upstream_first_chunk_ms']['p50']} / "
                f"{s['upstream_first_chunk_ms']['p99']} | {s['ttft_overhead_ms']['p50']} / "
                f"{s['ttft_overhead_ms']['p99']} | {s.get('server_cpu_ms_per_stream')} |"
            )
        lines.append("")
    e = r.get("e_history")
    if e:
        lines += ["## (e) history pages (50 messages)", "", "| page | req/s | latency |", "|---|---|---|"]
        for name, x in e.items():
            lines.append(f"| {name} | {x['rps']} | {_lat(x['latency_ms'])} |")
        lines.append("")
    f = r.get("f_water")
    if f and f.get("measured"):
        lines += [
            "## (f) Net3, 168 h hydraulic simulation",
            "",
            "Medians; WNTR and the API timed alternately, one run of each per round.",
            "",
            f"- WNTR directly: {f['direct']['wntr_s']} s ({f['direct']['what']}); "
            f"hydronet.water: {f['direct']['hydronet_water_s']} s (WNTR runs {f['direct']['wntr_runs_s']})",
            f"- through the API: {f['api_s']} s (runs {f['api_runs_s']})",
            "",
        ]
    elif f:
        lines += ["## (f) Net3, 168 h hydraulic simulation", "", f"- not measured: {f['reason']}", ""]
    g = r.get("g_engine")
    if g:
        lines += [
            "## (g) pipe criticality per scenario vs the bare EPANET 2.3 toolkit solve",
            "",
            f"{g['network']}, {g['pipes']} pipes, {g['duration_h']} h, PDD; best of {g['rounds']} alternating "
            f"rounds (load average {g['load_average_1min']} at the end).",
            "",
            "| | CPU ms per scenario | wall ms per scenario |",
            "|---|---|---|",
            f"| bare toolkit solve | {g['bare_ms']['cpu']} | {g['bare_ms']['wall']} |",
            f"| pipe_criticality | {g['criticality_ms']['cpu']} | {g['criticality_ms']['wall']} |",
            f"| ratio | {g['ratio']} (median {g['ratio_median_cpu']}) | {g['ratio_wall']} |",
            "",
            f"First call on a freshly parsed model (opens the project, computes populations): "
            f"{g['criticality_cold_ms']} ms per scenario.",
            "",
        ]
    h = r.get("h_busy")
    if h:
        lines += [
            "## (h) streams beside clients uploading and simulating Net6",
            "",
            "| | streams (all rounds) | errors | TTFT p50 / p99 (ms) | TTFT overhead p50 / p99 (ms) |",
            "|---|---|---|---|---|",
        ]
        for name in ("quiet", "busy"):
            x = h[name]
            lines.append(
                f"| {name} | {x['streams']} | {x['errors']} | {x['ttft_ms']['p50']} / {x['ttft_ms']['p99']} | "
                f"{x['ttft_overhead_ms']['p50']} / {x['ttft_overhead_ms']['p99']} |"
            )
        lines += [
            "",
            f"Busy clients: {h['busy_clients']}, {h['busy_rounds']} upload + 24 h simulation rounds "
            f"(upload {h['busy_upload_s_mean']} s, simulation {h['busy_simulate_s_mean']} s on average); "
            f"errors {h['busy_errors'] or 'none'}.",
            "",
        ]
    sweep = r.get("i_sweep")
    if sweep and sweep.get("measured"):
        lines += [
            "## (i) Net6 pipe criticality on RQ workers",
            "",
            f"`pipe_criticality` {sweep['params']} over {sweep['pipes']} pipes, chunks of {sweep['chunk_scenarios']} "
            "scenarios; from the POST to the job's `done`.",
            "",
            "| workers | seconds | pipes analysed | scenarios failed | complete | load 1 min before / after |",
            "|---|---|---|---|---|---|",
        ]
        for n, run in sweep["runs"].items():
            lines.append(
                f"| {n} | {run['seconds']} | {run['pipes_analysed']} | {run['scenarios_failed']} | "
                f"{run['complete']} | {run['load_1min_before']} / {run['load_1min_after']} |"
            )
        lines += ["", f"Both runs gave the same result: {sweep['same_result']}.", ""]
    return "\n".join(lines)
