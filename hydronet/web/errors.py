"""Flask error handlers: every failure under /api answers in the one JSON error shape.

Services raise kernel.errors.ApiError subclasses; HTTP errors (404, 405, 413 …),
an unreachable Redis and unexpected exceptions are mapped here too.  Browser
routes get the styled error page (ui.error_page) in the reader's language.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, request
from werkzeug.exceptions import HTTPException

from hydronet.kernel.errors import ApiError, DatabaseUnavailable, QuotaExceeded, StoreUnavailable
from hydronet.kernel.faults import is_database_unavailable
from hydronet.kernel.metrics import note_rejection
from hydronet.kernel.responses import error_response
from hydronet.web.ui import error_page

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def _wants_json() -> bool:
    return request.path.startswith("/api") or request.path.startswith("/mcp") or request.is_json


def register_error_handlers(app: Flask) -> None:
    """Map ApiError and HTTPException to the JSON shape (for /api paths)."""

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        if err.status == 429:  # metrics: a quota refusal is not a rate-limit refusal
            note_rejection(err.code, err.extra.get("quota") if isinstance(err, QuotaExceeded) else None)
        return error_response(err.status, err.code, err.message, err.headers, **err.extra)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if not _wants_json():
            if request.path.startswith("/static/") or (err.code or 500) < 400:
                return err  # a missing asset needs no page; redirects stay redirects
            return error_page(err.code or 500)
        code = _HTTP_CODES.get(err.code or 500, "http_error")
        message = err.description or err.name
        if err.code == 400 and "JSON" in (message or ""):
            code = "malformed_json"
        headers = {}
        if err.code == 405 and err.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(err.valid_methods)  # type: ignore[attr-defined]
        resp = error_response(err.code or 500, code, message, headers)
        return resp

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    def _store_down(err: Exception):
        # Degraded mode without Redis: rate limits fall back to per-process memory
        # (flask-limiter), but token revocation, refresh rotation, login backoff and
        # quota reservations cannot be checked safely, so those requests fail closed.
        log.error("shared store (Redis) unreachable on %s %s: %s", request.method, request.path, type(err).__name__)
        unavailable = StoreUnavailable()
        return error_response(unavailable.status, unavailable.code, unavailable.message, unavailable.headers)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if isinstance(err, HTTPException):
            return _http_error(err)
        if is_database_unavailable(err):
            # a terminated connection, a failover, a refused connect: the pool replaces the connection;
            # the client may retry (db_retry.py already retried once when nothing had been written)
            log.error("database unavailable on %s %s: %s", request.method, request.path, type(err).__name__)
            unavailable = DatabaseUnavailable()
            return error_response(unavailable.status, unavailable.code, unavailable.message, unavailable.headers)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return error_page(500)
        message = "Internal server error"
        if app.debug:
            message = f"{type(err).__name__}: {err}"
        return error_response(500, "internal_error", message)
