"""The two JSON response shapes: ``{"success": true, ...}`` and the one error shape."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def ok(status: int = 200, **body: Any) -> Response:
    """A success response: ``{"success": true, ...body}``."""
    resp = jsonify({"success": True, **body})
    resp.status_code = status
    return resp


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """An error response: ``{"success": false, "error": {"code", "message", ...extra}}``."""
    resp = jsonify({"success": False, "error": {"code": code, "message": message, **extra}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
