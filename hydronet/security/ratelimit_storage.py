"""Rate-limit storage: limits' Redis storage, one round trip per limit hit.

That trip also carries the caller's revocation keys and cached user/tenant
(announced by the key function, services/cache.want): an authenticated
request that hits one limit makes one Redis round trip in all.

flask-limiter records a hit (moving window: one Lua script) and then, to
write the X-RateLimit-* headers, asks for the window's state (a second
script).  `PipelinedRedisStorage` sends both scripts in one pipeline when a
hit is recorded and answers the following window query of the same request
from that result.  Registered with limits under the ``hydronet+redis://``
scheme (limits' documented way to add a storage); everything else is the
stock `limits.storage.RedisStorage`.
"""
from __future__ import annotations

import time

from flask import g, has_request_context
from limits.storage import RedisStorage
from redis.exceptions import NoScriptError

from ..services.cache import remember, take_wanted

SCHEME = "hydronet+redis"
WINDOW_MEMO = "_ratelimit_windows"  # g key: windows fetched with this request's hits


class PipelinedRedisStorage(RedisStorage):
    """RedisStorage whose moving-window hit also returns the window, in the same round trip."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, **options) -> None:
        super().__init__(uri.replace(SCHEME + "://", "redis://", 1), **options)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if not has_request_context():
            return super().acquire_entry(key, limit, expiry, amount)
        prefixed = self.prefixed_key(key)
        now = time.time()
        # EVALSHA directly: redis-py's pipelined Script objects would first ask
        # SCRIPT EXISTS, a round trip of its own.  Scripts missing (Redis
        # restarted or flushed) → the stock path, which loads them.
        pipe = self.get_connection().pipeline(transaction=False)
        pipe.evalsha(self.lua_acquire_moving_window.sha, 1, prefixed, now, limit, expiry, amount)
        pipe.evalsha(self.lua_moving_window.sha, 1, prefixed, now - expiry, limit)
        wanted = take_wanted()  # what authentication will read next (services/cache.want): same trip
        if wanted:
            pipe.mget(wanted)
        acquired, window, *fetched = pipe.execute(raise_on_error=False)
        if fetched and not isinstance(fetched[0], Exception):
            remember(wanted, fetched[0])
        if isinstance(acquired, NoScriptError):
            return super().acquire_entry(key, limit, expiry, amount)
        if isinstance(acquired, Exception):
            raise acquired
        if isinstance(window, Exception):
            window = self.lua_moving_window([prefixed], [now - expiry, limit])
        start, count = (float(window[0]), int(window[1])) if window else (now, 0)
        g.setdefault(WINDOW_MEMO, {})[(key, limit, expiry)] = (start, count)
        return bool(acquired)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        if has_request_context():
            window = g.get(WINDOW_MEMO, {}).pop((key, limit, expiry), None)
            if window is not None:
                return window
        return super().get_moving_window(key, limit, expiry)


def storage_uri(redis_url: str) -> str:
    """The flask-limiter storage URI for a Redis URL (``memory://`` without one)."""
    if redis_url.startswith("redis://"):
        return SCHEME + redis_url[len("redis"):]
    return redis_url or "memory://"
