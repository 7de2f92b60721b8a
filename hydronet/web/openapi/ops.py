"""What the registry says about one endpoint: body, query parameters, success and extra error answers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydronet.web.openapi.schemas import Schema

JSON = "application/json"


@dataclass(frozen=True)
class Op:
    """Request and response description of one endpoint (all its rules and methods)."""

    ok: dict[int, Schema]  # success status → body schema (of ``ok_media``)
    ok_media: str = JSON
    body: Schema | None = None  # JSON request body
    body_required: bool = True
    body_media: dict[str, Schema] = field(default_factory=dict)  # other request media types (multipart, XML)
    query: tuple[dict[str, Any], ...] = ()  # query (or header) parameters
    path: dict[str, Schema] = field(default_factory=dict)  # path parameter schemas (default: non-empty string)
    errors: tuple[int, ...] = ()  # statuses beyond those the builder adds from the route itself
    also: dict[int, dict[str, Schema]] = field(default_factory=dict)  # extra media types per status
    rate_limited: bool = True  # the default per-caller /api limit applies
    text_errors: tuple[int, ...] = ()  # statuses answered in plain text, not the JSON error shape
    security: tuple[str, ...] | None = None  # scheme names when the view authenticates by itself (cookies)
    same_auth_as: str | None = None  # endpoint whose `require()` the view runs (it calls that view)
    description: str = ""


def q(name: str, schema: Schema, description: str = "", *, required: bool = False) -> dict[str, Any]:
    """A query parameter."""
    param: dict[str, Any] = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        param["description"] = description
    return param


def bounded_int(minimum: int, maximum: int, default: int) -> Schema:
    """An integer query parameter checked by ``validation.query_int``."""
    return {"type": "integer", "minimum": minimum, "maximum": maximum, "default": default}


CURSOR = q("cursor", {"type": "string"}, "opaque cursor from the previous page's next_cursor")
