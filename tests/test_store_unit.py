"""The shared store's contract (hydronet/kernel/store.py), for the in-process store and, when configured, Redis.

The quota reservation is what keeps tenants inside their plans: its three answers (reserved, refused by
counter i at `used`, counter i missing), its all-or-nothing rule, the exact limit boundary and -1 for
unlimited are pinned here against hand-computed expectations.
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from hydronet.kernel.store import MemoryStore, RedisStore, make_store


@pytest.fixture(params=["memory", "redis"])
def store(request, backends):
    if request.param == "memory":
        return MemoryStore()
    if not backends.redis_url:
        pytest.skip("no Redis configured (HYDRONET_TEST_REDIS_URL)")
    s = RedisStore(backends.redis_url)
    s.client.flushdb()
    return s


def k(name: str) -> str:
    return f"test:{name}:{uuid.uuid4().hex[:8]}"


def test_make_store_picks_the_backend(backends):
    assert make_store("").kind == "memory"
    if backends.redis_url:
        assert make_store(backends.redis_url).kind == "redis"


def test_get_set_nx_delete(store):
    key = k("a")
    assert store.get(key) is None
    assert store.set(key, "1") is True and store.get(key) == "1"
    assert store.set(key, "2", nx=True) is False and store.get(key) == "1"
    assert store.set(key, "3") is True and store.get(key) == "3"
    other = k("b")
    store.set(other, "x")
    assert store.mget([key, other, k("missing")]) == ["3", "x", None]
    assert store.delete(key, other, k("missing")) == 2
    assert store.get(key) is None and store.delete() == 0
    assert store.ping() is True


def test_expiry(store):
    key, lasting = k("ttl"), k("lasting")
    store.set(key, "v", ttl=0.3)
    store.set(lasting, "v")
    remaining = store.ttl(key)
    assert remaining is not None and 0.1 < remaining <= 0.3
    assert store.ttl(lasting) is None and store.ttl(k("missing")) is None
    time.sleep(0.45)
    assert store.get(key) is None and store.get(lasting) == "v"
    assert store.set(key, "again", nx=True) is True  # an expired key is free for NX


def test_set_many(store):
    a, b = k("m1"), k("m2")
    store.set(a, "old")
    store.set_many([(a, "1"), (b, "2")], ttl=10, nx=True)
    assert store.get(a) == "old" and store.get(b) == "2"
    assert 8 < (store.ttl(b) or 0) <= 10
    store.set_many([(a, "new")])  # NX is off unless asked for
    assert store.get(a) == "new" and store.ttl(a) is None


def test_incr_counts_and_keeps_the_first_expiry(store):
    key = k("n")
    assert store.incr(key) == 1
    assert store.incr(key, 5) == 6
    assert store.incr(key, -2) == 4 and store.get(key) == "4"
    timed = k("timed")
    assert store.incr(timed, 2, ttl=10) == 2
    first = store.ttl(timed)
    assert first is not None and 8 < first <= 10
    time.sleep(0.2)
    assert store.incr(timed, 1, ttl=100) == 3
    assert store.ttl(timed) <= first  # an increment never extends the window


def test_reserve_reports_a_missing_counter_by_index(store):
    a, b = k("q1"), k("q2")
    store.set(a, "0")
    assert store.reserve([a, b], [1, 1], [10, 10], [60, 60]) == (2, 1, 0)
    assert store.get(a) == "0"  # nothing reserved
    assert store.reserve([b, a], [1, 1], [10, 10], [60, 60])[:2] == (2, 0)


def test_reserve_up_to_the_limit_exactly(store):
    key = k("q")
    store.set(key, "8")
    assert store.reserve([key], [2], [10], [60]) == (1, -1, 0)  # 8 + 2 == 10: allowed (same answer on both stores)
    assert store.get(key) == "10"
    assert store.reserve([key], [1], [10], [60]) == (0, 0, 10)  # 11 > 10: refused, reports 10 used
    assert store.get(key) == "10"


def test_reserve_is_all_or_nothing(store):
    a, b = k("a"), k("b")
    store.set(a, "0")
    store.set(b, "5")
    assert store.reserve([a, b], [1, 1], [10, 5], [60, 60]) == (0, 1, 5)
    assert store.get(a) == "0" and store.get(b) == "5"
    assert store.reserve([a, b], [3, 0], [10, 5], [60, 60])[0] == 1
    assert store.get(a) == "3" and store.get(b) == "5"


def test_reserve_limits_zero_and_unlimited(store):
    zero, unlimited = k("zero"), k("unl")
    store.set(zero, "0")
    store.set(unlimited, "1000000")
    assert store.reserve([zero], [1], [0], [60]) == (0, 0, 0)  # 0 means none at all
    assert store.reserve([unlimited], [5], [-1], [60])[0] == 1  # -1 means no limit
    assert store.get(unlimited) == "1000005"


def test_reserve_sets_a_ttl_only_when_the_counter_has_none(store):
    fresh, timed = k("fresh"), k("timed")
    store.set(fresh, "0")
    store.set(timed, "0", ttl=5)
    assert store.reserve([fresh, timed], [1, 1], [10, 10], [100, 100])[0] == 1
    assert 90 < (store.ttl(fresh) or 0) <= 100
    assert (store.ttl(timed) or 0) <= 5
    none = k("none")
    store.set(none, "0")
    assert store.reserve([none], [1], [10], [0])[0] == 1  # ttl 0: no expiry
    assert store.get(none) == "1" and store.ttl(none) is None
    short = k("short")
    store.set(short, "0")
    assert store.reserve([short], [1], [10], [1])[0] == 1
    assert 0 < (store.ttl(short) or 0) <= 1


def test_lock_excludes_and_releases(store):
    name = k("lock")
    order: list[str] = []

    def contender():
        with store.lock(name, timeout=5):
            order.append("second")

    with store.lock(name, timeout=5):
        thread = threading.Thread(target=contender)
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]  # the contender waited for the holder


def test_memory_lock_times_out():
    store = MemoryStore()
    with store.lock("busy"):
        failed: list[BaseException] = []

        def contender():
            try:
                with store.lock("busy", timeout=0.1):
                    pass
            except TimeoutError as exc:
                failed.append(exc)

        thread = threading.Thread(target=contender)
        thread.start()
        thread.join(5)
    assert len(failed) == 1
