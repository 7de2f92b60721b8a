"""Tenant scoping is a mechanism: queries without a tenant filter still see one tenant."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hydronet.kernel.db import db, uuid7
from hydronet.kernel.tenancy import TenantViolation, all_tenants, bind_tenant, current_tenant_id
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


# --- Core statements: the tenant predicate is added by the mechanism ------------------------------

def test_core_statement_on_a_tenant_table_outside_the_helper_is_refused(app, two_tenants):
    """A hand-written Core SELECT with no tenant filter cannot run, on SQLite as on PostgreSQL."""
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        with pytest.raises(TenantViolation, match="conversations"):
            db.session.connection().execute(select(Conversation.__table__.c.title))
        with pytest.raises(TenantViolation):  # a join hides the table no better
            db.session.connection().execute(
                select(User.__table__.c.email).join_from(User.__table__, Conversation.__table__,
                                                         User.__table__.c.id == Conversation.__table__.c.user_id))
        db.session.rollback()


def test_scoped_core_statement_sees_only_the_bound_tenant(app, two_tenants):
    from hydronet.kernel import tenancy

    with app.app_context(), all_tenants(db.session):
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "A1")
        _conversation(two_tenants["b"], two_tenants["b_owner"], "B1")
        db.session.commit()
    stmt = tenancy.scoped(select(Conversation.__table__.c.title), Conversation.__table__)
    with app.app_context():
        bind_tenant(db.session, two_tenants["b"].id)
        assert [r.title for r in tenancy.execute(db.session, stmt)] == ["B1"]
        bind_tenant(db.session, None)
        with pytest.raises(TenantViolation, match="bound tenant"):
            tenancy.execute(db.session, stmt)
        db.session.rollback()


def test_core_insert_takes_the_bound_tenant_and_refuses_another(app, two_tenants):
    from hydronet.kernel import tenancy

    a, b = two_tenants["a"], two_tenants["b"]
    owner = two_tenants["a_users"]["owner"]
    insert = Conversation.__table__.insert()
    row = {"user_id": owner.id, "title": "core", "channel": "web", "archived": False, "message_count": 0}
    with app.app_context():
        bind_tenant(db.session, a.id)
        tenancy.execute(db.session, insert, [dict(row, id=uuid7())])
        with pytest.raises(TenantViolation, match="another tenant"):
            tenancy.execute(db.session, insert, [dict(row, id=uuid7(), tenant_id=b.id)])
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        assert {c.tenant_id for c in db.session.query(Conversation).filter_by(title="core")} == {a.id}


def test_orm_bulk_update_is_scoped_to_the_bound_tenant(app, two_tenants):
    from sqlalchemy import update

    with app.app_context(), all_tenants(db.session):
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "A1")
        _conversation(two_tenants["b"], two_tenants["b_owner"], "B1")
        db.session.commit()
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        db.session.execute(update(Conversation).values(title="renamed"))
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        assert sorted(c.title for c in db.session.query(Conversation)) == ["B1", "renamed"]


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


def test_core_inserts_name_another_tenant_only_inside_the_escape(app, two_tenants):
    from hydronet.kernel import tenancy

    a, b = two_tenants["a"].id, two_tenants["b"].id
    owner_b = two_tenants["b_owner"]
    insert = Conversation.__table__.insert()
    row = {"user_id": owner_b.id, "title": "escape", "channel": "web", "archived": False, "message_count": 0,
           "tenant_id": b}
    with app.app_context():
        with pytest.raises(TenantViolation):  # nothing bound, no escape: refused
            tenancy.execute(db.session, insert, [dict(row, id=uuid7())])
        bind_tenant(db.session, a)
        with pytest.raises(TenantViolation):
            tenancy.execute(db.session, insert, [dict(row, id=uuid7())])
        with all_tenants(db.session):
            tenancy.execute(db.session, insert, [dict(row, id=uuid7())])
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        assert db.session.query(Conversation).filter_by(title="escape").one().tenant_id == b


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
