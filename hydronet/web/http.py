"""Per-request plumbing: request ids, security headers, CORS allow-list, access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface

from hydronet.kernel.errors import ValidationError
from hydronet.kernel.metrics import observe_request
from hydronet.kernel.validation import text_problem

log = logging.getLogger("hydronet.access")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session with its signing serializer built once per set of keys.

    Flask opens the session on every request and builds a new serializer each
    time it does, although the keys only change with the configuration.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple, object] = {}

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer


def init_http(app: Flask) -> None:
    """Register before/after request hooks."""
    app.session_interface = SessionInterface()

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        if request.path.startswith("/api"):
            fields = {}
            for name, value in request.args.items(multi=True):
                bad_name = text_problem(name)
                problem = bad_name or text_problem(value)
                if problem:
                    fields["query" if bad_name else name] = problem
            if fields:
                raise ValidationError(
                    message=f"Query parameter(s) {', '.join(sorted(fields))}: {next(iter(fields.values()))}",
                    fields=fields,
                )

    @app.after_request
    def _finish(resp):
        resp.headers["X-Request-ID"] = g.get("request_id", "")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Content-Security-Policy", CSP)
        if request.is_secure:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        _cors(app, resp)
        duration = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        if not request.path.startswith("/static"):
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                resp.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": resp.status_code,
                    "duration_ms": round(duration, 2),
                },
            )

        observe_request(
            request.url_rule.rule if request.url_rule else "<unmatched>",
            request.method,
            resp.status_code,
            duration / 1000,
        )
        return resp


def _cors(app: Flask, resp) -> None:
    origin = request.headers.get("Origin")
    allowed = app.config.get("CORS_ORIGINS") or []
    if origin and (origin in allowed or "*" in allowed):
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Vary"] = "Origin"
        resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Request-ID"
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
