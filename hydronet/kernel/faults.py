"""Which failures mean a backing service is unavailable (503, retry later) rather than a bug (500)."""

from __future__ import annotations

import redis
from sqlalchemy import exc as sa_exc

from hydronet.kernel.errors import ApiError, DatabaseUnavailable, StoreUnavailable


def is_database_unavailable(exc: BaseException) -> bool:
    """True for a failed or lost database connection (not for a bad statement)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def is_store_unavailable(exc: BaseException) -> bool:
    """True when Redis could not be reached or did not answer in time."""
    return isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))


def as_api_error(exc: BaseException) -> ApiError:
    """The API error a failure answers with: 503s for unavailable services, else a plain 500."""
    if isinstance(exc, ApiError):
        return exc
    if is_database_unavailable(exc):
        return DatabaseUnavailable()
    if is_store_unavailable(exc):
        return StoreUnavailable()
    return ApiError("Internal server error", code="internal_error", status=500)
