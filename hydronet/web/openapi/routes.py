"""/api/openapi.json: the OpenAPI 3.1 document of this API (public, built once per process)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from hydronet.auth.ratelimit import limiter
from hydronet.kernel.contracts import contract
from hydronet.web.openapi import build_document

bp = Blueprint("openapi", __name__, url_prefix="/api")


@bp.get("/openapi.json")
@limiter.exempt
@contract(
    ok={200: {"type": "object", "additionalProperties": True, "description": "This OpenAPI 3.1 document"}},
    rate_limited=False,
)
def document():
    """The OpenAPI document of the REST API."""
    cache: dict[str, Any] = current_app.extensions.setdefault("hydronet_openapi", {})
    if "document" not in cache:
        cache["document"] = build_document(current_app)
    resp = jsonify(cache["document"])
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
