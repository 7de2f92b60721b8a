"""Tenant scoping is a mechanism: queries without a tenant filter still see one tenant."""

from __future__ import annotations

import types

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from hydronet.kernel import tenancy
from hydronet.kernel.db import db, uuid7
from hydronet.kernel.tenancy import TenantViolation, all_tenants, bind_tenant, current_tenant_id
from hydronet.models import Conversation, User

NEEDS_TENANT = r"^a tenant-scoped statement needs a bound tenant$"
INSERT_NEEDS_TENANT = r"^insert into a tenant table needs a bound tenant$"
INSERT_FOR_ANOTHER = r"^insert for another tenant refused$"


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
        assert two_tenants["a_users"]["owner"].email in emails, "the tenant's own users stay visible"


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
                select(User.__table__.c.email).join_from(
                    User.__table__, Conversation.__table__, User.__table__.c.id == Conversation.__table__.c.user_id
                )
            )
        db.session.rollback()


def test_scoped_core_statement_sees_only_the_bound_tenant(app, two_tenants):
    with app.app_context(), all_tenants(db.session):
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "A1")
        _conversation(two_tenants["b"], two_tenants["b_owner"], "B1")
        db.session.commit()
    stmt = tenancy.scoped(select(Conversation.__table__.c.title), Conversation.__table__)
    with app.app_context():
        bind_tenant(db.session, two_tenants["b"].id)
        assert [r.title for r in tenancy.execute(db.session, stmt)] == ["B1"]
        bind_tenant(db.session, None)
        with pytest.raises(TenantViolation, match=NEEDS_TENANT):
            tenancy.execute(db.session, stmt)
        db.session.rollback()


def test_core_insert_takes_the_bound_tenant_and_refuses_another(app, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    owner = two_tenants["a_users"]["owner"]
    insert = Conversation.__table__.insert()
    row = {"user_id": owner.id, "title": "core", "channel": "web", "archived": False, "message_count": 0}
    with app.app_context():
        bind_tenant(db.session, a.id)
        tenancy.execute(db.session, insert, [dict(row, id=uuid7())])
        with pytest.raises(TenantViolation, match=INSERT_FOR_ANOTHER):
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
    a, b = two_tenants["a"].id, two_tenants["b"].id
    owner_b = two_tenants["b_owner"]
    insert = Conversation.__table__.insert()
    row = {
        "user_id": owner_b.id,
        "title": "escape",
        "channel": "web",
        "archived": False,
        "message_count": 0,
        "tenant_id": b,
    }
    with app.app_context():
        with pytest.raises(TenantViolation, match=INSERT_NEEDS_TENANT):  # nothing bound, no escape: refused
            tenancy.execute(db.session, insert, [dict(row, id=uuid7())])
        bind_tenant(db.session, a)
        with pytest.raises(TenantViolation, match=INSERT_FOR_ANOTHER):
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


def _two_conversations(app, two_tenants):
    with app.app_context(), all_tenants(db.session):
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "A1")
        _conversation(two_tenants["b"], two_tenants["b_owner"], "B1")
        db.session.commit()


def _row(user, **extra):
    return {
        "id": uuid7(),
        "user_id": user.id,
        "title": "core",
        "channel": "web",
        "archived": False,
        "message_count": 0,
        **extra,
    }


def test_binding_a_tenant_ends_an_escape_in_progress(app, two_tenants):
    """A binding scopes *every following* query: an escape left open before it no longer applies."""
    _two_conversations(app, two_tenants)
    with app.app_context():
        with all_tenants(db.session):
            assert db.session.query(Conversation).count() == 2
            bind_tenant(db.session, two_tenants["a"].id)
            assert [c.title for c in db.session.query(Conversation)] == ["A1"]
            with pytest.raises(TenantViolation, match=INSERT_FOR_ANOTHER):  # the escape no longer covers this
                tenancy.execute(
                    db.session,
                    Conversation.__table__.insert(),
                    [_row(two_tenants["b_owner"], tenant_id=two_tenants["b"].id)],
                )
        assert [c.title for c in db.session.query(Conversation)] == ["A1"]
        db.session.rollback()


def test_a_flush_does_not_open_the_core_guard_for_the_rest_of_the_transaction(app, two_tenants):
    """The ORM flush's own statements pass the engine guard; a Core statement after it does not."""
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        _conversation(two_tenants["a"], two_tenants["a_users"]["owner"], "flushed")
        db.session.flush()
        with pytest.raises(TenantViolation, match="conversations"):
            db.session.connection().execute(select(Conversation.__table__.c.title))
        db.session.rollback()


def test_a_scoped_statement_takes_one_parameter_dict(app, two_tenants):
    stmt = tenancy.scoped(select(Conversation.__table__.c.title), Conversation.__table__)
    with app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        with pytest.raises(TypeError, match=r"^a scoped statement takes one parameter dict$"):
            tenancy.execute(db.session, stmt, [{}, {}])
        db.session.rollback()


def test_a_core_insert_of_one_row_given_as_a_dict_takes_the_bound_tenant(app, two_tenants):
    a = two_tenants["a"]
    row = _row(two_tenants["a_users"]["owner"], title="one dict")
    with app.app_context():
        bind_tenant(db.session, a.id)
        tenancy.execute(db.session, Conversation.__table__.insert(), row)
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        stored = db.session.query(Conversation).filter_by(title="one dict").one()
        assert (stored.id, stored.tenant_id, stored.user_id) == (row["id"], a.id, row["user_id"])


def test_inside_the_escape_with_no_tenant_bound_an_insert_must_name_its_tenant(app, two_tenants):
    """The escape lets an insert name its rows' tenant; it never invents one."""
    b, owner_b = two_tenants["b"], two_tenants["b_owner"]
    insert = Conversation.__table__.insert()
    with app.app_context():
        with all_tenants(db.session):
            assert current_tenant_id(db.session) is None
            with pytest.raises(TenantViolation, match=INSERT_NEEDS_TENANT):
                tenancy.execute(db.session, insert, [_row(owner_b, title="no tenant")])
            tenancy.execute(db.session, insert, [_row(owner_b, title="named", tenant_id=b.id)])
        db.session.commit()
    with app.app_context(), all_tenants(db.session):
        assert [(c.title, c.tenant_id) for c in db.session.query(Conversation)] == [("named", b.id)]


HOOKS = ("do_orm_execute", "before_flush", "after_begin", "after_flush_postexec", "after_transaction_end")


def test_install_registers_its_hooks_once_per_session_factory(app):
    """create_app installs on the Session class for every app it makes: a second call adds nothing."""
    with app.app_context():
        factory = sessionmaker(bind=db.engine)

        def counts():
            session = factory()
            try:
                return [len(getattr(session.dispatch, hook)) for hook in HOOKS]
            finally:
                session.close()

        inherited = counts()  # the hooks the app installed on Session itself
        tenancy.install(factory)
        tenancy.install(factory)
        assert counts() == [n + 1 for n in inherited]


def test_guard_engine_refuses_unscoped_core_statements_on_a_new_engine(app):
    engine = create_engine("sqlite://")
    tenancy.guard_engine(engine)
    tenancy.guard_engine(engine)  # once per engine
    assert len(engine.dispatch.before_execute) == 1
    with engine.connect() as conn:
        with pytest.raises(TenantViolation, match="conversations"):
            conn.execute(select(Conversation.__table__.c.title))
    engine.dispose()


def test_settings_ride_with_statements_only_on_psycopg2():
    """Other drivers (here pg8000, never connected) send parameters themselves: no statement is rewritten."""
    stand_in = types.ModuleType("pg8000")
    stand_in.paramstyle, stand_in.__version__ = "format", "1.31.2"
    for url, module in (("postgresql+pg8000://u@localhost/db", stand_in), ("sqlite://", None)):
        engine = create_engine(url, **({"module": module} if module else {}))
        tenancy.install_engine(engine)
        assert len(engine.dispatch.before_cursor_execute) == 0, url
        engine.dispose()
