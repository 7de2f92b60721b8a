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


def _hold(store, keys, amounts, limits, *, hold=None, lasts=60.0):
    return store.reserve(keys, amounts, limits, [60] * len(keys), hold or uuid.uuid4().hex, time.time() + lasts)


def _seed(store, key, value):
    store.seed(key, value, ttl=60, check_ttl=60)


def test_reserve_reports_a_missing_counter_by_index(store):
    a, b = k("q1"), k("q2")
    _seed(store, a, 0)
    assert _hold(store, [a, b], [1, 1], [10, 10]) == (2, 1, 0)
    assert store.held(a) == 0  # nothing held
    assert _hold(store, [b, a], [1, 1], [10, 10])[:2] == (2, 0)
    store.set(b, "0")  # a counter without its database check is due for one: reported too
    assert _hold(store, [a, b], [1, 1], [10, 10])[:2] == (2, 1)


def test_reserve_up_to_the_limit_exactly(store):
    key = k("q")
    _seed(store, key, 8)
    assert _hold(store, [key], [2], [10]) == (1, -1, 0)  # 8 + 2 == 10: allowed (same answer on both stores)
    assert store.held(key) == 2 and store.get(key) == "8"  # held, not yet committed
    assert _hold(store, [key], [1], [10]) == (0, 0, 10)  # 11 > 10: refused, reports committed + held


def test_reserve_is_all_or_nothing(store):
    a, b = k("a"), k("b")
    _seed(store, a, 0)
    _seed(store, b, 5)
    assert _hold(store, [a, b], [1, 1], [10, 5]) == (0, 1, 5)
    assert store.held(a) == 0  # refused by b: nothing held on a either
    assert _hold(store, [a, b], [3, 0], [10, 5])[0] == 1
    assert store.held(a) == 3


def test_reserve_limits_zero_and_unlimited(store):
    zero, unlimited = k("zero"), k("unlimited")
    _seed(store, zero, 0)
    _seed(store, unlimited, 1_000_000)
    assert _hold(store, [zero], [1], [0]) == (0, 0, 0)  # 0 means none at all
    assert _hold(store, [unlimited], [5], [-1])[0] == 1  # -1 means no limit


def test_settle_commits_the_charge_and_drops_the_hold(store):
    key = k("settle")
    _seed(store, key, 4)
    assert _hold(store, [key], [5], [10], hold="h1")[0] == 1
    store.settle([key], "h1", [3])
    assert store.held(key) == 0 and store.get(key) == "7"
    assert _hold(store, [key], [4], [10], hold="h2")[0] == 0  # 7 + 4 > 10
    store.settle([key], "h-unknown", [0])  # giving back a hold that is gone changes nothing
    assert store.get(key) == "7"


def test_a_lapsed_hold_gives_its_reservation_back(store):
    key = k("lapse")
    _seed(store, key, 0)
    assert _hold(store, [key], [9], [10], lasts=0.3)[0] == 1
    assert _hold(store, [key], [2], [10])[0] == 0  # 9 held + 2 > 10
    time.sleep(0.5)  # the first hold's worker never settled it
    assert _hold(store, [key], [2], [10])[0] == 1
    assert store.held(key) == 2


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
