"""A tenant's analysis defaults: the design inputs (storeys, fire flow, leak size, …) it changed from the
national standards. Every analysis of the tenant takes its omitted parameters from them.

Stored as one row per tenant holding only the inputs the tenant set; an input left out is the
national default of :mod:`hydronet.water.standards`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hydronet.auth.actor import Actor
from hydronet.kernel import audit
from hydronet.kernel.db import db
from hydronet.kernel.errors import ValidationError
from hydronet.models import AnalysisDefaults
from hydronet.water import standards as gb
from hydronet.water.standards import Standards

log = logging.getLogger(__name__)


def _row(tenant_id: uuid.UUID) -> AnalysisDefaults | None:
    return db.session.execute(
        select(AnalysisDefaults).where(AnalysisDefaults.tenant_id == tenant_id)
    ).scalar_one_or_none()


def _usable(tenant_id: uuid.UUID, values: Mapping[str, Any]) -> dict[str, Any]:
    """The stored inputs that are still valid (limits may tighten after a value was stored)."""
    wrong = gb.problems(values)
    if wrong:
        log.warning("tenant %s: stored analysis defaults ignored (%s)", tenant_id, wrong)
    return {key: value for key, value in values.items() if key not in wrong}


def load(tenant_id: uuid.UUID) -> Standards:
    """The standards the tenant's analyses use: the national defaults overridden by the tenant's inputs."""
    row = _row(tenant_id)
    return gb.defaults_from(_usable(tenant_id, row.values or {}) if row else None)


def describe(tenant_id: uuid.UUID) -> dict[str, Any]:
    """What the API and the settings form show: each input with its value, national default, limits and source."""
    row = _row(tenant_id)
    overrides = _usable(tenant_id, row.values or {}) if row else {}
    standards = gb.defaults_from(overrides)
    return {
        "fields": gb.describe(standards),
        "overrides": overrides,
        "service_head_m": standards.service_head_m,
        "updated_at": row.updated_at if row else None,
        "updated_by": str(row.updated_by) if row and row.updated_by else None,
    }


def replace(actor: Actor, values: Mapping[str, Any]) -> dict[str, Any]:
    """Store ``values`` as the tenant's inputs (an input omitted or null is the national default again); audited.

    A value equal to the national default is stored as no override, so the results keep naming the standard.
    """
    assert actor.tenant is not None
    given = {key: value for key, value in values.items() if value is not None}
    wrong = gb.problems(given) | gb.problems({key: 0 for key in values if key not in gb.FIELDS})
    if wrong:
        raise ValidationError(wrong)
    standards = gb.defaults_from(given)
    overrides = {key: getattr(standards, key) for key in given if getattr(standards, key) != getattr(gb.NATIONAL, key)}
    try:
        _store(actor, overrides)
    except IntegrityError:  # a concurrent first save inserted the tenant's row: update that one instead
        db.session.rollback()
        _store(actor, overrides)
    return describe(actor.tenant.id)


def _store(actor: Actor, overrides: dict[str, Any]) -> None:
    """Write the tenant's row (inserted on its first save) and audit a change; commits."""
    assert actor.tenant is not None
    row = _row(actor.tenant.id)
    before = dict(row.values or {}) if row else {}
    if row is None:
        row = AnalysisDefaults(tenant_id=actor.tenant.id, values=overrides)
        db.session.add(row)
    row.values = overrides
    row.updated_by = actor.user.id if actor.user else None
    if before != overrides:
        audit.record(
            actor,
            "tenant.analysis_defaults.update",
            target_type="tenant",
            target_id=actor.tenant.id,
            details={"from": before, "to": overrides},
        )
    db.session.commit()
