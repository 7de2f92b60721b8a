"""Processes the bench starts — the fake upstream and gunicorn — and stops again, always; quiet_gc."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def quiet_gc(*, collecting: bool = False) -> Iterator[None]:
    """Keep the bench process's own garbage collector out of a measured window.

    This process also holds the in-process app (SQLAlchemy, numpy, WNTR, …)
    and the state of every stream: a full collection here took 200–250 ms in
    the middle of a 500-stream step, and every first token that arrived
    meanwhile was charged to HydroNet.  Collected and frozen before, off
    during the window (a load generator written in C would have no collector
    at all).  ``collecting=True`` leaves the collector on over the frozen heap —
    the state of a gunicorn worker after boot (gunicorn_config.post_worker_init),
    for timing work the app also does.
    """
    gc.collect()
    gc.freeze()
    enabled = gc.isenabled()
    if not collecting:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child in its own process group, output to a log file; stop() ends the whole group."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.name, self.log = name, log
        self._log = log.open("wb")
        self.popen = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM to the group (gunicorn lets requests finish), SIGKILL after ``grace_s``."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: base URL -> the gunicorn process serving it (for CPU accounting)
SERVERS: dict[str, Process] = {}


def _proc_stat(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields after "(comm)": state is [0], pgrp [2], utime [11]


def _ticks(pid: int) -> int | None:
    fields = _proc_stat(str(pid))
    return None if fields is None else int(fields[11]) + int(fields[12])


def _group_pids(pgid: int) -> list[int]:
    """The processes of one process group (a server started by `Process`)."""
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and (fields := _proc_stat(entry)) and int(fields[2]) == pgid
    ]


def _group_ticks(pgid: int) -> int:
    """CPU clock ticks used so far by the processes of one process group."""
    return sum(t for pid in _group_pids(pgid) if (t := _ticks(pid)) is not None)


def wait_quiet(proc: Process, timeout_s: float = 30.0, window_s: float = 0.5) -> None:
    """Wait until a server's processes are idle, every worker booted and warmed up.

    A gunicorn answers as soon as one worker is up; the others may still be
    importing the app and loading the tokenizer (a second of CPU each), which
    would compete with the first measurement.
    """
    pgid = proc.popen.pid
    deadline = time.monotonic() + timeout_s
    before = _group_ticks(pgid)
    while time.monotonic() < deadline:
        time.sleep(window_s)
        after = _group_ticks(pgid)
        if (after - before) / CLOCK_TICKS < 0.05 * window_s:  # under 5 % of a core
            return
        before = after


class CpuMeter:
    """CPU used by one server: its gunicorn processes plus the PostgreSQL backends of its database.

    Redis runs one process for every user of the machine and is left out.
    The machine is shared, so CPU per request is steadier than requests per
    second: it only grows a little when other work competes for the cores.
    """

    def __init__(self, base: str, dbname: str) -> None:
        self.pgid, self.dbname = SERVERS[base].popen.pid, dbname

    def _pids(self) -> list[int]:
        import psycopg2

        pids = _group_pids(self.pgid)
        conn = psycopg2.connect(f"postgresql://postgres@127.0.0.1:5432/{self.dbname}")
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (self.dbname,)
            )
            pids += [row[0] for row in cur.fetchall()]
        conn.close()
        return pids

    def snapshot(self) -> dict[int, int]:
        """Clock ticks used so far, per process."""
        return {pid: t for pid in self._pids() if (t := _ticks(pid)) is not None}

    @staticmethod
    def seconds(before: dict[int, int], after: dict[int, int]) -> float:
        """CPU seconds used between two snapshots (processes gone since are not counted)."""
        return sum(t - before.get(pid, 0) for pid, t in after.items()) / CLOCK_TICKS


def wait_http(proc: Process, url: str, timeout_s: float = 60.0) -> None:
    """Wait until ``url`` answers 200, or fail with the process's log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{proc.name} did not answer {url} within {timeout_s:.0f} s:\n{proc.tail()}")


@contextmanager
def fake_upstream(port: int, api_key: str, log: Path) -> Iterator[str]:
    """The timed fake DashScope server; yields its base URL (…/api/v1)."""
    proc = Process(
        "fake upstream",
        [sys.executable, "-m", "bench.fake_upstream", "--port", str(port), "--api-key", api_key],
        {**os.environ, "PYTHONPATH": str(ROOT)},
        log,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if not proc.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"fake upstream did not start:\n{proc.tail()}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        proc.stop(5)


@contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str], port: int, log: Path, health_path: str, workers: int = 2, root: Path = ROOT
) -> Iterator[str]:
    """``gunicorn -c gunicorn_config.py <app_spec>`` in ``root`` on loopback with ``env``; yields the base URL."""
    full_env = {
        **os.environ,
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "PYTHONPATH": str(root),
    }
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn_config.py"), app_spec]
    proc = Process(f"gunicorn {app_spec} ({root})", cmd, full_env, log, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(proc, base + health_path)
        wait_quiet(proc)
        SERVERS[base] = proc
        yield base
    finally:
        SERVERS.pop(base, None)
        proc.stop()
