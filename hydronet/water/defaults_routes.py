"""/api/tenant/analysis-defaults: the design inputs a tenant's analyses default to (storeys, fire flow, …)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.kernel.jsonio import iso
from hydronet.kernel.responses import ok
from hydronet.kernel.validation import json_body
from hydronet.water import tenant_defaults

bp = Blueprint("analysis_defaults", __name__, url_prefix="/api/tenant/analysis-defaults")


def _answer(described: dict[str, Any]):
    return ok(analysis_defaults={**described, "updated_at": iso(described["updated_at"])})


@bp.get("")
@require("tenant:read")
def get_defaults():
    """Each input with the tenant's value, the national default, its limits and the standard it comes from."""
    return _answer(tenant_defaults.describe(current_principal().tenant.id))


@bp.put("")
@require("tenant:update")
def put_defaults():
    """Replace the tenant's inputs: ``{"storeys": 4, "fire_flow_l_s": 20, …}``; omitted or null → national default.

    Every field is checked at once; out-of-range values answer 422 naming each field.
    """
    return _answer(tenant_defaults.replace(current_actor(), json_body()))
