"""Helpers for the deploy tests: real nginx, gunicorn and PostgreSQL on loopback.

Everything runs as ordinary child processes with files under pytest's tmp
dirs and free-picked ports; nothing touches /etc, /var or the system's
services.  nginx comes from Debian (`deploy/ci/install_nginx.sh`).
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
HERE = Path(__file__).resolve().parent
# A server where throwaway databases may be created: HYDRONET_TEST_PG_ADMIN_URL, else
# the suite's HYDRONET_TEST_DATABASE_URL (itself such a URL), else the local default.
_SUITE_DB = os.environ.get("HYDRONET_TEST_DATABASE_URL", "").replace("postgresql+psycopg2://", "postgresql://")
PG_ADMIN_URL = (
    os.environ.get("HYDRONET_TEST_PG_ADMIN_URL")
    or (_SUITE_DB if _SUITE_DB.startswith("postgresql://") else "")
    or "postgresql://postgres@127.0.0.1:5432/postgres"
)


# --- sockets and HTTP --------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0, log: Path | None = None):
    """Block until 127.0.0.1:port accepts connections (fail early if `proc` died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            pytest.fail(f"process exited with {proc.returncode} before listening on {port}\n{detail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        import json

        return json.loads(self.body)


def request(
    port: int,
    method: str = "GET",
    path: str = "/",
    headers: dict | None = None,
    body: bytes | None = None,
    timeout: float = 15.0,
    source: str | None = None,
) -> Response:
    """One HTTP/1.1 request to 127.0.0.1:port (from loopback address `source`, e.g. 127.0.0.2)."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.msg, resp.read())
    finally:
        conn.close()


def read_stream(
    port: int, method: str, path: str, headers: dict | None = None, timeout: float = 15.0, body: bytes = b""
) -> tuple[float, list[float], bytes]:
    """Send a request on a raw socket; return (start, arrival time of each SSE event, raw bytes)."""
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: localhost",
        "Connection: close",
        "Accept: text/event-stream",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    arrivals: list[float] = []
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        start = time.time()
        sock.sendall(raw)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            now = time.time()
            data += chunk
            _, ended, body = data.partition(b"\r\n\r\n")  # not in headers (a CSP may say "data: blob:")
            arrivals += [now] * ((body.count(b"data: ") if ended else 0) - len(arrivals))
    return start, arrivals, data


# --- processes -----------------------------------------------------------------


def _signal(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)


def _reap(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Wait for a child we signalled; kill its own process group if it lingers."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group start_new_session gave this child
        proc.wait(timeout=5)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Stop one child we started (by pid)."""
    _signal(proc, sig)
    _reap(proc, timeout)


def clean_env(**overrides: str) -> dict[str, str]:
    """os.environ without gunicorn/systemd leftovers and with no project .env, plus overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GUNICORN_")
        and key not in {"NOTIFY_SOCKET", "_HYDRONET_DOTENV_KEYS", "FORWARDED_ALLOW_IPS", "PORT"}
    }
    env["HYDRONET_ENV_FILE"] = str(HERE / "no-such.env")
    env.update(overrides)
    return env


@dataclass
class Gunicorn:
    """gunicorn -c gunicorn_config.py serving `app` on 127.0.0.1:port."""

    app: str
    port: int
    log: Path
    env: dict[str, str]
    pythonpath: Path | None = HERE
    proc: subprocess.Popen | None = None

    def start(self, wait_path: str | None = "/api/health", timeout: float = 20.0) -> Gunicorn:
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn_config.py")]
        if self.pythonpath:
            cmd += ["--pythonpath", str(self.pythonpath)]
        cmd.append(self.app)
        env = dict(self.env, GUNICORN_BIND=f"127.0.0.1:{self.port}")
        env.setdefault("GUNICORN_WORKERS", "2")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for_port(self.port, self.proc, log=self.log)
        if wait_path:
            self.wait_http(wait_path, timeout)
        return self

    def wait_http(self, path: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", path, timeout=5).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"{path} on :{self.port} never answered 200\n{self.log.read_text()[-3000:]}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        pytest.fail("nginx is not installed: run deploy/ci/install_nginx.sh (CI does)")
    return found


def render_site(root: Path, listen_port: int, upstream_ports: list[int], log_dir: Path) -> str:
    """deploy/render_nginx.sh for a loopback test layout."""
    cmd = [
        "bash",
        str(DEPLOY / "render_nginx.sh"),
        "--root",
        str(root),
        "--log-dir",
        str(log_dir),
        "--listen",
        f"127.0.0.1:{listen_port}",
        "--server-name",
        "localhost",
    ]
    for port in upstream_ports:
        cmd += ["--upstream", f"127.0.0.1:{port}"]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@dataclass
class Nginx:
    """A foreground nginx with its own prefix, pid, temp and log paths under `workdir`."""

    workdir: Path
    site: str
    port: int | None = None
    proc: subprocess.Popen | None = None
    conf: Path = field(init=False)

    def __post_init__(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        (self.workdir / "temp").mkdir(exist_ok=True)
        (self.workdir / "site.conf").write_text(self.site)
        d = self.workdir
        # As root the workers would switch to `nobody`, who cannot read the
        # tmp dirs; as any other user the directive is ignored.
        user = "user root;" if os.geteuid() == 0 else ""
        temps = "\n".join(
            f"    {kind}_temp_path {d}/temp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf = d / "nginx.conf"
        self.conf.write_text(f"""{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; text/css css; application/javascript js; image/svg+xml svg; }}
    default_type application/octet-stream;
{temps}
    access_log off;
    include {d}/site.conf;
}}
""")

    def command(self, *extra: str) -> list[str]:
        return [
            nginx_binary(),
            "-p",
            f"{self.workdir}/",
            "-c",
            str(self.conf),
            "-e",
            str(self.workdir / "logs" / "error.log"),
            *extra,
        ]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True)

    def start(self) -> Nginx:
        assert self.port is not None
        out = (self.workdir / "logs" / "stdout.log").open("ab")
        self.proc = subprocess.Popen(
            self.command("-g", "daemon off;"), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for_port(self.port, self.proc, log=self.workdir / "logs" / "error.log")
        return self

    def access_log(self) -> list[str]:
        path = self.workdir / "logs" / "hydronet.access.log"
        return path.read_text().splitlines() if path.exists() else []

    def logged(self, needle: str, timeout: float = 5.0) -> bool:
        """True once a line of the access log contains `needle` (nginx writes it after the response)."""
        deadline = time.monotonic() + timeout
        while needle not in "\n".join(self.access_log()):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def upstreams_used(self) -> Counter:
        """How many logged requests each app server answered (the `upstream=` field)."""
        return Counter(m.group(1) for line in self.access_log() if (m := re.search(r"upstream=(\S+)", line)))

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGQUIT)


class Processes:
    """Starts gunicorn/nginx children and stops every one of them at teardown."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.started: list = []

    def gunicorn(
        self,
        app: str = "stub_app:app",
        port: int | None = None,
        wait_path: str | None = "/api/health",
        pythonpath: Path | None = HERE,
        boot_timeout: float = 20.0,
        **env: str,
    ) -> Gunicorn:
        port = port or free_port()
        unit = Gunicorn(app, port, self.workdir / f"gunicorn-{port}.log", clean_env(**env), pythonpath)
        self.started.append(unit)
        return unit.start(wait_path, boot_timeout)

    def nginx(self, upstream_ports: list[int], root: Path) -> Nginx:
        port = free_port()
        workdir = self.workdir / f"nginx-{port}"
        site = render_site(root, port, upstream_ports, workdir / "logs")
        unit = Nginx(workdir, site, port)
        checked = unit.test_config()
        assert checked.returncode == 0, checked.stderr
        self.started.append(unit)
        return unit.start()

    def close(self) -> None:
        """Stop nginx first (it holds keep-alive connections to the apps), then all gunicorns at once."""
        for unit in self.started:
            if isinstance(unit, Nginx):
                unit.stop()
        apps = [unit.proc for unit in self.started if isinstance(unit, Gunicorn) and unit.proc]
        for proc in apps:
            _signal(proc, signal.SIGTERM)
        for proc in apps:
            _reap(proc)


def deploy_app(
    processes: Processes, env: dict[str, str], servers: int = 2, migrate: bool = True
) -> tuple[Nginx, list[Gunicorn]]:
    """deploy/migrate.sh, then app_saas:app on `servers` ports, then nginx in front (as install.sh does)."""
    if migrate:
        result = subprocess.run(
            ["bash", str(DEPLOY / "migrate.sh")],
            cwd=REPO,
            capture_output=True,
            text=True,
            env=clean_env(**env, HYDRONET_VENV=sys.prefix),
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    # The servers boot side by side; the real app's workers import wntr/matplotlib, which takes
    # tens of seconds when several workers start on a busy 2-core machine.
    with ThreadPoolExecutor(max_workers=servers) as pool:
        apps = list(
            pool.map(
                lambda _: processes.gunicorn("app_saas:app", pythonpath=None, boot_timeout=120, **env), range(servers)
            )
        )
    return processes.nginx([app.port for app in apps], REPO), apps


# --- PostgreSQL ----------------------------------------------------------------


def psql(url: str, sql: str, check: bool = True) -> str:
    """Run SQL with psql against `url` and return its unaligned output."""
    result = subprocess.run(
        ["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"psql failed: {result.stderr}")
    return result.stdout.strip()


def database_url(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"
