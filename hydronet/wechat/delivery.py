"""The 5-second rule: answering a WeChat message across WeChat's three attempts, on any worker.

WeChat waits 5 s for a passive reply and, on silence, re-sends the same message (same MsgId) up
to 3 attempts in all, ~5 s apart. Any response it receives in time — "success", an empty body or
XML — ends the retries; an attempt that goes unanswered makes it retry, and a last attempt left
unanswered shows the user "该公众号暂时无法提供服务". So there is no "please retry" answer: the
only way to get another attempt is to *not answer in time*. Per request the blueprint does:

    t0 = time.monotonic()                                   # first thing in the view
    attempt = mark_attempt(kv, acct, key, create_time=inc.create_time, now=time.time())
    if claim(kv, acct, key): start the model job            # exactly once, whichever worker
    out = await_outcome(kv, acct, key, attempt, t0)
      "answer"     → reply out.parts[0] passively (rest: push_or_queue, after a short delay)
      "hold"       → return "success"; it was held past WeChat's deadline, so nobody reads it
                     and WeChat has already sent the next attempt
      "handed_off" → reply notice_text(cfg.can_push); the job pushes or queues the answer

await_outcome per attempt (times from t0):
  attempts 1, 2: poll until 4.5 s → answer. Otherwise keep polling until 6.0 s (past WeChat's
                 5 s, measured from its send, so our clock is later) and give up: "hold". An
                 answer arriving between 4.5 and 6.0 s is returned anyway — WeChat may still read
                 it, and if it does not, the next attempt serves the same stored answer.
  attempt 3:     poll until 4.5 s → answer; otherwise `give_up` and reply the notice.
The job ends with `publish_answer`: True → an attempt will reply it passively; False → the last
attempt already gave up, so the job must push (verified, push mode) or `queue_pending` for the
user's next message. One SET NX key ("outcome") decides between the two, so exactly one side
delivers, whatever the interleaving. A returned non-200 instead of holding was rejected: WeChat
documents no retry on errors and may show the user the failure notice at once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from hydronet.wechat.kv import KV, set_if_absent

MAX_ATTEMPTS = 3
ATTEMPT_INTERVAL_S = 5.0
REPLY_BUDGET_S = 4.5  # reply by then so the response beats WeChat's 5 s
HOLD_UNTIL_S = 6.0  # hold unanswered attempts 1–2 until WeChat has surely hung up
POLL_INTERVAL_S = 0.1
CLAIM_TTL_S = 3600.0  # longer than WeChat's retry window and any model run
PENDING_TTL_S = 48 * 3600.0  # matches WeChat's 48-hour customer-service window
PREFIX = "hydronet:wechat"

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def _key(account_key: str, kind: str, ident: str) -> str:
    """KV key for one account's message or user."""
    return f"{PREFIX}:{account_key}:{kind}:{ident}"


def claim(kv: KV, account_key: str, dedupe_key: str, ttl_s: float = CLAIM_TTL_S) -> bool:
    """True for exactly one caller per message, across workers and servers: that one runs the model."""
    return set_if_absent(kv, _key(account_key, "claim", dedupe_key), str(time.time()), ttl_s)


def mark_attempt(
    kv: KV,
    account_key: str,
    dedupe_key: str,
    *,
    create_time: float | None = None,
    now: float | None = None,
    ttl_s: float = CLAIM_TTL_S,
) -> int:
    """Number this delivery of the message (1, 2, 3…), also inferred from its age when attempts were lost."""
    counted = 1
    while not set_if_absent(kv, _key(account_key, f"attempt{counted}", dedupe_key), "1", ttl_s):
        counted += 1
        if counted > MAX_ATTEMPTS + 2:
            break
    if create_time is None:
        return counted
    age = (time.time() if now is None else now) - create_time
    inferred = 1 + int(max(0.0, age) // ATTEMPT_INTERVAL_S)
    return max(counted, min(inferred, MAX_ATTEMPTS))


def is_last_attempt(attempt: int) -> bool:
    """True when WeChat will not send this message again."""
    return attempt >= MAX_ATTEMPTS


def store_answer(kv: KV, account_key: str, dedupe_key: str, parts: list[str], ttl_s: float = CLAIM_TTL_S) -> None:
    """Save the split answer where every attempt can read it."""
    kv.set(_key(account_key, "answer", dedupe_key), json.dumps(parts, ensure_ascii=False), ttl=ttl_s)


def get_answer(kv: KV, account_key: str, dedupe_key: str) -> list[str] | None:
    """The stored answer, or None while the model is still working."""
    raw = kv.get(_key(account_key, "answer", dedupe_key))
    return None if raw is None else list(json.loads(raw))


def wait_for_answer(
    kv: KV,
    account_key: str,
    dedupe_key: str,
    timeout_s: float,
    *,
    poll_s: float = POLL_INTERVAL_S,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> list[str] | None:
    """Poll for the answer for up to `timeout_s` (at least one look)."""
    deadline = clock() + timeout_s
    while True:
        parts = get_answer(kv, account_key, dedupe_key)
        if parts is not None:
            return parts
        remaining = deadline - clock()
        if remaining <= 0:
            return None
        sleep(min(poll_s, remaining))


def publish_answer(kv: KV, account_key: str, dedupe_key: str, parts: list[str]) -> bool:
    """Job side: store the answer; True if a passive reply will carry it, False if the job must deliver."""
    store_answer(kv, account_key, dedupe_key, parts)
    if set_if_absent(kv, _key(account_key, "outcome", dedupe_key), "ready", CLAIM_TTL_S):
        return True
    return kv.get(_key(account_key, "outcome", dedupe_key)) == "ready"


def give_up(kv: KV, account_key: str, dedupe_key: str) -> list[str] | None:
    """Last attempt: hand delivery to the job (None), unless the answer landed meanwhile (its parts)."""
    if set_if_absent(kv, _key(account_key, "outcome", dedupe_key), "async", CLAIM_TTL_S):
        return None
    if kv.get(_key(account_key, "outcome", dedupe_key)) == "async":
        return None  # a concurrent duplicate of the last attempt already gave up
    return get_answer(kv, account_key, dedupe_key)


@dataclass(frozen=True)
class Outcome:
    """What the blueprint returns for this attempt."""

    kind: Literal["answer", "hold", "handed_off"]
    parts: list[str] = field(default_factory=list)
    attempt: int = 1


def await_outcome(
    kv: KV,
    account_key: str,
    dedupe_key: str,
    attempt: int,
    started_at: float,
    *,
    reply_budget_s: float = REPLY_BUDGET_S,
    hold_until_s: float = HOLD_UNTIL_S,
    poll_s: float = POLL_INTERVAL_S,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Outcome:
    """Run one attempt of the state machine (see module docstring); `started_at` is clock() at request start."""
    waited = wait_for_answer(
        kv, account_key, dedupe_key, started_at + reply_budget_s - clock(), poll_s=poll_s, clock=clock, sleep=sleep
    )
    if waited is not None:
        return Outcome("answer", waited, attempt)
    if not is_last_attempt(attempt):
        late = wait_for_answer(
            kv, account_key, dedupe_key, started_at + hold_until_s - clock(), poll_s=poll_s, clock=clock, sleep=sleep
        )
        return Outcome("answer", late, attempt) if late is not None else Outcome("hold", [], attempt)
    parts = give_up(kv, account_key, dedupe_key)
    return Outcome("answer", parts, attempt) if parts else Outcome("handed_off", [], attempt)


def notice_text(can_push: bool) -> str:
    """Short passive reply for the last attempt when the answer is not ready."""
    if can_push:
        return "正在思考，答案准备好后会自动发给您。"
    return "正在思考，答案较长。请稍后回复任意内容（如“1”）获取答案。"


@contextmanager
def _mutex(kv: KV, key: str, timeout_s: float = 2.0, ttl_s: float = 5.0) -> Iterator[None]:
    """Short best-effort lock over KV (SET NX with TTL), for read-modify-write of one key."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout_s
    while not set_if_absent(kv, key, token, ttl_s):
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not lock {key}")
        time.sleep(0.01)
    try:
        yield
    finally:
        if kv.get(key) == token:
            kv.delete(key)


def queue_pending(kv: KV, account_key: str, openid: str, parts: list[str], ttl_s: float = PENDING_TTL_S) -> int:
    """Append parts for delivery on the user's next message; the number now pending."""
    key = _key(account_key, "pending", openid)
    with _mutex(kv, key + ":lock"):
        raw = kv.get(key)
        pending = (json.loads(raw) if raw else []) + list(parts)
        kv.set(key, json.dumps(pending, ensure_ascii=False), ttl=ttl_s)
    return len(pending)


def pop_pending(kv: KV, account_key: str, openid: str, limit: int | None = None) -> list[str]:
    """Take up to `limit` (default all) pending parts, oldest first; the rest stay queued."""
    key = _key(account_key, "pending", openid)
    with _mutex(kv, key + ":lock"):
        raw = kv.get(key)
        if not raw:
            return []
        pending = json.loads(raw)
        n = len(pending) if limit is None else max(0, limit)
        taken, rest = pending[:n], pending[n:]
        if rest:
            kv.set(key, json.dumps(rest, ensure_ascii=False), ttl=PENDING_TTL_S)
        else:
            kv.delete(key)
    return taken


def has_pending(kv: KV, account_key: str, openid: str) -> bool:
    """True when parts wait for this user's next message."""
    return bool(kv.get(_key(account_key, "pending", openid)))
