"""The OpenAPI document of the REST API, generated from the URL map and the endpoint registry."""
from __future__ import annotations

from hydronet.web.openapi.builder import api_rules, build_document, openapi_path
from hydronet.web.openapi.registry import REGISTRY

__all__ = ["REGISTRY", "api_rules", "build_document", "openapi_path"]
