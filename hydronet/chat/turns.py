"""One chat turn: validate, reserve quota, call the model with tools, store atomically.

A turn is prepared inside the request (reads, quota reservation), then run
with no database connection held while the model streams, then persisted in
one transaction: the user message, the answer, the usage records and the
daily aggregates — or nothing at all when the model call failed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.exc import DBAPIError

from hydronet.chat import assistant, conversations
from hydronet.kernel import tenancy
from hydronet.kernel.db import db, utcnow, uuid7
from hydronet.kernel.dbpool import mark_unrepeatable
from hydronet.kernel.errors import ApiError, NotFound, ValidationError
from hydronet.kernel.metrics import MODEL_ERRORS, MODEL_LATENCY, MODEL_TOKENS
from hydronet.kernel.tenancy import bind_tenant
from hydronet.llm.context import build_messages
from hydronet.llm.loop import TurnState, run_turn
from hydronet.llm.tokens import count_tokens
from hydronet.llm.tools import ToolContext, ToolRegistry
from hydronet.models import Conversation, Message, Tenant, User
from hydronet.tenants import quotas, usage
from hydronet.tenants.plans import default_model

log = logging.getLogger(__name__)
HISTORY_MESSAGES = 40
OUTPUT_TOKEN_ESTIMATE = 800


class ConversationDeleted(NotFound):
    """The conversation was deleted while the model was answering: the answer is not kept.

    Its cost is (the model worked): the usage is recorded and the quota charged.
    """

    code, message = "conversation_deleted", "The conversation was deleted while the assistant was answering"


@dataclass
class PreparedTurn:
    """Everything needed to run and store a turn without the request."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    conversation_id: uuid.UUID
    text: str
    model: str
    messages: list[dict[str, Any]]
    registry: ToolRegistry
    reservation: quotas.Reservation
    api_key: str | None
    retitle: bool
    user_created_at: Any = field(default_factory=utcnow)


def validate_text(text: Any, max_chars: int) -> str:
    """The message text, or 422 when empty, whitespace-only, not a string or too long."""
    if not isinstance(text, str):
        raise ValidationError({"message": "is required and must be a string"})
    if not text.strip():
        raise ValidationError({"message": "must not be empty"})
    if len(text) > max_chars:
        raise ValidationError({"message": f"must be at most {max_chars} characters"})
    return text


def prepare(user: User, tenant: Tenant, conv: Conversation, text: str) -> PreparedTurn:
    """Reserve quota and build the model context; releases the DB connection when done."""
    cfg = current_app.config
    text = validate_text(text, cfg["CHAT_MAX_MESSAGE_CHARS"])
    history = conversations.history_for_model(conversations.latest_for_model(conv, HISTORY_MESSAGES))
    instructions = (tenant.settings or {}).get("assistant_instructions")
    messages = build_messages(instructions, history, text, cfg["LLM_HISTORY_TOKENS"])
    estimate = sum(count_tokens(str(m.get("content") or "")) for m in messages) + OUTPUT_TOKEN_ESTIMATE
    reservation = quotas.reserve_chat(tenant, estimate)
    try:
        prepared = PreparedTurn(
            tenant_id=tenant.id,
            user_id=user.id,
            conversation_id=conv.id,
            text=text,
            model=default_model(tenant, cfg["QWEN_MODEL"]) if cfg["ALIYUN_API_KEY"] else "offline",
            messages=messages,
            registry=assistant.tools_for(tenant),
            reservation=reservation,
            api_key=cfg["ALIYUN_API_KEY"] or None,
            retitle=not conv.title,
        )
        db.session.commit()  # return the connection to the pool while the model works
    except Exception:
        _give_back(reservation)
        raise
    return prepared


def run(prep: PreparedTurn, state: TurnState) -> Iterator[dict[str, Any]]:
    """The turn's events (delta, tool_call, tool_result, final); LLM errors propagate."""
    ctx = ToolContext(
        tenant_id=str(prep.tenant_id), user_id=str(prep.user_id), conversation_id=str(prep.conversation_id)
    )
    events = run_turn(
        assistant.provider(),
        model=prep.model,
        messages=prep.messages,
        registry=prep.registry,
        ctx=ctx,
        api_key=prep.api_key,
        state=state,
    )
    try:
        for event in events:
            if event["type"] == "tool_result":
                db.session.commit()  # tools may have read the database: release the connection
            yield event
    finally:
        events.close()


def complete(prep: PreparedTurn) -> tuple[Message, Message, TurnState]:
    """Run a whole turn without streaming and store it; on failure charge nothing and re-raise."""
    mark_unrepeatable()  # the model is called: a lost database connection must not run it twice
    state = TurnState()
    try:
        for _event in run(prep, state):
            pass
    except ApiError as err:
        fail(prep, state, err.code)
        raise
    except Exception:
        fail(prep, state, "internal_error")
        raise
    user_msg, reply = persist(prep, state)
    return user_msg, reply, state


def persist(prep: PreparedTurn, state: TurnState) -> tuple[Message, Message]:
    """Store the user message, the answer and the usage in one transaction.

    Set-based, without the unit of work (a turn's largest CPU cost was the
    ORM flush): one UPDATE of the conversation (counter incremented in SQL, so
    concurrent turns cannot lose one), one multi-row INSERT of the two
    messages, then the usage (`usage.record`: two statements).  The returned
    messages are plain, unattached objects carrying what was stored.

    Once the transaction is committed this returns, whatever happens to the
    quota bookkeeping after it (Redis unreachable: the hold lapses and the
    counter is set from the usage aggregates later), so the caller can always
    report the stored ids.  Raises ConversationDeleted when the conversation
    went away meanwhile (the usage is kept, the text is not).
    """
    events = _usage_events(prep, state)
    for attempt in (1, 2):
        committing = False
        try:
            bind_tenant(db.session, prep.tenant_id)
            if not conversations.record_turn(
                prep.conversation_id, added=2, title=conversations.title_from(prep.text) if prep.retitle else None
            ):
                raise ConversationDeleted()
            user_msg, reply = _message_rows(prep, state)
            tenancy.execute(db.session, _MESSAGE_INSERT, [_column_keys(user_msg), _column_keys(reply)])
            usage.record(prep.tenant_id, prep.user_id, events)
            committing = True
            db.session.commit()
            break
        except ConversationDeleted:
            db.session.rollback()
            _keep_usage_only(prep, state, events)
            raise
        except DBAPIError as err:
            db.session.rollback()
            if attempt == 1 and err.connection_invalidated and not committing:
                # the connection died before COMMIT was sent: its transaction is gone, storing again is safe
                log.warning("database connection lost while storing a turn; storing it again on a fresh one")
                continue
            _give_back(prep.reservation)
            raise
        except Exception:
            db.session.rollback()
            _give_back(prep.reservation)
            raise
    _settle(prep, state)
    return Message(**user_msg), Message(**reply)


def _keep_usage_only(prep: PreparedTurn, state: TurnState, events: list[dict[str, Any]]) -> None:
    """The model worked for a conversation deleted meanwhile: record its usage and charge it."""
    try:
        bind_tenant(db.session, prep.tenant_id)
        usage.record(prep.tenant_id, prep.user_id, events)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record the usage of a turn whose conversation was deleted")
        _give_back(prep.reservation)
        return
    _settle(prep, state)


def _settle(prep: PreparedTurn, state: TurnState) -> None:
    """Post-commit bookkeeping: never raises (the turn is stored; a lost charge is reconciled later)."""
    try:
        prep.reservation.settle(state.usage["input_tokens"] + state.usage["output_tokens"])
    except Exception as exc:
        log.warning(
            "quota settlement of a stored turn deferred (%s): the hold lapses and the counter is "
            "reconciled from the usage aggregates",
            type(exc).__name__,
        )
    try:
        _observe(state)
    except Exception:
        log.exception("could not count a stored turn in the metrics")


def _give_back(reservation: quotas.Reservation) -> None:
    """Release a reservation; if the store is unreachable the hold lapses by itself."""
    try:
        reservation.release()
    except Exception as exc:
        log.warning("quota release deferred (%s): the hold lapses at its deadline", type(exc).__name__)


_MESSAGE_INSERT = Message.__table__.insert()


def _column_keys(row: dict[str, Any]) -> dict[str, Any]:
    """A message row keyed by table column (the ``meta`` attribute is the ``metadata`` column)."""
    return {("metadata" if k == "meta" else k): v for k, v in row.items()}


def _message_rows(prep: PreparedTurn, state: TurnState) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user message and the answer as rows with the same columns (one INSERT for both)."""
    meta: dict[str, Any] = {"tool_calls": _ui_tool_calls(state), "rounds": state.rounds}
    if state.tool_calls:
        meta["turn_messages"] = state.messages
    if prep.model == "offline":
        meta["offline"] = True
    if state.interrupted:
        meta["interrupted"] = True
    common = {"tenant_id": prep.tenant_id, "conversation_id": prep.conversation_id, "user_id": prep.user_id}
    user_msg = {
        **common,
        "id": uuid7(),
        "role": "user",
        "content": prep.text,
        "model": None,
        "input_tokens": 0,
        "output_tokens": 0,
        "meta": {},
        "created_at": prep.user_created_at,
    }
    reply = {
        **common,
        "id": uuid7(),
        "role": "assistant",
        "content": state.content,
        "model": state.model or prep.model,
        "input_tokens": state.usage["input_tokens"],
        "output_tokens": state.usage["output_tokens"],
        "meta": meta,
        "created_at": utcnow(),
    }
    return user_msg, reply


def fail(prep: PreparedTurn, state: TurnState, code: str) -> None:
    """A failed model call: give the reservation back, charge nothing, count the error.  Never raises."""
    _give_back(prep.reservation)
    MODEL_ERRORS.labels(prep.model, code).inc()
    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback after a failed model call failed", exc_info=True)
    if code == "client_gone":
        return
    try:  # a zero-cost record keeps the model error rate visible to operators
        bind_tenant(db.session, prep.tenant_id)
        usage.meter(
            prep.tenant_id,
            prep.user_id,
            kind="chat",
            model=prep.model,
            conversation_id=prep.conversation_id,
            status="error",
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record a failed model call")


def _usage_events(prep: PreparedTurn, state: TurnState) -> list[dict[str, Any]]:
    """One usage event per model call (the first carries the message) and per tool run."""
    events = [
        usage.event(
            kind="chat",
            model=call["model"],
            conversation_id=prep.conversation_id,
            input_tokens=call["input_tokens"],
            output_tokens=call["output_tokens"],
            latency_ms=call["latency_ms"],
            messages=1 if i == 0 else 0,
            status="interrupted" if state.interrupted and i == len(state.calls) - 1 else "ok",
        )
        for i, call in enumerate(state.calls)
    ]
    if not state.calls:
        events.append(
            usage.event(
                kind="chat", model=prep.model, conversation_id=prep.conversation_id, messages=1, status="interrupted"
            )
        )
    events.extend(
        usage.event(
            kind="tool",
            tool=call["name"],
            conversation_id=prep.conversation_id,
            latency_ms=call.get("duration_ms") or 0,
            status="error" if call.get("is_error") else "ok",
        )
        for call in state.tool_calls
    )
    return events


def _ui_tool_calls(state: TurnState) -> list[dict[str, Any]]:
    return [
        {
            "id": c["id"],
            "name": c["name"],
            "arguments": c["arguments"],
            "result": c["result"],
            "full_result": c.get("full_result"),
            "is_error": c["is_error"],
            "duration_ms": c["duration_ms"],
        }
        for c in state.tool_calls
    ]


def _observe(state: TurnState) -> None:
    for call in state.calls:
        MODEL_LATENCY.labels(call["model"]).observe(call["latency_ms"] / 1000)
        MODEL_TOKENS.labels(call["model"], "input").inc(call["input_tokens"])
        MODEL_TOKENS.labels(call["model"], "output").inc(call["output_tokens"])
