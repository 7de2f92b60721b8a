"""The exceptions services raise: each carries its HTTP status, a snake_case code and a message.

web/errors.py turns them (and every HTTPException under /api) into the one
JSON error shape ``{"success": false, "error": {"code": ..., "message": ..., ...}}``.
"""

from __future__ import annotations

from typing import Any


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


class DatabaseUnavailable(ServiceUnavailable):
    """503: the database connection failed (terminated, failover, refused); safe to retry shortly."""

    code, message = "database_unavailable", "The database is temporarily unavailable; try again in a few seconds"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "2"})


class StoreUnavailable(ServiceUnavailable):
    """503: the shared store (Redis) is unreachable; requests that need it fail closed."""

    code, message = "store_unavailable", "A required service is temporarily unavailable; try again in a few seconds"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "5"})
