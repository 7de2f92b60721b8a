"""/api/tenant/analysis-defaults: the design inputs a tenant's analyses default to (storeys, fire flow, …)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.kernel.contracts import contract
from hydronet.kernel.jsonio import iso
from hydronet.kernel.responses import ok
from hydronet.kernel.validation import json_body
from hydronet.water import tenant_defaults
from hydronet.water.schemas import DefaultsAnswer, DefaultsBody

bp = Blueprint("analysis_defaults", __name__, url_prefix="/api/tenant/analysis-defaults")


def _answer(described: dict[str, Any]):
    return ok(analysis_defaults={**described, "updated_at": iso(described["updated_at"])})


@bp.get("")
@require("tenant:read")
@contract(
    ok={200: DefaultsAnswer},
    description="The design inputs the tenant's analyses default to: each with the tenant's value, the national "
    "default, its limits and the standard it comes from (GB 50013-2018, GB 55036-2022, …).",
)
def get_defaults():
    """Each input with the tenant's value, the national default, its limits and the standard it comes from."""
    return _answer(tenant_defaults.describe(current_principal().tenant.id))


@bp.put("")
@require("tenant:update")
@contract(
    body=DefaultsBody,
    ok={200: DefaultsAnswer},
    errors=(422,),
    parse_input=False,  # the service checks it
    description="Replace the tenant's inputs (tenant:update): an input omitted or null is the national default "
    "again. Out-of-range values answer 422 naming each field. Audited as "
    "tenant.analysis_defaults.update. Every analysis then takes the parameters a request omits from "
    "these inputs, and its settings.defaults name each value's origin (standard, tenant, request).",
)
def put_defaults():
    """Replace the tenant's inputs: ``{"storeys": 4, "fire_flow_l_s": 20, …}``; omitted or null → national default.

    Every field is checked at once; out-of-range values answer 422 naming each field.
    """
    return _answer(tenant_defaults.replace(current_actor(), json_body()))
