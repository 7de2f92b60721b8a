"""gunicorn_config.py with real gunicorn processes: settings, systemd readiness, reloads."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from deploy_support import HERE, REPO, clean_env, request

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(60)]


def effective_settings(tmp_path, **env: str) -> dict[str, str]:
    """The settings gunicorn itself derives from gunicorn_config.py (--print-config)."""
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn_config.py"), "--print-config", "stub_app:app"],
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(HERE), **env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))


def test_defaults_suit_streaming_behind_nginx(tmp_path):
    settings = effective_settings(tmp_path)
    assert settings["worker_class"] == "gevent"
    assert settings["worker_connections"] == "1000"
    assert settings["workers"] == str(max(2, min(4, 2 * os.cpu_count())))
    assert settings["bind"] == "['127.0.0.1:5000']"
    assert settings["timeout"] == "120"
    assert settings["graceful_timeout"] == "60"
    # gevent: rare recycles, wide jitter (a recycling worker drains its streams and accepts nothing)
    assert settings["max_requests"] == "20000" and settings["max_requests_jitter"] == "10000"
    assert settings["preload_app"] == "False"
    assert settings["accesslog"] == "-" and settings["errorlog"] == "-"
    assert "{x-request-id}i" in settings["access_log_format"] and "%(L)s" in settings["access_log_format"]
    assert settings["proc_name"] == "hydronet"
    assert settings["control_socket_disable"] == "True"


def test_dotenv_is_read_but_real_environment_wins(tmp_path):
    env_file = tmp_path / "hydronet.env"
    env_file.write_text("GUNICORN_WORKERS=3\nGUNICORN_TIMEOUT=30\nPORT=5055\n")
    settings = effective_settings(tmp_path, HYDRONET_ENV_FILE=str(env_file), GUNICORN_TIMEOUT="300")
    assert settings["workers"] == "3"
    assert settings["timeout"] == "300"
    assert settings["bind"] == "['127.0.0.1:5055']"


def test_mistyped_number_stops_gunicorn_with_the_variable_name(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn_config.py"), "--print-config", "stub_app:app"],
        cwd=tmp_path,
        env=clean_env(GUNICORN_WORKERS="four"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "GUNICORN_WORKERS" in result.stdout + result.stderr


def test_systemd_notify_ready_is_sent_by_gunicorn(tmp_path, processes):
    """Type=notify works: the arbiter sends READY=1 on $NOTIFY_SOCKET once it listens."""
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(path)
        notify.settimeout(20)
        processes.gunicorn(NOTIFY_SOCKET=path, GUNICORN_WORKERS="1")
        message = notify.recv(4096).decode()
    assert "READY=1" in message.splitlines()


@pytest.mark.parametrize("worker_class, cooperative", [("gevent", True), ("gthread", False)])
def test_psycopg2_is_cooperative_only_under_gevent(processes, worker_class, cooperative):
    unit = processes.gunicorn(GUNICORN_WORKER_CLASS=worker_class, GUNICORN_WORKERS="1")
    module = request(unit.port, "GET", "/psycopg").json()["wait_callback"]
    assert (module is not None and "psycogreen" in module) is cooperative


def test_hup_reload_loses_no_in_flight_or_new_request(processes):
    """`systemctl reload` (SIGHUP): slow requests finish, new ones are served, workers are new."""
    unit = processes.gunicorn(GUNICORN_WORKERS="2")
    old_pids = {request(unit.port, "GET", "/api/health").json()["pid"] for _ in range(6)}

    with ThreadPoolExecutor(max_workers=24) as pool:
        slow = [pool.submit(request, unit.port, "GET", "/slow?seconds=2") for _ in range(8)]
        time.sleep(0.5)  # the slow requests are now inside the old workers
        unit.signal(signal.SIGHUP)
        fast = []
        for _ in range(30):  # keep arriving while workers are swapped
            fast.append(pool.submit(request, unit.port, "GET", "/api/health"))
            time.sleep(0.1)
        results = [f.result(timeout=30) for f in slow + fast]

    assert [r.status for r in results] == [200] * len(results)
    slow_bodies = [r.json() for r in results[:8]]
    assert all(body["done"] - body["started"] >= 1.9 for body in slow_bodies)
    old_pids |= {body["pid"] for body in slow_bodies}  # the workers that were busy at the HUP
    time.sleep(0.5)
    new_pids = {request(unit.port, "GET", "/api/health").json()["pid"] for _ in range(6)}
    assert new_pids.isdisjoint(old_pids)
    assert unit.proc.poll() is None


def test_sigterm_lets_in_flight_requests_finish(processes):
    """`systemctl stop` sends SIGTERM to the master; requests in flight still complete."""
    unit = processes.gunicorn(GUNICORN_WORKERS="1")
    with ThreadPoolExecutor(max_workers=4) as pool:
        slow = [pool.submit(request, unit.port, "GET", "/slow?seconds=1.5") for _ in range(3)]
        time.sleep(0.4)
        unit.signal(signal.SIGTERM)
        assert [f.result(timeout=20).status for f in slow] == [200, 200, 200]
    assert unit.proc.wait(timeout=15) == 0


def metrics_dir(unit) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR the instance's master logged at start."""
    found = re.findall(r"prometheus multiprocess dir: (\S+)", unit.log.read_text())
    assert found, unit.log.read_text()[-2000:]
    return Path(found[-1])


def test_each_instance_gets_its_own_metrics_dir_removed_at_exit(processes):
    """/metrics adds up the workers of one app server only; nothing is left behind on stop."""
    first, second = (processes.gunicorn(GUNICORN_WORKERS="1") for _ in range(2))
    dirs = [metrics_dir(first), metrics_dir(second)]
    assert dirs[0] != dirs[1] and all(d.is_dir() for d in dirs)
    first.signal(signal.SIGHUP)  # a reload keeps the directory
    time.sleep(1)
    first.stop()
    second.stop()
    assert not any(d.exists() for d in dirs)


def test_a_given_metrics_dir_is_emptied_at_start_and_kept(processes, tmp_path):
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_999999.db").write_bytes(b"stale samples of a previous run")
    unit = processes.gunicorn(GUNICORN_WORKERS="1", PROMETHEUS_MULTIPROC_DIR=str(given))
    assert metrics_dir(unit) == given and not (given / "counter_999999.db").exists()
    unit.stop()
    assert given.is_dir()
