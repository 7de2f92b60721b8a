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
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, with_loader_criteria

from .models.base import TenantOwnedMixin

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
        connection.exec_driver_sql(
            "SELECT set_config('app.tenant_id', %(tid)s, true), set_config('app.all_tenants', %(all)s, true)",
            {"tid": "" if tenant_id is None else str(tenant_id), "all": "on" if unscoped else "off"},
        )

    @event.listens_for(session_factory, "after_transaction_end")
    def _rls_on_end(session: Session, transaction) -> None:
        if transaction.parent is None:
            session.info.pop(_CONNECTED, None)
