"""Tenant scoping is a mechanism: queries without a tenant filter still see one tenant."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import TenantViolation, all_tenants, bind_tenant, checked_tenant, current_tenant_id
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


def test_nested_escapes_end_with_the_outermost(app, two_tenants):
    with app.app_context(), all_tenants(db.session):
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "A1")
        _conversation(two_tenants["b"], two_tenants["b_owner"], "B1")
        db.session.commit()
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        with all_tenants(db.session):
            with all_tenants(db.session):
                assert db.session.query(Conversation).count() == 2
            assert db.session.query(Conversation).count() == 2  # the outer escape still holds
        assert db.session.query(Conversation).count() == 1
        assert current_tenant_id(db.session) == two_tenants["a"].id


def test_rebinding_moves_the_scope(app, two_tenants):
    with app.app_context(), all_tenants(db.session):
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "A1")
        _conversation(two_tenants["b"], two_tenants["b_owner"], "B1")
        db.session.commit()
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        assert [c.title for c in db.session.query(Conversation)] == ["A1"]
        bind_tenant(db.session, two_tenants["b"].id)  # same transaction
        assert [c.title for c in db.session.query(Conversation)] == ["B1"]


def test_core_statements_take_only_the_bound_tenant(app, two_tenants):
    a, b = two_tenants["a"].id, two_tenants["b"].id
    with app.app_context():
        assert checked_tenant(db.session, b) == b  # not scoped yet: nothing to compare with
        bind_tenant(db.session, a)
        assert checked_tenant(db.session, a) == a
        with pytest.raises(TenantViolation):
            checked_tenant(db.session, b)
        with all_tenants(db.session):
            assert checked_tenant(db.session, b) == b


def test_writes_inside_the_escape_may_touch_any_tenant_and_new_rows_take_the_bound_one(app, two_tenants):
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        with all_tenants(db.session):
            _conversation(two_tenants["b"], two_tenants["b_owner"], "B via escape")
            db.session.flush()
        unowned = Conversation(user_id=two_tenants["a_users"]["owner"].id, title="no tenant given")
        db.session.add(unowned)
        db.session.flush()
        assert unowned.tenant_id == two_tenants["a"].id
        db.session.rollback()
