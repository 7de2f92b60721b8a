"""The 5-second-rule state machine: dedupe claims, attempts, hand-off and pending answers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hydronet.kernel.store import MemoryStore as MemoryKV  # the app's in-process store satisfies the KV protocol
from hydronet.wechat import delivery
from hydronet.wechat.kv import KV

ACCT, KEY = "wxacct", "msg:1001"


class FakeTime:
    """A clock whose sleep advances it; `at` schedules actions (e.g. the job publishing)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.events: list[tuple[float, object]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        for due, action in list(self.events):
            if due <= self.now:
                self.events.remove((due, action))
                action()  # type: ignore[operator]


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


def _run(kv: KV, attempt: int, publish_at: float | None) -> tuple[delivery.Outcome, float, bool | None]:
    """One attempt on fake time; returns the outcome, when it returned, and publish_answer's result."""
    ft, published = FakeTime(), []
    if publish_at is not None:
        ft.events.append((publish_at, lambda: published.append(delivery.publish_answer(kv, ACCT, KEY, ["答案"]))))
    out = delivery.await_outcome(kv, ACCT, KEY, attempt, 0.0, clock=ft.clock, sleep=ft.sleep)
    return out, ft.now, (published[0] if published else None)


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_ready_answer_is_replied_at_once(kv, attempt):
    delivery.publish_answer(kv, ACCT, KEY, ["答案"])
    out, at, _ = _run(kv, attempt, None)
    assert (out.kind, out.parts, at) == ("answer", ["答案"], 0.0)


@pytest.mark.parametrize("attempt", [1, 2])
def test_early_attempts_hold_past_wechats_deadline_so_it_retries(kv, attempt):
    out, at, _ = _run(kv, attempt, None)
    assert out.kind == "hold" and at == pytest.approx(delivery.HOLD_UNTIL_S)
    assert at > 5.0


def test_answer_landing_during_the_hold_is_still_returned(kv):
    out, at, published = _run(kv, 1, publish_at=4.8)
    assert (out.kind, published) == ("answer", True) and 4.8 <= at < delivery.HOLD_UNTIL_S


def test_answer_within_budget_is_replied_before_five_seconds(kv):
    out, at, published = _run(kv, 2, publish_at=3.0)
    assert (out.kind, published) == ("answer", True) and at < 4.5


def test_last_attempt_hands_off_before_five_seconds_and_job_must_deliver(kv):
    out, at, _ = _run(kv, 3, None)
    assert out.kind == "handed_off" and at == pytest.approx(delivery.REPLY_BUDGET_S)
    assert delivery.publish_answer(kv, ACCT, KEY, ["晚到的答案"]) is False


def test_publish_then_give_up_replies_passively(kv):
    assert delivery.publish_answer(kv, ACCT, KEY, ["a"]) is True
    assert delivery.give_up(kv, ACCT, KEY) == ["a"]


def _race_once() -> tuple[bool, list[str] | None]:
    """The job publishing and the last attempt giving up at the same instant."""
    kv, barrier, results = MemoryKV(), threading.Barrier(2), {}

    def job() -> None:
        barrier.wait()
        results["passive"] = delivery.publish_answer(kv, ACCT, KEY, ["x"])

    def last_attempt() -> None:
        barrier.wait()
        results["took"] = delivery.give_up(kv, ACCT, KEY)

    threads = [threading.Thread(target=job), threading.Thread(target=last_attempt)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results["passive"], results["took"]


def test_give_up_and_publish_race_has_exactly_one_deliverer():
    for _ in range(200):
        passive, took = _race_once()
        assert passive == (took == ["x"])


def test_attempts_are_numbered_across_workers(two_workers):
    a, b = two_workers
    assert [delivery.mark_attempt(kv, ACCT, KEY) for kv in (a, b, a)] == [1, 2, 3]


def test_attempt_number_is_inferred_from_message_age_when_earlier_attempts_were_lost(kv):
    now = 1_700_000_000.0
    assert delivery.mark_attempt(kv, ACCT, "msg:a", create_time=now - 1, now=now) == 1
    assert delivery.mark_attempt(kv, ACCT, "msg:b", create_time=now - 10.4, now=now) == 3
    assert delivery.is_last_attempt(3) and not delivery.is_last_attempt(2)


def test_claim_is_won_once_across_two_workers_on_real_redis(two_workers):
    a, b = two_workers
    with ThreadPoolExecutor(16) as pool:
        wins = list(pool.map(lambda i: delivery.claim((a, b)[i % 2], ACCT, KEY), range(32)))
    assert wins.count(True) == 1
    assert delivery.claim(a, ACCT, "msg:other") is True


def test_claim_expires_after_its_ttl(kv):
    assert delivery.claim(kv, ACCT, KEY, ttl_s=0.05)
    assert not delivery.claim(kv, ACCT, KEY)
    time.sleep(0.08)
    assert delivery.claim(kv, ACCT, KEY)


def test_pending_parts_queue_in_order_and_pop_in_batches(two_workers):
    a, b = two_workers
    assert delivery.queue_pending(a, ACCT, "oU", ["(1/3)", "(2/3)"]) == 2
    assert delivery.queue_pending(b, ACCT, "oU", ["(3/3)"]) == 3
    assert delivery.has_pending(b, ACCT, "oU") and not delivery.has_pending(b, ACCT, "oOther")
    assert delivery.pop_pending(b, ACCT, "oU", limit=1) == ["(1/3)"]
    assert delivery.pop_pending(a, ACCT, "oU") == ["(2/3)", "(3/3)"]
    assert delivery.pop_pending(a, ACCT, "oU") == [] and not delivery.has_pending(a, ACCT, "oU")


def test_concurrent_queueing_loses_nothing(two_workers):
    a, b = two_workers
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: delivery.queue_pending((a, b)[i % 2], ACCT, "oU", [str(i)]), range(40)))
    assert sorted(delivery.pop_pending(a, ACCT, "oU"), key=int) == [str(i) for i in range(40)]


def test_notice_mentions_how_the_answer_will_arrive():
    assert "自动" in delivery.notice_text(True)
    assert "回复" in delivery.notice_text(False)


# --- end to end on scaled time: WeChat's three attempts against two workers sharing Redis ---------------

SCALE = 0.1  # 5 s → 0.5 s


def _wechat_conversation(kv_a: KV, kv_b: KV, job_s: float) -> dict[str, object]:
    """Drive WeChat's attempts (reading replies only within its deadline) and the model job."""
    seen: dict[str, object] = {"jobs": 0, "async": None}
    key = f"msg:{time.monotonic_ns()}"

    def job(kv: KV) -> None:
        time.sleep(job_s)
        if not delivery.publish_answer(kv, ACCT, key, ["答案"]):
            seen["async"] = ["答案"]  # the job would push_or_queue here

    def handle(kv: KV, box: list[delivery.Outcome]) -> None:
        t0 = time.monotonic()
        attempt = delivery.mark_attempt(kv, ACCT, key)
        if delivery.claim(kv, ACCT, key):
            seen["jobs"] = int(seen["jobs"]) + 1  # type: ignore[arg-type]
            threading.Thread(target=job, args=(kv,)).start()
        box.append(
            delivery.await_outcome(
                kv, ACCT, key, attempt, t0, reply_budget_s=4.5 * SCALE, hold_until_s=6.0 * SCALE, poll_s=0.01
            )
        )

    for n in range(1, delivery.MAX_ATTEMPTS + 1):
        box: list[delivery.Outcome] = []
        worker = threading.Thread(target=handle, args=((kv_a, kv_b)[n % 2], box))
        worker.start()
        worker.join(timeout=5.0 * SCALE)  # WeChat hangs up after 5 s
        if box:  # answered in time: WeChat reads it and stops retrying
            seen["read"] = (n, box[0].kind, box[0].parts)
            break
    time.sleep(job_s + 0.2)  # let a held worker and the job finish
    return seen


@pytest.mark.parametrize(
    ("job_s", "read"),
    [
        (0.1, (1, "answer", ["答案"])),
        (0.7, (2, "answer", ["答案"])),
        (1.2, (3, "answer", ["答案"])),
        (1.7, (3, "handed_off", [])),
    ],
)
def test_each_message_is_answered_once_across_attempts_and_workers(two_workers, job_s, read):
    seen = _wechat_conversation(*two_workers, job_s)
    assert seen["jobs"] == 1
    assert seen["read"] == read
    assert seen["async"] == (["答案"] if read[1] == "handed_off" else None)
