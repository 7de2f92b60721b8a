"""CPU-bound request work leaves the gevent event loop (hydronet.kernel.cpu), on the real app under gunicorn.

One gevent worker: while it parses a large .inp with a bad line near its end, an unrelated
``/api/health`` on the same worker still answers at once, and the upload still gets its 422.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from deploy_support import deploy_app, request

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(300)]

PIPES = 12_000  # WNTR needs about a second or more for this many elements: long enough to probe the worker


def large_bad_inp(count: int) -> bytes:
    """A chain of ``count`` pipes from a reservoir whose last pipe has a length that is not a number."""
    junctions = [f" J{i}\t{10 + i % 7}\t{0.1 if i % 3 else 0}" for i in range(count)]
    pipes = [f" P{i}\t{'R1' if i == 0 else f'J{i - 1}'}\tJ{i}\t100\t300\t100" for i in range(count)]
    pipes[-1] = f" P{count - 1}\tJ{count - 2}\tJ{count - 1}\tthree-hundred\t300\t100"
    lines = [
        "[TITLE]",
        "one bad line at the end",
        "[JUNCTIONS]",
        *junctions,
        "[RESERVOIRS]",
        " R1\t100",
        "[PIPES]",
        *pipes,
        "[OPTIONS]",
        " Units LPS",
        "[END]",
        "",
    ]
    return "\n".join(lines).encode()


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field, and its content type."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def one_worker(app_env, module_processes):
    """The real app on one gevent worker (nginx in front is not used here) and a signed-in tenant."""
    _, (app,) = deploy_app(module_processes, {**app_env, "GUNICORN_WORKERS": "1"}, servers=1)
    body = json.dumps(
        {
            "email": f"cpu-{uuid.uuid4().hex[:8]}@example.com",
            "password": "Pipe-Network-2026!",
            "tenant_name": "CPU pool",
        }
    ).encode()
    registered = request(
        app.port, "POST", "/api/auth/register", body=body, headers={"Content-Type": "application/json"}
    )
    assert registered.status in (200, 201), registered.body
    return app, registered.json()["access_token"]


def test_health_answers_while_a_large_bad_upload_is_parsed(one_worker):
    app, token = one_worker
    body, content_type = multipart("big.inp", large_bad_inp(PIPES))
    outcome: dict[str, object] = {}

    def upload() -> None:
        started = time.monotonic()
        outcome["response"] = request(
            app.port,
            "POST",
            "/api/networks",
            body=body,
            timeout=240,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        outcome["seconds"] = time.monotonic() - started

    uploading = threading.Thread(target=upload)
    uploading.start()
    health: list[float] = []
    while uploading.is_alive():
        started = time.monotonic()
        assert request(app.port, "GET", "/api/health", timeout=30).status == 200
        health.append(time.monotonic() - started)
        time.sleep(0.1)
    uploading.join()

    response = outcome["response"]
    assert response.status == 422, response.body
    error = response.json()["error"]
    assert error["line"] == 6 + 2 * PIPES and error["section"] == "[PIPES]", error
    # the parse lasted long enough to probe the worker several times meanwhile, each answered at once
    assert outcome["seconds"] > 0.5 and len(health) >= 5, (outcome, health)
    print(f"upload {outcome['seconds']:.1f} s, {len(health)} health checks meanwhile, slowest {max(health):.3f} s")
    assert max(health) < 0.5, health
