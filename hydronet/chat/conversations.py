"""Conversations and their message history, private to their user inside the tenant."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, case, delete, func, select
from sqlalchemy import update as update_rows  # `update` below is this module's own
from sqlalchemy.orm.attributes import set_committed_value

from hydronet.auth.actor import Actor
from hydronet.kernel import tenancy
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import NotFound
from hydronet.kernel.lookup import parse_id
from hydronet.kernel.pagination import after, decode_cursor, page
from hydronet.models import Conversation, Message, User
from hydronet.tenants import quotas

TITLE_MAX = 200


def get_own(user: User, conversation_id: str) -> Conversation:
    """The caller's conversation, or 404 (also for other users' and tenants' ids)."""
    conv = db.session.execute(
        select(Conversation).where(
            Conversation.id == parse_id(conversation_id, "Conversation"), Conversation.user_id == user.id
        )
    ).scalar_one_or_none()
    if conv is None:
        raise NotFound("Conversation not found")
    return conv


def create(actor: Actor, title: str | None, channel: str = "web") -> Conversation:
    """Start a conversation (counted against the plan's conversation quota)."""
    assert actor.user is not None and actor.tenant is not None
    quotas.check_count(
        actor.tenant,
        "conversations",
        lambda: db.session.execute(
            select(func.count(Conversation.id)).where(Conversation.tenant_id == actor.tenant.id)
        ).scalar_one(),
    )
    conv = Conversation(
        tenant_id=actor.tenant.id,
        user_id=actor.user.id,
        title=(title or "").strip()[:TITLE_MAX],
        channel=channel,
        updated_at=utcnow(),
    )
    db.session.add(conv)
    db.session.commit()
    return conv


def list_own(
    user: User, *, limit: int, cursor: str | None, archived: bool | None, query: str | None
) -> tuple[list[Listed], str | None]:
    """The caller's conversations, most recently active first (keyset pagination).

    The listing is the API's most frequent read: a Core statement (one per
    filter shape, built once) selecting just the columns `conversation_dict`
    shows, on the session's connection, tenant and user in the WHERE clause
    (and Row-Level Security behind it) — rows, not ORM objects.
    """
    position = decode_cursor(cursor)
    params: dict[str, Any] = {"uid": user.id, "n": limit + 1}
    if query:
        params["pattern"] = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if position is not None:
        params["ts"], params["after_id"] = position
    stmt = _listing(archived, bool(query), position is not None)
    rows = tenancy.execute(db.session, stmt, params).all()
    return page(list(map(Listed._make, rows)), limit, ts_attr="updated_at")


class Listed(NamedTuple):
    """A conversation as the listing shows it (attribute reads of a tuple: cheaper than a Row's)."""

    id: uuid.UUID
    title: str
    archived: bool
    channel: str
    message_count: int
    created_at: datetime
    updated_at: datetime


@functools.cache
def _listing(archived: bool | None, search: bool, continued: bool) -> Select:
    c = Conversation.__table__.c
    stmt = tenancy.scoped(select(*(c[name] for name in Listed._fields)), Conversation.__table__).where(
        c.user_id == bindparam("uid")
    )
    if archived is not None:
        stmt = stmt.where(c.archived.is_(archived))
    if search:
        stmt = stmt.where(c.title.ilike(bindparam("pattern", type_=c.title.type), escape="\\"))
    position = (bindparam("ts", type_=c.updated_at.type), bindparam("after_id", type_=c.id.type)) if continued else None
    return after(stmt, c.updated_at, c.id, position, descending=True).limit(bindparam("n"))


def update(conv: Conversation, title: str | None, archived: bool | None) -> Conversation:
    """Rename and/or (un)archive a conversation."""
    if title is not None:
        conv.title = title.strip()[:TITLE_MAX]
    if archived is not None:
        conv.archived = archived
    db.session.commit()
    return conv


def remove(conv: Conversation) -> None:
    """Delete a conversation and its messages."""
    db.session.execute(delete(Message).where(Message.conversation_id == conv.id, Message.tenant_id == conv.tenant_id))
    db.session.delete(conv)
    db.session.commit()


def messages_page(conv: Conversation, *, limit: int, cursor: str | None) -> tuple[list[Message], str | None]:
    """Messages oldest first, continuing after the cursor."""
    stmt = select(Message).where(Message.conversation_id == conv.id, Message.tenant_id == conv.tenant_id)
    stmt = after(stmt, Message.created_at, Message.id, decode_cursor(cursor), descending=False)
    rows = db.session.execute(stmt.limit(limit + 1)).scalars().all()
    return page(rows, limit)


def latest_messages(conv: Conversation, limit: int) -> list[Message]:
    """The newest ``limit`` messages, returned oldest first."""
    rows = (
        db.session.execute(
            select(Message)
            .where(Message.conversation_id == conv.id, Message.tenant_id == conv.tenant_id)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return list(reversed(rows))


def latest_for_model(conv: Conversation, limit: int) -> list[Any]:
    """The newest ``limit`` messages as light rows (role, content, meta), oldest first.

    What the model's history needs, without building ORM objects (a chat turn reads 40):
    a Core statement built once, on the session's connection, tenant in the WHERE clause
    (and under Row-Level Security on PostgreSQL) — no per-call ORM compilation.
    """
    rows = tenancy.execute(db.session, _LATEST_FOR_MODEL, {"cid": conv.id, "n": limit}).all()
    return list(reversed(rows))


def _latest_for_model():
    m = Message.__table__.c
    return (
        tenancy.scoped(select(m.role, m.content, m.metadata.label("meta")), Message.__table__)
        .where(m.conversation_id == bindparam("cid"))
        .order_by(m.created_at.desc(), m.id.desc())
        .limit(bindparam("n"))
    )


_LATEST_FOR_MODEL = _latest_for_model()


def history_for_model(messages: list[Any]) -> list[dict[str, Any]]:
    """Stored messages as model messages, tool calls and results included."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "user":
            out.append({"role": "user", "content": m.content})
        elif m.role == "assistant":
            turn = (m.meta or {}).get("turn_messages")
            out.extend(turn if turn else [{"role": "assistant", "content": m.content}])
    return out


def record_turn(conversation_id: uuid.UUID, *, added: int, title: str | None) -> bool:
    """Count a turn's messages on the conversation (and title it if still untitled); False if it is gone.

    One UPDATE … RETURNING: the counter is incremented by the database, so
    concurrent turns never lose one.  A copy of the conversation already
    loaded in this session is brought up to date without another query.
    """
    # parameter names must not be column names: Core would add those to the SET clause
    params = {"cid": conversation_id, "added": added, "now": utcnow(), "new_title": title}
    row = tenancy.execute(db.session, _TURN_UPDATE[bool(title)], params).one_or_none()
    if row is None:
        return False
    loaded = db.session.identity_map.get(db.session.identity_key(Conversation, conversation_id))
    if loaded is not None:
        for name, value in row._mapping.items():
            set_committed_value(loaded, name, value)
    return True


def _turn_update(retitle: bool):
    c = Conversation.__table__.c
    values: dict[str, Any] = {"message_count": c.message_count + bindparam("added"), "updated_at": bindparam("now")}
    if retitle:
        values["title"] = case((c.title == "", bindparam("new_title")), else_=c.title)
    return (
        tenancy.scoped(update_rows(Conversation.__table__), Conversation.__table__)
        .where(c.id == bindparam("cid"))
        .values(values)
        .returning(c.message_count, c.updated_at, c.title)
    )


_TURN_UPDATE = {False: _turn_update(False), True: _turn_update(True)}  # built once: hot path


def title_from(text: str) -> str:
    """A title from the first message: its first line, shortened."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:40] + ("…" if len(first) > 40 else "")
