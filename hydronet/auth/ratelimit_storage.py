"""Rate-limit storage: limits' Redis storage, one round trip and one script per limit hit.

That trip also carries the caller's revocation keys and cached user/tenant
(announced by the key function, auth/state.want): an authenticated
request that hits one limit makes one Redis round trip in all.

flask-limiter records a hit (moving window: limits' acquire script) and then,
to write the X-RateLimit-* headers, asks for the window's state (a second
script).  `PipelinedRedisStorage` runs one script that does both — the same
algorithm as limits' two, in one call, so Redis runs one script per request
instead of two — and answers the following window query of the same request
from its result.  Registered with limits under the ``hydronet+redis://``
scheme (limits' documented way to add a storage); everything else is the
stock `limits.storage.RedisStorage`.
"""

from __future__ import annotations

import time
from typing import cast

import redis
from flask import has_request_context
from limits.storage import RedisStorage
from redis.exceptions import NoScriptError

from hydronet.auth import state

SCHEME = "hydronet+redis"

# limits' acquire_moving_window.lua, then its moving_window.lua on the same list:
# KEYS[1] holds hit timestamps, newest first.  ARGV: now, limit, expiry, amount.
# Returns {acquired (1/0), oldest timestamp in the window, hits in the window}
# or {acquired} when the window is empty.
ACQUIRE_AND_WINDOW = """
local now, limit, expiry, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local since = now - expiry
local acquired = 0
if amount <= limit then
    local entry = redis.call('lindex', KEYS[1], limit - amount)
    if not (entry and tonumber(entry) >= since) then
        local entries = {}
        for i = 1, amount do entries[i] = now end
        for i = 1, #entries, 5000 do
            redis.call('lpush', KEYS[1], unpack(entries, i, math.min(i + 4999, #entries)))
        end
        redis.call('ltrim', KEYS[1], 0, limit - 1)
        redis.call('expire', KEYS[1], expiry)
        acquired = 1
    end
end
local low, high, oldest = 0, limit - 1, nil
while low <= high do
    local mid = math.floor((low + high) / 2)
    local value = tonumber(redis.call('lindex', KEYS[1], mid))
    if value and value >= since then
        oldest = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
if oldest then
    return {acquired, tostring(redis.call('lindex', KEYS[1], oldest)), oldest + 1}
end
return {acquired}
"""


class PipelinedRedisStorage(RedisStorage):
    """RedisStorage whose moving-window hit also returns the window, in the same round trip."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, **options) -> None:
        super().__init__(uri.replace(SCHEME + "://", "redis://", 1), **options)

    def client(self) -> redis.Redis:
        """limits types its connection as a protocol; it is a redis-py client."""
        return cast(redis.Redis, self.get_connection())

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_acquire_and_window = self.client().register_script(ACQUIRE_AND_WINDOW)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if not has_request_context():
            return super().acquire_entry(key, limit, expiry, amount)
        prefixed = self.prefixed_key(key)
        args = [time.time(), limit, expiry, amount]
        # EVALSHA directly: redis-py's pipelined Script objects would first ask
        # SCRIPT EXISTS, a round trip of its own.
        pipe = self.client().pipeline(transaction=False)
        pipe.evalsha(self.lua_acquire_and_window.sha, 1, prefixed, *args)
        wanted = state.take_wanted()  # what authentication will read next: same trip
        if wanted:
            pipe.mget(wanted)
        result, *fetched = pipe.execute(raise_on_error=False)
        if fetched and not isinstance(fetched[0], Exception):
            state.remember(wanted, fetched[0])
        if isinstance(result, NoScriptError):  # Redis restarted or flushed: the Script object loads it
            result = self.lua_acquire_and_window([prefixed], args)
        elif isinstance(result, Exception):
            raise result
        acquired, *window = result
        start, count = (float(window[0]), int(window[1])) if window else (args[0], 0)
        state.remember_window((key, limit, expiry), (start, count))
        return bool(acquired)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        window = state.take_window((key, limit, expiry))
        if window is not None:
            return window
        return super().get_moving_window(key, limit, expiry)


def storage_uri(redis_url: str) -> str:
    """The flask-limiter storage URI for a Redis URL (``memory://`` without one)."""
    if redis_url.startswith("redis://"):
        return SCHEME + redis_url[len("redis") :]
    return redis_url or "memory://"
