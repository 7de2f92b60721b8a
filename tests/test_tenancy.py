"""Tenant scoping is a mechanism: queries without a tenant filter still see one tenant."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import TenantViolation, all_tenants, bind_tenant
from hydronet.models import Conversation, User


def _conversation(tenant, user, title):
    c = Conversation(tenant_id=tenant.id, user_id=user.id, title=title)
    db.session.add(c)
    return c


def test_unfiltered_query_sees_only_bound_tenant(app, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    with app.app_context(), all_tenants(db.session):
        _conversation(a, two_tenants["a_users"]["owner"], "A1")
        _conversation(b, two_tenants["b_owner"], "B1")
        db.session.commit()
    with app.app_context():
        bind_tenant(db.session, a.id)
        titles = [c.title for c in db.session.execute(select(Conversation)).scalars()]
        assert titles == ["A1"]
        emails = {u.email for u in db.session.execute(select(User)).scalars()}
        assert two_tenants["b_owner"].email not in emails


def test_get_by_id_of_other_tenant_returns_none(app, two_tenants):
    with app.app_context(), all_tenants(db.session):
        other = _conversation(two_tenants["b"], two_tenants["b_owner"], "secret")
        db.session.commit()
        other_id = other.id
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        assert db.session.get(Conversation, other_id) is None


def test_explicit_escape_sees_all(app, two_tenants):
    with app.app_context(), all_tenants(db.session):
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "A1")
        _conversation(two_tenants["b"], two_tenants["b_owner"], "B1")
        db.session.commit()
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        with all_tenants(db.session):
            assert db.session.query(Conversation).count() == 2
        assert db.session.query(Conversation).count() == 1


def test_write_into_other_tenant_refused(app, two_tenants):
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        _conversation(two_tenants["b"], two_tenants["b_owner"], "sneaky")
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()
