"""Server-sent events for a streamed chat turn.

The turn runs in its own thread (a greenlet under gevent) with its own app
context and feeds a queue; the response generator relays events as they come
and sends a comment heartbeat while the model is quiet.  When the client goes
away the generator is closed: the producer stops at the next event, stores
what was generated (marked interrupted) and counts its tokens.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response

from hydronet.chat import turns
from hydronet.chat.serialize import message_dict
from hydronet.kernel.db import db
from hydronet.kernel.errors import ApiError
from hydronet.kernel.faults import as_api_error
from hydronet.kernel.tenancy import bind_tenant
from hydronet.llm.loop import TurnState

log = logging.getLogger(__name__)
_END = object()


def sse(event: dict[str, Any]) -> str:
    """One SSE frame carrying a JSON event."""
    return f"data: {json.dumps(event, ensure_ascii=False, default=str)}\n\n"


def _produce(app: Flask, prep: turns.PreparedTurn, out: queue.Queue, stop: threading.Event) -> None:
    """Run the turn, store it and queue its events; always ends with ``done`` or ``error``, then _END.

    Once the turn is committed the client gets ``done`` with the stored ids
    whatever happens after (turns.persist does not raise past its commit).
    """
    try:
        with app.app_context():
            try:
                _produce_in_context(prep, out, stop)
            finally:
                db.session.remove()
    except Exception:
        log.exception("streamed turn: cleanup failed")
    finally:
        out.put(_END)


def _produce_in_context(prep: turns.PreparedTurn, out: queue.Queue, stop: threading.Event) -> None:
    state = TurnState()
    events = None
    try:
        bind_tenant(db.session, prep.tenant_id)
        events = turns.run(prep, state)
        for event in events:
            if stop.is_set():
                break
            if event["type"] != "final":
                out.put(event)
        events.close()
    except ApiError as err:
        _close(events)
        turns.fail(prep, state, err.code)
        out.put(error_event(err))
        return
    except Exception as exc:
        log.exception("streamed turn failed")
        _close(events)
        turns.fail(prep, state, "internal_error")
        out.put(error_event(exc))
        return
    if stop.is_set() and not (state.content or state.calls):
        turns.fail(prep, state, "client_gone")
        return
    try:
        user_msg, reply = turns.persist(prep, state)
    except ApiError as err:  # ConversationDeleted: usage kept and charged by persist
        out.put(error_event(err))
        return
    except Exception as exc:  # nothing stored; persist gave the reservation back
        log.exception("streamed turn could not be stored")
        out.put(error_event(exc))
        return
    out.put(
        {
            "type": "done",
            "message": message_dict(reply),
            "user_message": message_dict(user_msg),
            "usage": dict(state.usage),
        }
    )


def error_event(exc: Exception) -> dict[str, Any]:
    """The SSE ``error`` event for an exception: the JSON path's code and message."""
    err = exc if isinstance(exc, ApiError) else as_api_error(exc)
    return {"type": "error", "error": {"code": err.code, "message": err.message}}


def _close(events: Iterator[dict[str, Any]] | None) -> None:
    if events is None:
        return
    try:
        events.close()  # type: ignore[attr-defined]
    except Exception:
        log.warning("closing a failed turn's event stream failed", exc_info=True)


def stream_turn(app: Flask, prep: turns.PreparedTurn) -> Response:
    """An SSE response relaying the turn's events as they are produced."""
    heartbeat = app.config["SSE_HEARTBEAT_S"]
    out: queue.Queue = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=_produce, args=(app, prep, out, stop), daemon=True, name="chat-turn").start()

    def generate() -> Iterator[str]:
        try:
            yield sse({"type": "start", "conversation_id": str(prep.conversation_id), "model": prep.model})
            while True:
                try:
                    event = out.get(timeout=heartbeat)
                except queue.Empty:
                    yield ": heartbeat\n\n"
                    continue
                if event is _END:
                    return
                yield sse(event)
        finally:
            stop.set()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
    return Response(generate(), mimetype="text/event-stream", headers=headers)
