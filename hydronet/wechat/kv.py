"""The tiny key-value interface the WeChat delivery state machine needs.

`hydronet.kernel.store.RedisStore` and `hydronet.kernel.store.MemoryStore` (what the app passes) satisfy `KV`;
`RedisKV` adapts a bare, optionally namespaced `redis.Redis` client (the unit tests use it).
"""

from __future__ import annotations

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
