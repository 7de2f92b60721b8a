"""The OpenAPI document of the REST API, generated from the URL map and the views' contracts."""

from __future__ import annotations

from hydronet.web.openapi.builder import api_rules, build_document, openapi_path

__all__ = ["api_rules", "build_document", "openapi_path"]
