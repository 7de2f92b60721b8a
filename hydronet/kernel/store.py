"""Fast shared state: Redis in production, an in-process store in embedded mode.

Both implement the same small interface (get/set/delete/incr, atomic
multi-counter reservation, locks).  Anything two workers must agree on goes
through here; nothing billable lives only here.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import cast

import redis
from flask import current_app

# Quota counters with holds.  Each counter key K comes with four companions:
#   K:chk  present while K was checked against the database recently (its TTL is the reconcile period)
#   K:held the sum of the live holds;  K:hz  hold id -> deadline (ms);  K:hh  hold id -> amount
# K itself counts what was committed; a reservation is a hold with a deadline, settled into K after
# the work was stored, or given back.  A hold nobody settles (its worker died) lapses at its deadline.
QUOTA_KEY_PARTS = ("", ":chk", ":held", ":hz", ":hh")

# KEYS = the five keys of each counter; ARGV = [n, hold id, now_ms, deadline_ms, amount_1..n,
# limit_1..n, ttl_1..n].  Returns {1,0,0} when held, {0, i, used} when counter i would pass its limit
# (used = committed + held), {2, i, 0} when counter i is missing or due for a check against the
# database (seed it, then retry).  All-or-nothing.
_RESERVE_LUA = """
local n = tonumber(ARGV[1])
local id, now, deadline = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local function k(i, j) return KEYS[(i - 1) * 5 + j] end
for i = 1, n do
  if redis.call('EXISTS', k(i, 1)) == 0 or redis.call('EXISTS', k(i, 2)) == 0 then
    return {2, i, 0}
  end
end
for i = 1, n do
  local lapsed = redis.call('ZRANGEBYSCORE', k(i, 4), '-inf', now)
  if #lapsed > 0 then
    for _, h in ipairs(lapsed) do
      redis.call('DECRBY', k(i, 3), tonumber(redis.call('HGET', k(i, 5), h) or '0'))
      redis.call('HDEL', k(i, 5), h)
    end
    redis.call('ZREMRANGEBYSCORE', k(i, 4), '-inf', now)
  end
end
for i = 1, n do
  local amount = tonumber(ARGV[4 + i])
  local limit = tonumber(ARGV[4 + n + i])
  if limit >= 0 then
    local used = tonumber(redis.call('GET', k(i, 1)) or '0') + tonumber(redis.call('GET', k(i, 3)) or '0')
    if used + amount > limit then
      return {0, i, used}
    end
  end
end
for i = 1, n do
  local amount = tonumber(ARGV[4 + i])
  local ttl = tonumber(ARGV[4 + 2 * n + i])
  redis.call('HSET', k(i, 5), id, amount)
  redis.call('ZADD', k(i, 4), deadline, id)
  redis.call('INCRBY', k(i, 3), amount)
  for j = 3, 5 do
    redis.call('EXPIRE', k(i, j), ttl)
  end
end
return {1, 0, 0}
"""

# KEYS as above; ARGV = [n, hold id, charge_1..n].  Drops the hold (if it has not lapsed) and adds the
# charge to the committed count, only when that count exists: a missing one is seeded from the
# database later, which already holds the charge.
_SETTLE_LUA = """
local n = tonumber(ARGV[1])
local id = ARGV[2]
local function k(i, j) return KEYS[(i - 1) * 5 + j] end
for i = 1, n do
  local amount = redis.call('HGET', k(i, 5), id)
  if amount then
    redis.call('HDEL', k(i, 5), id)
    redis.call('ZREM', k(i, 4), id)
    redis.call('DECRBY', k(i, 3), tonumber(amount))
  end
  local charge = tonumber(ARGV[2 + i])
  if charge ~= 0 and redis.call('EXISTS', k(i, 1)) == 1 then
    redis.call('INCRBY', k(i, 1), charge)
  end
end
return 1
"""


def quota_keys(keys: Sequence[str]) -> list[str]:
    """The five keys of each counter, in the order the scripts expect."""
    return [key + part for key in keys for part in QUOTA_KEY_PARTS]


class Store(abc.ABC):
    """Interface shared by RedisStore and MemoryStore."""

    kind = "abstract"

    @abc.abstractmethod
    def get(self, key: str) -> str | None: ...
    @abc.abstractmethod
    def set(self, key: str, value: str, ttl: float | None = None, nx: bool = False) -> bool: ...
    @abc.abstractmethod
    def delete(self, *keys: str) -> int: ...
    @abc.abstractmethod
    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int: ...
    @abc.abstractmethod
    def ttl(self, key: str) -> float | None: ...
    @abc.abstractmethod
    def ping(self) -> bool: ...
    def reserve(
        self,
        keys: Sequence[str],
        amounts: Sequence[int],
        limits: Sequence[int],
        ttls: Sequence[int],
        hold_id: str,
        deadline: float,
    ) -> tuple[int, int, int]:
        """Atomically hold amounts on counters until ``deadline`` (epoch s) unless one would pass its limit.

        Limits of -1 are none.  Returns (status, index, used): status 1 held, 0 refused by counter
        ``index`` already at ``used`` (committed + held), 2 counter ``index`` missing or due for a
        check against the database (`seed` it, then retry).
        """
        raise NotImplementedError

    def settle(self, keys: Sequence[str], hold_id: str, charges: Sequence[int]) -> None:
        """Drop a hold and add ``charges`` to the committed counts (all zero: give it back)."""
        raise NotImplementedError

    def seed(self, key: str, value: int, ttl: float, check_ttl: float) -> None:
        """Set a counter's committed count from the database, checked for ``check_ttl`` seconds."""
        self.set_many([(key, str(value))], ttl=ttl)
        self.set(key + ":chk", "1", ttl=check_ttl)

    def held(self, key: str) -> int:
        """The sum of a counter's live holds (lapsed ones are dropped at the next reservation)."""
        return int(self.get(key + ":held") or 0)

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        return [self.get(k) for k in keys]

    def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None = None, nx: bool = False) -> None:
        """Set several keys in one round trip (each with the same ttl / NX rule)."""
        for key, value in items:
            self.set(key, value, ttl=ttl, nx=nx)

    @contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        yield


class RedisStore(Store):
    """Store backed by a redis-py client (shared by every worker and server)."""

    kind = "redis"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
        )
        self._reserve = self.client.register_script(_RESERVE_LUA)
        self._settle = self.client.register_script(_SETTLE_LUA)

    def get(self, key: str) -> str | None:
        return cast("str | None", self.client.get(key))  # decode_responses=True: str, never bytes

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        return cast("list[str | None]", self.client.mget(keys)) if keys else []

    def set(self, key: str, value: str, ttl: float | None = None, nx: bool = False) -> bool:
        px = int(ttl * 1000) if ttl else None
        return bool(self.client.set(key, value, px=px, nx=nx))

    def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None = None, nx: bool = False) -> None:
        pipe = self.client.pipeline(transaction=False)
        px = int(ttl * 1000) if ttl else None
        for key, value in items:
            pipe.set(key, value, px=px, nx=nx)
        pipe.execute()

    def delete(self, *keys: str) -> int:
        return int(self.client.delete(*keys)) if keys else 0

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        if ttl:
            pipe = self.client.pipeline()
            pipe.incrby(key, amount)
            pipe.expire(key, int(ttl), nx=True)
            return int(pipe.execute()[0])
        return int(self.client.incrby(key, amount))

    def ttl(self, key: str) -> float | None:
        value = self.client.pttl(key)
        return value / 1000 if value and value > 0 else None

    def ping(self) -> bool:
        return bool(self.client.ping())

    def reserve(self, keys, amounts, limits, ttls, hold_id, deadline):
        n = len(keys)
        args = [n, hold_id, int(time.time() * 1000), int(deadline * 1000), *amounts, *limits, *ttls]
        status, idx, used = self._reserve(keys=quota_keys(keys), args=args)
        return int(status), int(idx) - 1, int(used)

    def settle(self, keys, hold_id, charges):
        self._settle(keys=quota_keys(keys), args=[len(keys), hold_id, *charges])

    def seed(self, key, value, ttl, check_ttl):
        pipe = self.client.pipeline(transaction=True)
        pipe.set(key, str(value), px=int(ttl * 1000))
        pipe.set(key + ":chk", "1", px=int(check_ttl * 1000))
        pipe.execute()

    @contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        with self.client.lock(f"lock:{name}", timeout=timeout, blocking_timeout=timeout):
            yield


class MemoryStore(Store):
    """Single-process store for embedded mode and unit tests."""

    kind = "memory"

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}
        self._mutex = threading.RLock()
        self._locks: dict[str, threading.Lock] = {}
        self._holds: dict[str, dict[str, tuple[int, float]]] = {}

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    def get(self, key: str) -> str | None:
        with self._mutex:
            return self._live(key)

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        with self._mutex:
            return [self._live(k) for k in keys]

    def set(self, key: str, value: str, ttl: float | None = None, nx: bool = False) -> bool:
        with self._mutex:
            if nx and self._live(key) is not None:
                return False
            self._data[key] = (str(value), time.monotonic() + ttl if ttl else None)
            return True

    def delete(self, *keys: str) -> int:
        with self._mutex:
            return sum(1 for k in keys if self._data.pop(k, None) is not None)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._mutex:
            current = self._live(key)
            expires = self._data[key][1] if current is not None else (time.monotonic() + ttl if ttl else None)
            value = int(current or 0) + amount
            self._data[key] = (str(value), expires)
            return value

    def ttl(self, key: str) -> float | None:
        with self._mutex:
            if self._live(key) is None:
                return None
            expires = self._data[key][1]
            return expires - time.monotonic() if expires else None

    def ping(self) -> bool:
        return True

    def reserve(self, keys, amounts, limits, ttls, hold_id, deadline):
        with self._mutex:
            for i, key in enumerate(keys):
                if self._live(key) is None or self._live(key + ":chk") is None:
                    return 2, i, 0
            now = time.time()
            for key in keys:
                holds = self._holds.setdefault(key, {})
                for lapsed in [h for h, (_amount, until) in holds.items() if until <= now]:
                    del holds[lapsed]
            for i, key in enumerate(keys):
                used = int(self._live(key) or 0) + self.held(key)
                if limits[i] >= 0 and used + amounts[i] > limits[i]:
                    return 0, i, used
            for i, key in enumerate(keys):
                self._holds[key][hold_id] = (int(amounts[i]), deadline)
            return 1, -1, 0

    def settle(self, keys, hold_id, charges):
        with self._mutex:
            for key, charge in zip(keys, charges, strict=True):
                self._holds.get(key, {}).pop(hold_id, None)
                if charge and self._live(key) is not None:
                    self.incr(key, charge)

    def held(self, key: str) -> int:
        with self._mutex:
            return sum(amount for amount, _until in self._holds.get(key, {}).values())

    @contextmanager
    def lock(self, name: str, timeout: float = 30.0) -> Iterator[None]:
        with self._mutex:
            lk = self._locks.setdefault(name, threading.Lock())
        if not lk.acquire(timeout=timeout):
            raise TimeoutError(f"could not acquire lock {name}")
        try:
            yield
        finally:
            lk.release()


def make_store(redis_url: str) -> Store:
    """RedisStore when a URL is configured, else MemoryStore."""
    return RedisStore(redis_url) if redis_url else MemoryStore()


def get_store() -> Store:
    """The app's shared store (Redis or in-process), bound by create_app."""
    return current_app.extensions.get("hydronet_store") or MemoryStore()
