"""A tiny WSGI app standing in for HydroNet in the deploy tests.

It answers on the paths nginx treats specially (the chat stream, /mcp, the
rest), reports which instance and worker served a request, and can be slow on
purpose, so the tests exercise nginx and gunicorn without the real app.
Run by gunicorn as ``stub_app:app`` with ``--pythonpath tests/deploy``.
"""

from __future__ import annotations

import json
import os
import re
import time
from urllib.parse import parse_qs

INSTANCE = os.environ.get("STUB_INSTANCE", "stub")
CHAT_PATH = re.compile(r"^/api/chat/conversations/[^/]+/messages$")


def _json(start_response, payload, status="200 OK", headers=()):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]


def _sse(start_response, count, interval, headers=()):
    """Send `count` events `interval` seconds apart, each stamped with its send time."""
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), *headers])

    def events():
        for index in range(count):
            if index:
                time.sleep(interval)
            yield f"data: {json.dumps({'i': index, 'sent': time.time()})}\n\n".encode()

    return events()


def _describe(environ):
    """What the app saw of the request: instance, pid and proxy headers."""
    return {
        "status": "healthy",
        "instance": INSTANCE,
        "pid": os.getpid(),
        "request_id": environ.get("HTTP_X_REQUEST_ID"),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "real_ip": environ.get("HTTP_X_REAL_IP"),
        "forwarded_proto": environ.get("HTTP_X_FORWARDED_PROTO"),
        "host": environ.get("HTTP_HOST"),
        "url_scheme": environ.get("wsgi.url_scheme"),
    }


def app(environ, start_response):
    """Route a request to one of the test behaviours."""
    path = environ.get("PATH_INFO", "")
    query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    count = int(query.get("count", 5))
    interval = float(query.get("interval", 0.5))

    if path == "/api/health":
        return _json(start_response, _describe(environ), headers=[("X-Request-ID", "set-by-app")])
    if path == "/slow":
        started = time.time()
        time.sleep(float(query.get("seconds", 1)))
        return _json(start_response, {"pid": os.getpid(), "started": started, "done": time.time()})
    if CHAT_PATH.match(path) or path == "/mcp" or path.startswith("/mcp/"):
        return _sse(start_response, count, interval)
    if path == "/stream":
        extra = [("X-Accel-Buffering", "no")] if query.get("accel") == "no" else []
        return _sse(start_response, count, interval, headers=extra)
    if path == "/big.json":
        return _json(start_response, {"rows": [{"id": i, "name": f"pipe-{i}"} for i in range(800)]})
    if path == "/upload":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        received = len(environ["wsgi.input"].read(length)) if length else 0
        return _json(start_response, {"received": received})
    if path == "/psycopg":
        import psycopg2.extensions

        callback = psycopg2.extensions.get_wait_callback()
        return _json(start_response, {"wait_callback": getattr(callback, "__module__", None)})
    return _json(start_response, {"error": "not found"}, status="404 Not Found")
