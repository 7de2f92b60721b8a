"""Every documented endpoint, by endpoint name (blueprint.view)."""
from __future__ import annotations

from hydronet.web.openapi.endpoints import CORE
from hydronet.web.openapi.endpoints_admin import ADMIN
from hydronet.web.openapi.endpoints_integrations import INTEGRATIONS
from hydronet.web.openapi.endpoints_networks import ANALYSIS_PARAMS, NETWORKS
from hydronet.web.openapi.endpoints_web import WEB
from hydronet.web.openapi.ops import Op
from hydronet.web.openapi.schemas import Schema


def _merge(*parts: dict[str, Op]) -> dict[str, Op]:
    merged: dict[str, Op] = {}
    for part in parts:
        clash = merged.keys() & part.keys()
        if clash:
            raise RuntimeError(f"endpoints documented twice: {sorted(clash)}")
        merged.update(part)
    return merged


REGISTRY: dict[str, Op] = _merge(CORE, WEB, ADMIN, INTEGRATIONS, NETWORKS)
EXTRA_SCHEMAS: dict[str, Schema] = dict(ANALYSIS_PARAMS)  # component schemas generated from the code
