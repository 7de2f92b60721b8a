"""The signed-in user and their tenant, cached in the shared store.

Authentication needs the caller's user row (role, active flag, token version)
and tenant row (plan, status, quota overrides) on every request.  Both are
kept in Redis as JSON snapshots (``cache:user:<id>``, ``cache:tenant:<id>``)
and fetched in the same MGET as the token revocation check (auth/state.py),
so a cache hit costs no SQL and no extra round trip.

Invalidation is a mechanism, not a convention: `install` hooks the session so
that any commit which changed or deleted a User or Tenant row replaces its
snapshot by a short-lived tombstone on every server.  A tombstone makes
readers go to the database *and not refill the cache* while it lives, so a
reader that loaded the old row just before the commit cannot put it back
(fills use SET NX).  A plan change, a suspension, a role change or a
deactivation is therefore seen by the next request everywhere.

The number of a tenant's enabled MCP servers (``cache:mcp:<tenant>``) rides
along the same way, so that a chat turn of a tenant without any skips the
query for their tools; adding, changing or removing a server tombstones it.

Secrets (password and invitation hashes) are never cached: columns left out
of a snapshot load from the database on first access.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from datetime import datetime
from typing import Any, TypeVar

from flask import has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached, scoped_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from hydronet.auth import state
from hydronet.kernel.store import get_store
from hydronet.models import McpServer, Tenant, User

log = logging.getLogger(__name__)

TENANT_KEY = "cache:tenant:"
USER_KEY = "cache:user:"
MCP_KEY = "cache:mcp:"  # number of a tenant's enabled MCP servers (a chat turn skips the query at 0)
TTL_S = 120  # bounds staleness should an invalidation ever be lost (Redis blip)
TOMBSTONE = "-"
TOMBSTONE_TTL_S = 10
_PENDING = "hydronet_cache_invalidate"
_NOT_CACHED = {User: frozenset({"password_hash", "invite_token_hash", "invite_expires_at"}), Tenant: frozenset()}

M = TypeVar("M", User, Tenant)


@functools.cache
def _columns(model: type[User] | type[Tenant]) -> list[tuple[str, Any]]:
    mapper: Mapper[Any] = inspect(model)
    return [(a.key, a.columns[0].type) for a in mapper.column_attrs if a.key not in _NOT_CACHED[model]]


def dump(obj: User | Tenant) -> str:
    """A JSON snapshot of a loaded row (secrets left out)."""
    out: dict[str, Any] = {}
    for key, _type in _columns(type(obj)):
        value = getattr(obj, key)
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[key] = value
    return json.dumps(out, separators=(",", ":"))


def _parse(model: type[M], raw: str | None) -> dict[str, Any] | None:
    if not raw or raw == TOMBSTONE:
        return None
    try:
        data = json.loads(raw)
        for key, col_type in _columns(model):
            value = data[key]
            if value is None:
                continue
            python_type = col_type.python_type
            if python_type is uuid.UUID:
                data[key] = uuid.UUID(value)
            elif python_type is datetime:
                data[key] = datetime.fromisoformat(value)
        return data
    except (ValueError, KeyError, TypeError, NotImplementedError):
        return None  # an old or foreign format: treat as a miss


def _revive(session: Session, model: type[M], data: dict[str, Any]) -> M:
    """A persistent object built from a snapshot, without SQL (unsnapshotted columns load lazily)."""
    existing = session.identity_map.get(identity_key(model, data["id"]))
    if existing is not None:
        return existing  # already loaded in this session (and so fresher)
    # make_transient_to_detached is SQLAlchemy's documented way to turn a constructed object
    # into one "as though freshly loaded from a query": its history is reset (no UPDATE on
    # flush), it gets its identity key, and columns left out of the snapshot load lazily.
    obj = model(**data)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


# --- reading -------------------------------------------------------------


def snapshot_keys(claims: dict[str, Any]) -> list[str]:
    """The cache keys of an access token's user and tenant (fetched with its revocation keys)."""
    if claims.get("type") != "access" or not claims.get("sub") or not claims.get("tid"):
        return []
    return [USER_KEY + str(claims["sub"]), TENANT_KEY + str(claims["tid"]), MCP_KEY + str(claims["tid"])]


def _cached(keys: list[str]) -> list[str | None]:
    try:
        return list(state.fetch(keys).values())
    except Exception:  # the cache is an optimisation: without Redis, read the database
        log.warning("cache read failed; reading users/tenants from the database", exc_info=True)
        return [TOMBSTONE] * len(keys)


def cached_user(session: Session | scoped_session, user_id: uuid.UUID, tenant_id: str | None) -> User | None:
    """The user (with its tenant) from the cache, or None on a miss."""
    if not tenant_id:
        return None
    raw_user, raw_tenant = _cached([USER_KEY + str(user_id), TENANT_KEY + tenant_id])
    user_data, tenant_data = _parse(User, raw_user), _parse(Tenant, raw_tenant)
    if user_data is None or tenant_data is None or str(user_data["tenant_id"]) != tenant_id:
        return None
    session = session() if isinstance(session, scoped_session) else session  # one registry lookup, not four
    tenant = _revive(session, Tenant, tenant_data)
    user = _revive(session, User, user_data)
    set_committed_value(user, "tenant", tenant)
    return user


def cached_tenant_record(tenant_id: str) -> dict[str, Any] | None:
    """The tenant snapshot as plain data (for rate limits), or None on a miss."""
    (raw,) = _cached([TENANT_KEY + tenant_id])
    return _parse(Tenant, raw)


def cached_mcp_count(tenant_id: uuid.UUID) -> int | None:
    """How many MCP servers the tenant has enabled, or None when not known (miss, recent change)."""
    (raw,) = _cached([MCP_KEY + str(tenant_id)])
    return int(raw) if raw and raw.isdigit() else None


def fill_mcp_count(tenant_id: uuid.UUID, count: int) -> None:
    """Remember a freshly counted number of enabled MCP servers (SET NX; not over a tombstone)."""
    _fill([(MCP_KEY + str(tenant_id), str(count))])


def fill(*rows: User | Tenant) -> None:
    """Cache freshly loaded rows, unless a recent change left a tombstone (SET NX)."""
    _fill([((USER_KEY if isinstance(row, User) else TENANT_KEY) + str(row.id), dump(row)) for row in rows])


def _fill(items: list[tuple[str, str]]) -> None:
    if state.store_failed():
        return  # Redis failed earlier in this request
    items = [(key, value) for key, value in items if state.known(key) != TOMBSTONE]  # changed seconds ago
    if not items:
        return
    try:
        get_store().set_many(items, ttl=TTL_S, nx=True)
    except Exception:
        log.warning("cache fill failed", exc_info=True)


# --- invalidation ----------------------------------------------------------


def _tombstone(keys: list[str]) -> None:
    if not keys or not has_app_context():
        return
    try:
        get_store().set_many([(k, TOMBSTONE) for k in keys], ttl=TOMBSTONE_TTL_S)
    except Exception:
        # The change is committed; the snapshot expires within TTL_S.
        log.error("cache invalidation failed for %d key(s); stale for at most %ss", len(keys), TTL_S, exc_info=True)


_INSTALLED: set[int] = set()


def install(session_factory) -> None:
    """Invalidate the snapshot of every User/Tenant row a committed transaction changed."""
    if id(session_factory) in _INSTALLED:
        return
    _INSTALLED.add(id(session_factory))

    @event.listens_for(session_factory, "after_flush")
    def _collect(session: Session, _ctx) -> None:
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, McpServer):  # added, removed, enabled or disabled: the count may change
                session.info.setdefault(_PENDING, set()).add(MCP_KEY + str(obj.tenant_id))
            elif (
                isinstance(obj, (User, Tenant))
                and obj not in session.new
                and (obj in session.deleted or session.is_modified(obj))
            ):
                prefix = USER_KEY if isinstance(obj, User) else TENANT_KEY
                session.info.setdefault(_PENDING, set()).add(prefix + str(obj.id))

    @event.listens_for(session_factory, "after_commit")
    def _invalidate(session: Session) -> None:
        keys = session.info.pop(_PENDING, None)
        if keys:
            _tombstone(sorted(keys))
            state.overwrite(keys, TOMBSTONE)  # nor refill later in this request
