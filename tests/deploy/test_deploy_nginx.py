"""deploy/nginx/hydronet.conf, rendered and run by a real nginx in front of two gunicorns."""

from __future__ import annotations

import gzip
import re
import signal
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from deploy_support import DEPLOY, Gunicorn, Nginx, free_port, read_stream, render_site, request

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(60)]

CHAT = "/api/chat/conversations/4f1c2a/messages"
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def test_rendered_config_passes_nginx_t(tmp_path):
    (tmp_path / "logs").mkdir()
    site = render_site(tmp_path / "root", free_port(), [free_port(), free_port()], tmp_path / "logs")
    assert f"alias {tmp_path / 'root'}/static/;" in site and site.count("    server 127.0.0.1:") == 2
    result = Nginx(tmp_path / "nginx", site).test_config()
    assert result.returncode == 0, result.stderr


def test_shipped_file_passes_nginx_t_as_is(tmp_path):
    """Only the log directory is moved (nginx -t opens log files); paths and ports stay the defaults."""
    (tmp_path / "logs").mkdir()
    site = (DEPLOY / "nginx" / "hydronet.conf").read_text()
    site = site.replace("/var/log/nginx/", f"{tmp_path}/logs/")
    result = Nginx(tmp_path / "nginx", site).test_config()
    assert result.returncode == 0, result.stderr


def test_renderer_rejects_values_that_would_inject_directives(tmp_path):
    import subprocess

    result = subprocess.run(
        ["bash", str(DEPLOY / "render_nginx.sh"), "--root", "/srv/x; include /etc/passwd"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "unsafe" in result.stderr


@dataclass
class Stack:
    nginx: Nginx
    apps: list[Gunicorn]
    root: Path

    def get(self, path, **kwargs):
        return request(self.nginx.port, "GET", path, **kwargs)


@pytest.fixture(scope="module")
def stack(module_processes, tmp_path_factory):
    """nginx on a free port in front of stub apps "a" and "b" (one gevent worker each)."""
    root = tmp_path_factory.mktemp("hydronet-root")
    (root / "static").mkdir()
    (root / "static" / "app.js").write_text("console.log('hydronet');\n" * 200)
    (root / "static" / "app.3f9c2b7a.js").write_text("console.log('hashed');\n")
    (root / "secret.txt").write_text("outside static")
    apps = [module_processes.gunicorn(STUB_INSTANCE=name, GUNICORN_WORKERS="1") for name in ("a", "b")]
    nginx = module_processes.nginx([app.port for app in apps], root)
    return Stack(nginx, apps, root)


def test_health_through_nginx_carries_one_request_id_end_to_end(stack):
    resp = stack.get("/api/health", headers={"X-Request-ID": "client-chosen"})
    assert resp.status == 200
    ids = resp.headers.get_all("X-Request-ID")
    assert len(ids) == 1 and REQUEST_ID.match(ids[0])  # nginx's id; the app's own copy is hidden
    seen = resp.json()
    assert seen["status"] == "healthy"
    assert seen["request_id"] == ids[0]  # the app saw the same id
    assert seen["real_ip"] == "127.0.0.1" and seen["forwarded_for"] == "127.0.0.1"
    assert seen["forwarded_proto"] == "http"
    assert seen["host"] == "127.0.0.1"
    assert stack.nginx.logged(f"rid={ids[0]}")


def test_requests_spread_over_both_app_servers(stack):
    served = Counter(stack.get("/api/health").json()["instance"] for _ in range(20))
    assert set(served) == {"a", "b"}, served
    upstreams = set(stack.nginx.upstreams_used())
    assert {f"127.0.0.1:{app.port}" for app in stack.apps} <= upstreams


def test_static_files_are_served_by_nginx_with_cache_headers(stack):
    plain = stack.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert plain.status == 200 and gzip.decompress(plain.body).startswith(b"console.log('hydronet')")
    assert plain.headers["Content-Encoding"] == "gzip"
    assert plain.headers["Cache-Control"] == "max-age=3600"
    assert REQUEST_ID.match(plain.headers["X-Request-ID"])

    hashed = stack.get("/static/app.3f9c2b7a.js")
    assert hashed.status == 200 and hashed.body == b"console.log('hashed');\n"
    cache = ", ".join(hashed.headers.get_all("Cache-Control"))
    assert "max-age=31536000" in cache and "immutable" in cache
    assert REQUEST_ID.match(hashed.headers["X-Request-ID"])

    assert stack.get("/static/../secret.txt").status in (400, 404)
    assert stack.get("/static/missing.js").status == 404


def test_json_is_gzipped_but_event_streams_are_not(stack):
    big = stack.get("/big.json", headers={"Accept-Encoding": "gzip"})
    assert big.headers["Content-Encoding"] == "gzip"
    assert b'"pipe-799"' in gzip.decompress(big.body)
    for path in (CHAT + "?count=2&interval=0", "/stream?count=2&interval=0&accel=no"):
        method = "POST" if path.startswith(CHAT) else "GET"
        resp = request(stack.nginx.port, method, path, headers={"Accept-Encoding": "gzip"})
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert resp.headers.get("Content-Encoding") is None
        assert resp.body.count(b"data: ") == 2


def test_upload_limit_is_20_megabytes(stack):
    ok = request(stack.nginx.port, "POST", "/upload", body=b"x" * (2 * 1024 * 1024))
    assert ok.status == 200 and ok.json()["received"] == 2 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", stack.nginx.port), timeout=10) as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 20971521\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        assert sock.recv(200).startswith(b"HTTP/1.1 413")


def assert_streamed(start, arrivals, data, count, interval):
    """Each event reached the client when the app produced it, not all at the end."""
    assert len(arrivals) == count, data[-500:]
    sent = [float(s) for s in re.findall(rb'"sent": ([0-9.]+)', data)]
    assert len(sent) == count
    lags = [arrived - produced for arrived, produced in zip(arrivals, sent, strict=True)]
    assert max(lags) < 0.3, lags
    assert arrivals[0] - start < 0.5
    assert arrivals[-1] - arrivals[0] >= (count - 1) * interval * 0.8


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", CHAT + "?count=5&interval=0.4"),
        ("GET", "/mcp?count=5&interval=0.4"),
        ("GET", "/stream?count=5&interval=0.4&accel=no"),  # any route may opt out of buffering
    ],
)
def test_streams_arrive_chunk_by_chunk(stack, method, path):
    assert_streamed(*read_stream(stack.nginx.port, method, path), count=5, interval=0.4)


def test_one_app_server_stopping_is_invisible_to_clients(stack):
    """`systemctl stop/restart hydronet@5000`: nginx moves every request to the other server.

    Runs last in this module: the stopped server stays down.
    """
    first = stack.apps[0]
    first.signal(signal.SIGTERM)  # stops listening at once, then drains its workers
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", first.port), timeout=0.2).close()
            time.sleep(0.05)
        except OSError:
            break
    statuses = [stack.get("/api/health").status for _ in range(8)]
    posted = request(stack.nginx.port, "POST", "/upload", body=b"abc")
    assert statuses == [200] * 8
    assert posted.status == 200  # refused connection: nothing was sent, so even a POST is retried
    retried = f"upstream=127.0.0.1:{first.port}, 127.0.0.1:{stack.apps[1].port} "
    assert stack.nginx.logged(retried)
