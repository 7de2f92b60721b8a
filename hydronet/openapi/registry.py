"""Every documented endpoint, by endpoint name (blueprint.view)."""
from __future__ import annotations

from .endpoints import CORE
from .endpoints_admin import ADMIN
from .endpoints_integrations import INTEGRATIONS
from .endpoints_networks import ANALYSIS_PARAMS, NETWORKS
from .endpoints_web import WEB
from .ops import Op
from .schemas import Schema


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
