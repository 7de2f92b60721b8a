"""Tenant scoping as a mechanism: every ORM query in a request sees one tenant.

`bind_tenant(session, tenant_id)` is called once per request by the auth
layer.  From then on a `do_orm_execute` hook adds ``tenant_id = :current`` to
every SELECT (including `session.get`, relationship loads and joins) over a
`TenantOwnedMixin` model, and a `before_flush` hook refuses to write a row of
another tenant.  Crossing tenants is explicit: `all_tenants(session)` — used
by platform-admin and sign-in code only.  On PostgreSQL the same tenant id is
set transaction-locally (``app.tenant_id``) for the Row-Level Security wall.
"""
from __future__ import annotations

import uuid
import weakref
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, with_loader_criteria

from hydronet.kernel.db import TenantOwnedMixin

TENANT_KEY = "hydronet_tenant_id"
UNSCOPED_KEY = "hydronet_unscoped"
_CONNECTED = "hydronet_rls_connected"  # the session's transaction has a connection


class TenantViolation(RuntimeError):
    """A write would have touched another tenant's row."""


def bind_tenant(session: Session, tenant_id: uuid.UUID | None) -> None:
    """Scope every following query of this session to ``tenant_id``."""
    if isinstance(session, scoped_session):
        session = session()
    session.info[TENANT_KEY] = tenant_id
    session.info.pop(UNSCOPED_KEY, None)
    if tenant_id is not None and session.info.get(_CONNECTED):
        # A transaction already holds a connection: move its RLS setting now.
        # Otherwise the after_begin hook sets it with the first statement.
        _set_rls_tenant(session, tenant_id)


def checked_tenant(session: Session, tenant_id: uuid.UUID) -> uuid.UUID:
    """``tenant_id`` for a Core statement of this session, refused if it is not the bound tenant.

    Core statements (the chat turn's hot path) bypass the ORM hooks below, so
    they take their tenant through here: the same rule as the flush guard —
    while the session is scoped, only its own tenant — with Row-Level Security
    behind it on PostgreSQL.
    """
    if isinstance(session, scoped_session):
        session = session()
    bound = _scoping_active(session)
    if bound is not None and tenant_id != bound:
        raise TenantViolation("statement for another tenant refused")
    return tenant_id


def current_tenant_id(session: Session) -> uuid.UUID | None:
    """The tenant this session is scoped to, if any."""
    return session.info.get(TENANT_KEY)


@contextmanager
def all_tenants(session: Session) -> Iterator[Session]:
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


def _set_rls_all(session: Session, on: bool) -> None:
    """Flip the RLS escape of the transaction in progress (new ones read session.info)."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.info.get(_CONNECTED):
        return  # no connection yet (or not PostgreSQL): after_begin reads session.info
    session.execute(text("SELECT set_config('app.all_tenants', :v, true)"), {"v": "on" if on else "off"})


def _set_rls_tenant(session: Session, tenant_id: uuid.UUID | None) -> None:
    """Move the RLS tenant of the open transaction (only called on PostgreSQL, see _CONNECTED)."""
    value = "" if tenant_id is None else str(tenant_id)
    session.execute(text("SELECT set_config('app.tenant_id', :tid, true)"), {"tid": value})


_INSTALLED: set[int] = set()


def install(session_factory) -> None:
    """Register the scoping hooks on a session class or sessionmaker (once)."""
    if id(session_factory) in _INSTALLED:
        return
    _INSTALLED.add(id(session_factory))

    @event.listens_for(session_factory, "do_orm_execute")
    def _scope_selects(state: ORMExecuteState) -> None:
        if not state.is_select or state.execution_options.get("all_tenants"):
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

    @event.listens_for(session_factory, "after_transaction_end")
    def _rls_on_end(session: Session, transaction) -> None:
        if transaction.parent is None:
            session.info.pop(_CONNECTED, None)


_TID, _ALL = "hn_rls_tid", "hn_rls_all"
_RLS_SQL = f"SELECT set_config('app.tenant_id', %({_TID})s, true), set_config('app.all_tenants', %({_ALL})s, true)"
_PENDING = "hydronet_rls_pending"  # DBAPI connection info: settings not sent yet
_PIGGYBACK_ENGINES: "weakref.WeakSet" = weakref.WeakSet()  # engines install_engine() prepared


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
