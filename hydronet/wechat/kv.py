"""The tiny key-value interface the WeChat delivery state machine needs, with two implementations.

`hydronet.store.RedisStore` and `hydronet.store.MemoryStore` already satisfy `KV`; `RedisKV`
adapts a bare `redis.Redis` client and `MemoryKV` serves single-process use and unit tests.
"""
from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

import redis


@runtime_checkable
class KV(Protocol):
    """get / set (with TTL in seconds and NX) / delete over string values."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: float | None = None, nx: bool = False) -> bool: ...

    def delete(self, *keys: str) -> int: ...


def set_if_absent(kv: KV, key: str, value: str, ttl: float | None) -> bool:
    """Atomically create `key` unless it exists (Redis SET NX PX); True when this call created it."""
    return bool(kv.set(key, value, ttl=ttl, nx=True))


class MemoryKV:
    """Thread-safe in-process KV with expiring keys."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}
        self._mutex = threading.Lock()

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
        """Value of `key`, or None when missing or expired."""
        with self._mutex:
            return self._live(key)

    def set(self, key: str, value: str, ttl: float | None = None, nx: bool = False) -> bool:
        """Store `value`; with nx only when absent."""
        with self._mutex:
            if nx and self._live(key) is not None:
                return False
            self._data[key] = (str(value), time.monotonic() + ttl if ttl else None)
            return True

    def delete(self, *keys: str) -> int:
        """Remove keys; number removed."""
        with self._mutex:
            return sum(1 for k in keys if self._live(k) is not None and self._data.pop(k, None) is not None)


class RedisKV:
    """KV over a `redis.Redis` client (bytes or decoded responses), optionally namespaced."""

    def __init__(self, client: redis.Redis, namespace: str = "") -> None:
        self.client = client
        self.namespace = namespace

    def _k(self, key: str) -> str:
        return f"{self.namespace}{key}"

    def get(self, key: str) -> str | None:
        """Value of `key`, decoded as UTF-8."""
        value = self.client.get(self._k(key))
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return value

    def set(self, key: str, value: str, ttl: float | None = None, nx: bool = False) -> bool:
        """SET with PX (milliseconds) and NX."""
        px = max(1, int(ttl * 1000)) if ttl else None
        return bool(self.client.set(self._k(key), value, px=px, nx=nx))

    def delete(self, *keys: str) -> int:
        """DEL the keys."""
        return int(self.client.delete(*(self._k(k) for k in keys))) if keys else 0
