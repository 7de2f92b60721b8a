"""Fast shared state: Redis in production, an in-process store in embedded mode.

Both implement the same small interface (get/set/delete/incr, atomic
multi-counter reservation, locks).  Anything two workers must agree on goes
through here; nothing billable lives only here.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import redis
from flask import current_app

# KEYS = counter keys; ARGV = [n, amount_1..n, limit_1..n, ttl_1..n]
# Returns {1,0,0} when reserved, {0, i, used} when counter i would pass its
# limit, {2, i, 0} when counter i does not exist (lost or new: seed it from
# the database, then retry).  All-or-nothing.
_RESERVE_LUA = """
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    return {2, i, 0}
  end
end
for i = 1, n do
  local amount = tonumber(ARGV[1 + i])
  local limit = tonumber(ARGV[1 + n + i])
  if limit >= 0 then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    if used + amount > limit then
      return {0, i, used}
    end
  end
end
for i = 1, n do
  local amount = tonumber(ARGV[1 + i])
  local ttl = tonumber(ARGV[1 + 2 * n + i])
  local v = redis.call('INCRBY', KEYS[i], amount)
  if ttl > 0 and redis.call('TTL', KEYS[i]) < 0 then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
return {1, 0, 0}
"""


class Store:
    """Interface shared by RedisStore and MemoryStore."""

    kind = "abstract"

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: float | None = None, nx: bool = False) -> bool: ...
    def delete(self, *keys: str) -> int: ...
    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int: ...
    def ttl(self, key: str) -> float | None: ...
    def ping(self) -> bool: ...
    def reserve(self, keys: Sequence[str], amounts: Sequence[int], limits: Sequence[int], ttls: Sequence[int]) -> tuple[int, int, int]:
        """Atomically add amounts to counters unless one would pass its limit (-1 = none).

        Returns (status, index, used): status 1 reserved, 0 refused by counter
        ``index`` already at ``used``, 2 counter ``index`` missing (seed it).
        """
        raise NotImplementedError

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

    def get(self, key: str) -> str | None:
        return self.client.get(key)

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        return self.client.mget(keys) if keys else []

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

    def reserve(self, keys, amounts, limits, ttls):
        n = len(keys)
        status, idx, used = self._reserve(keys=list(keys), args=[n, *amounts, *limits, *ttls])
        return int(status), int(idx) - 1, int(used)

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

    def reserve(self, keys, amounts, limits, ttls):
        with self._mutex:
            for i, key in enumerate(keys):
                if self._live(key) is None:
                    return 2, i, 0
            for i, key in enumerate(keys):
                used = int(self._live(key) or 0)
                if limits[i] >= 0 and used + amounts[i] > limits[i]:
                    return 0, i, used
            for i, key in enumerate(keys):
                value = self.incr(key, amounts[i])
                if ttls[i] > 0 and self._data[key][1] is None:  # as the Lua script: expire a counter that has no TTL
                    self._data[key] = (str(value), time.monotonic() + ttls[i])
            return 1, -1, 0

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
