"""Rows by the id a client sent: a malformed id and an unknown (or another tenant's) id are both 404."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from hydronet.kernel.db import db
from hydronet.kernel.errors import NotFound

M = TypeVar("M")


def parse_id(value: Any, what: str) -> uuid.UUID:
    """``value`` as a UUID, or 404 "<what> not found" (a malformed id names nothing that exists)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what} not found") from None


def get_or_404(model: type[M], value: Any, what: str, *, tenant_id: uuid.UUID | None = None) -> M:
    """The ``model`` row with this id through the (tenant-scoped) session, or 404.

    ``tenant_id`` adds an explicit check for callers that may run outside a
    request's tenant binding (jobs, workers).
    """
    row = db.session.get(model, parse_id(value, what))
    if row is None or (tenant_id is not None and getattr(row, "tenant_id", None) != tenant_id):
        raise NotFound(f"{what} not found")
    return row
