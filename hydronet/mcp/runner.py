"""Running the async MCP SDK from synchronous web code, with a hard timeout.

Chat tools and the /mcp route are synchronous (gevent greenlets in
production, threads in development and tests); the SDK is anyio.  Each call
gets a fresh asyncio event loop in a real OS thread: under gevent every
greenlet shares one OS thread, so two loops run from two greenlets would
collide, while a real thread (gevent's thread pool) keeps the loop private and
the waiting greenlet cooperative.  The caller waits at most ``timeout`` (plus a
short grace for the coroutine's own cancellation to unwind).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")
GRACE_S = 5.0
POOL_SIZE = 64
_pools: dict[int, Any] = {}


class RunnerTimeout(TimeoutError):
    """The coroutine did not finish within the hard timeout."""


def _gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


def _gevent_pool():
    """This process's pool of real threads (created after fork, on first use)."""
    pool = _pools.get(os.getpid())
    if pool is None:
        from gevent.threadpool import ThreadPool

        pool = _pools[os.getpid()] = ThreadPool(POOL_SIZE)
    return pool


def run_async(fn: Callable[[], Awaitable[T]], timeout: float) -> T:
    """Run ``fn()`` on a private event loop in a real thread; RunnerTimeout after ``timeout`` + grace."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = anyio.run(fn, backend="asyncio")
        except BaseException as exc:  # re-raised in the caller (gevent's pool would print it otherwise)
            box["error"] = exc

    limit = timeout + GRACE_S
    if _gevent_patched():
        import gevent

        try:
            _gevent_pool().spawn(target).get(timeout=limit)
        except gevent.Timeout:
            raise RunnerTimeout(f"gave up after {limit:.0f} s") from None
    else:
        thread = threading.Thread(target=target, daemon=True, name="mcp-io")
        thread.start()
        thread.join(limit)
        if thread.is_alive():
            raise RunnerTimeout(f"gave up after {limit:.0f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]
