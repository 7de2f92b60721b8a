"""Tenant scoping as a mechanism: every ORM query in a request sees one tenant.

`bind_tenant(session, tenant_id)` is called once per request by the auth
layer.  From then on a `do_orm_execute` hook adds ``tenant_id = :current`` to
every SELECT, UPDATE and DELETE (including `session.get`, relationship loads
and joins) over a `TenantOwnedMixin` model, and a `before_flush` hook refuses
to write a row of another tenant.  Crossing tenants is explicit:
`all_tenants(session)` — used by platform-admin and sign-in code only.  On
PostgreSQL the same tenant id is set transaction-locally (``app.tenant_id``)
for the Row-Level Security wall.

Core statements (hot paths that want rows, not objects) are held to the same
rule by mechanism: a statement on a tenant table is built with `scoped()`,
which adds the tenant predicate itself, and run with `execute()`, which fills
that predicate (and the ``tenant_id`` of inserted rows) from the session's
bound tenant — the caller never passes a tenant id.  `guard_engine()` refuses
any other Core statement that touches a tenant table, so a forgotten filter is
an error on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Delete, Insert, Select, Table, Update, bindparam, event, text
from sqlalchemy.engine import Result
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, with_loader_criteria
from sqlalchemy.sql import visitors

from hydronet.kernel.db import Base, TenantOwnedMixin

TENANT_KEY = "hydronet_tenant_id"
UNSCOPED_KEY = "hydronet_unscoped"
_CONNECTED = "hydronet_rls_connected"  # the session's transaction has a connection
TENANT_PARAM = "hn_tenant"  # the bind parameter `scoped()` compares tenant_id with
_CHECKED = "hydronet_tenancy_checked"  # execution option: scoped by the ORM hook or by execute()
_FLUSHING = "hydronet_flushing"  # connection info: the ORM flush (guarded by before_flush) is writing

AnySession = Session | scoped_session  # flask-sqlalchemy's db.session is a scoped_session


class TenantViolation(RuntimeError):
    """A write would have touched another tenant's row."""


def bind_tenant(session: AnySession, tenant_id: uuid.UUID | None) -> None:
    """Scope every following query of this session to ``tenant_id``."""
    if isinstance(session, scoped_session):
        session = session()
    session.info[TENANT_KEY] = tenant_id
    session.info.pop(UNSCOPED_KEY, None)  # a binding ends any escape in progress
    if session.info.get(_CONNECTED):
        # A transaction already holds a connection: move its RLS settings now, so
        # the database wall follows the binding (unbinding hides every row).
        # Otherwise the after_begin hook sets them with the first statement.
        _set_rls_tenant(session, tenant_id)


def scoped(stmt: Select | Update | Delete, table: Table) -> Select | Update | Delete:
    """``stmt`` restricted to the tenant `execute()` will bind (built once, at import time)."""
    return stmt.where(table.c.tenant_id == bindparam(TENANT_PARAM))


def execute(session: AnySession, stmt: Any, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> Result:
    """Run a Core statement on a tenant table for the session's bound tenant.

    A `scoped()` statement gets the bound tenant as its predicate; an INSERT's
    rows get it as their ``tenant_id`` (a row naming another tenant is
    refused).  Inside `all_tenants` an INSERT may name its rows' tenants, but a
    scoped statement still needs a bound tenant: there is no "every tenant"
    predicate to fill in.
    """
    if isinstance(session, scoped_session):
        session = session()
    tenant_id = session.info.get(TENANT_KEY)
    unscoped = bool(session.info.get(UNSCOPED_KEY))
    bound: dict[str, Any] | list[dict[str, Any]]
    if isinstance(stmt, Insert):
        rows = params if isinstance(params, list) else [params or {}]
        bound = [_owned_row(row, tenant_id, unscoped) for row in rows]
    else:
        if tenant_id is None:
            raise TenantViolation("a tenant-scoped statement needs a bound tenant")
        if isinstance(params, list):
            raise TypeError("a scoped statement takes one parameter dict")
        bound = {**(params or {}), TENANT_PARAM: tenant_id}
    return session.connection().execute(stmt, bound, execution_options={_CHECKED: True})


def _owned_row(row: dict[str, Any], tenant_id: uuid.UUID | None, unscoped: bool) -> dict[str, Any]:
    named = row.get("tenant_id")
    if tenant_id is None and not (unscoped and named is not None):
        raise TenantViolation("insert into a tenant table needs a bound tenant")
    if named is not None and named != tenant_id and not unscoped:
        raise TenantViolation("insert for another tenant refused")
    return row if named is not None else {**row, "tenant_id": tenant_id}


def current_tenant_id(session: AnySession) -> uuid.UUID | None:
    """The tenant this session is bound to, if any."""
    return session.info.get(TENANT_KEY)


@contextmanager
def all_tenants(session: AnySession) -> Iterator[AnySession]:
    """Explicit escape: queries inside see every tenant (platform admin, sign-in, audit chain)."""
    previous = session.info.get(UNSCOPED_KEY, 0)
    session.info[UNSCOPED_KEY] = previous + 1
    if previous == 0:
        _set_rls_all(session, True)
    try:
        yield session
    finally:
        session.info[UNSCOPED_KEY] = previous
        if previous == 0:
            _set_rls_all(session, False)


def _scoping_active(session: Session) -> uuid.UUID | None:
    if session.info.get(UNSCOPED_KEY):
        return None
    return session.info.get(TENANT_KEY)


def _set_rls_all(session: AnySession, on: bool) -> None:
    """Flip the RLS escape of the transaction in progress (new ones read session.info)."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.info.get(_CONNECTED):
        return  # no connection yet (or not PostgreSQL): after_begin reads session.info
    session.execute(text("SELECT set_config('app.all_tenants', :v, true)"), {"v": "on" if on else "off"})


def _set_rls_tenant(session: AnySession, tenant_id: uuid.UUID | None) -> None:
    """Move the RLS tenant of the open transaction and close its escape (PostgreSQL only, see _CONNECTED)."""
    value = "" if tenant_id is None else str(tenant_id)
    session.execute(
        text("SELECT set_config('app.tenant_id', :tid, true), set_config('app.all_tenants', 'off', true)"),
        {"tid": value},
    )


_INSTALLED: set[int] = set()


def install(session_factory) -> None:
    """Register the scoping hooks on a session class or sessionmaker (once)."""
    if id(session_factory) in _INSTALLED:
        return
    _INSTALLED.add(id(session_factory))

    @event.listens_for(session_factory, "do_orm_execute")
    def _scope_statements(state: ORMExecuteState) -> None:
        state.update_execution_options(**{_CHECKED: True})  # the ORM path: scoped here, not by guard_engine
        if not (state.is_select or state.is_update or state.is_delete) or state.execution_options.get("all_tenants"):
            return
        tenant_id = _scoping_active(state.session)
        if tenant_id is None:
            return
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwnedMixin,
                lambda cls: cls.tenant_id == tenant_id,
                include_aliases=True,
                track_closure_variables=False,
            )
        )

    @event.listens_for(session_factory, "before_flush")
    def _guard_writes(session: Session, _ctx, _instances) -> None:
        tenant_id = _scoping_active(session)
        if session.new or session.dirty or session.deleted:
            conn = session.connection()
            conn.info[_FLUSHING] = True  # the flush's own statements pass guard_engine
            session.info[_FLUSHING] = conn
        if tenant_id is None:
            return
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, TenantOwnedMixin):
                if obj.tenant_id is None:
                    obj.tenant_id = tenant_id
                elif obj.tenant_id != tenant_id:
                    raise TenantViolation(f"write to {type(obj).__name__} of another tenant refused")

    @event.listens_for(session_factory, "after_begin")
    def _rls_on_begin(session: Session, _transaction, connection) -> None:
        if connection.dialect.name != "postgresql":
            return
        session.info[_CONNECTED] = True
        tenant_id = session.info.get(TENANT_KEY)
        unscoped = bool(session.info.get(UNSCOPED_KEY))
        settings = {_TID: "" if tenant_id is None else str(tenant_id), _ALL: "on" if unscoped else "off"}
        if connection.engine in _PIGGYBACK_ENGINES:
            connection.info[_PENDING] = settings  # sent with the transaction's first statement
        else:
            connection.exec_driver_sql(_RLS_SQL, settings)

    @event.listens_for(session_factory, "after_flush_postexec")
    def _flushed(session: Session, _ctx) -> None:
        _end_flush(session)

    @event.listens_for(session_factory, "after_transaction_end")
    def _rls_on_end(session: Session, transaction) -> None:
        if transaction.parent is None:
            session.info.pop(_CONNECTED, None)
        _end_flush(session)


def _end_flush(session: Session) -> None:
    conn = session.info.pop(_FLUSHING, None)
    if conn is not None and not conn.closed:
        conn.info.pop(_FLUSHING, None)


def guard_engine(engine) -> None:
    """Refuse Core statements on tenant tables that bypass both the ORM hooks and `execute()`.

    Text statements are not parsed (they are DDL, health checks and RLS
    settings); inside `all_tenants` code may pass ``all_tenants=True`` as an
    execution option for a deliberate cross-tenant Core statement.
    """
    if engine in _GUARDED_ENGINES:
        return
    _GUARDED_ENGINES.add(engine)

    @event.listens_for(engine, "before_execute")
    def _refuse_unscoped(conn, clauseelement, _multiparams, _params, execution_options) -> None:
        if not isinstance(clauseelement, (Select, Insert, Update, Delete)):
            return
        if execution_options.get(_CHECKED) or execution_options.get("all_tenants") or conn.info.get(_FLUSHING):
            return
        touched = _tenant_tables(clauseelement)
        if touched:
            raise TenantViolation(f"Core statement on tenant table {sorted(touched)[0]} outside tenancy.execute")

    @event.listens_for(engine, "checkin")
    def _no_flush_left(_dbapi_conn, record) -> None:
        record.info.pop(_FLUSHING, None)


_GUARDED_ENGINES: weakref.WeakSet = weakref.WeakSet()


def _tenant_tables(stmt: Any) -> set[str]:
    names = {m.local_table.name for m in _tenant_mappers()}
    return {el.name for el in visitors.iterate(stmt) if isinstance(el, Table) and el.name in names}


def _tenant_mappers():
    return [m for m in Base.registry.mappers if issubclass(m.class_, TenantOwnedMixin)]


_TID, _ALL = "hn_rls_tid", "hn_rls_all"
_RLS_SQL = f"SELECT set_config('app.tenant_id', %({_TID})s, true), set_config('app.all_tenants', %({_ALL})s, true)"
_PENDING = "hydronet_rls_pending"  # DBAPI connection info: settings not sent yet
_PIGGYBACK_ENGINES: weakref.WeakSet = weakref.WeakSet()  # engines install_engine() prepared


def install_engine(engine) -> None:
    """Send a transaction's RLS settings in the same round trip as its first statement (psycopg2).

    The settings must precede the transaction's first query; sent on their own
    they cost a round trip per transaction (a listing is one statement).
    psycopg2 interpolates parameters client-side and sends the text with the
    simple query protocol, which runs several statements and returns the last
    one's result — so ``SELECT set_config(…); <statement>`` is one trip with
    the statement's own result, row count and errors.  Only a statement with a
    parameter dict on a client-side cursor is prefixed (psycopg2 then
    interpolates, and SQLAlchemy has already doubled any literal ``%``);
    anything else (executemany, no parameters, a server-side cursor) gets the
    settings in a statement of their own first, as before.  Pending settings
    never outlive the transaction: they are dropped when the connection
    returns to the pool.
    """
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg2":
        return
    if engine in _PIGGYBACK_ENGINES:
        return
    _PIGGYBACK_ENGINES.add(engine)

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _with_first_statement(conn, cursor, statement, parameters, _context, executemany):
        pending = conn.info.pop(_PENDING, None)
        if pending is None:
            return statement, parameters
        if executemany or not parameters or not isinstance(parameters, dict) or getattr(cursor, "name", None):
            plain = conn.connection.dbapi_connection.cursor()
            try:
                plain.execute(_RLS_SQL, pending)
            finally:
                plain.close()
            return statement, parameters
        return f"{_RLS_SQL};\n{statement}", {**parameters, **pending}

    @event.listens_for(engine, "checkin")
    def _drop_pending(_dbapi_conn, record) -> None:
        record.info.pop(_PENDING, None)
