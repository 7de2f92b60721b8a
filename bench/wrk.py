"""Running wrk (HTTP/1.1 keep-alive load, fixed connections and duration) with bench/wrk_auth.lua."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "wrk_auth.lua"


def run_wrk(
    url: str, tokens: list[str], *, seconds: float, connections: int, threads: int = 2, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Load ``url`` for ``seconds``; returns requests/s, latency percentiles (ms) and error counts."""
    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as handle:
        handle.write("\n".join(tokens) + "\n")
        token_file = handle.name
    try:
        cmd = [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s:g}s",
            "-s",
            str(SCRIPT),
            url,
        ]
        done = subprocess.run(
            cmd,
            env={**os.environ, "BENCH_TOKENS_FILE": token_file},
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(token_file)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[len("BENCH_JSON ") :])
    seconds_run = raw["duration_us"] / 1e6
    errors = raw["errors"]
    return {
        "connections": connections,
        "threads": threads,
        "seconds": round(seconds_run, 2),
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds_run, 1),
        "errors": errors,
        "error_count": sum(errors.values()),
        "latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
    }
