"""Domain errors and the one JSON error shape every /api failure uses.

Services raise subclasses of :class:`ApiError`; :func:`register_error_handlers`
turns them (and every HTTPException under /api) into
``{"success": false, "error": {"code": ..., "message": ..., ...}}``.
"""
from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .metrics import note_rejection

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a snake_case code and optional extra fields."""

    status = 400
    code = "bad_request"
    message = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        """The body of the error response."""
        return {"success": False, "error": {"code": self.code, "message": self.message, **self.extra}}


class BadRequest(ApiError):
    status, code, message = 400, "bad_request", "Bad request"


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Authentication required"


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "You do not have permission to do this"


class NotFound(ApiError):
    status, code, message = 404, "not_found", "Not found"


class Conflict(ApiError):
    status, code, message = 409, "conflict", "Conflict"


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "Request body too large"


class ValidationError(ApiError):
    """422 with per-field messages in ``fields``."""

    status, code, message = 422, "validation_error", "Invalid input"

    def __init__(self, fields: dict[str, str] | None = None, message: str | None = None, **extra: Any) -> None:
        if fields and not message:
            message = "; ".join(f"{k}: {v}" for k, v in fields.items())
        super().__init__(message, fields=fields or {}, **extra)


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "Too many requests"


class QuotaExceeded(ApiError):
    """429 naming the quota, its limit, the amount used and when it resets."""

    status, code, message = 429, "quota_exceeded", "Quota exceeded"

    def __init__(self, quota: str, limit: int, used: int, resets_at: str | None) -> None:
        super().__init__(
            f"Quota '{quota}' exceeded ({used}/{limit})",
            quota=quota,
            limit=limit,
            used=used,
            resets_at=resets_at,
        )


class ServiceUnavailable(ApiError):
    status, code, message = 503, "service_unavailable", "Service temporarily unavailable"


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


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
    """Build a Flask response in the one error shape."""
    resp = jsonify({"success": False, "error": {"code": code, "message": message, **extra}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


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
            return err
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
        return error_response(503, "store_unavailable", "A required service is temporarily unavailable; "
                              "try again in a few seconds", {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if isinstance(err, HTTPException):
            return _http_error(err)
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Internal server error"
        if app.debug:
            message = f"{type(err).__name__}: {err}"
        return error_response(500, "internal_error", message)
