"""CPU-bound work off a gevent worker's event loop: a small process pool per web worker.

A gevent worker serves every request of the process from one thread. A pure-Python computation
(parsing a large .inp with WNTR, an inline analysis) never yields, so while it runs every other
request of that worker waits — health checks, streams, sign-ins. gevent's thread pool does not
help here: the work holds the GIL, and the loop only gets it back at the interpreter's switch
interval. :func:`run` therefore hands such work to a ``ProcessPoolExecutor`` and the calling
greenlet waits on the future, which under gevent's monkey-patching is cooperative.

Where nothing is monkey-patched (the dev server, tests, RQ workers, scripts) or the pool is
switched off (``CPU_POOL_PROCESSES = 0``), :func:`run` is a plain call: those processes have no
shared event loop to protect, and the work keeps the caller's in-process caches.

The pool starts in each web worker (never in a gunicorn master, so it is not inherited across a
fork; :func:`warm` from ``post_worker_init``, else at the first call) with the ``forkserver``
method: its processes come from a clean interpreter, not from a copy of a worker with a gevent
hub. Functions given to :func:`run` must be importable module-level functions taking and
returning picklable values; the modules named in ``preload`` are imported once by the fork server
so that the first call does not pay for them.
The pool's processes run at a lower priority (``POOL_NICENESS``) than the web workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from flask import Flask

from hydronet.kernel.errors import ServiceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
# the pool's processes run below the web workers: on a host short of cores, a parse or a simulation
# must not take CPU time from the loops that answer every other request
POOL_NICENESS = 10

_processes = 1
_preload: tuple[str, ...] = ()
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


class WorkTimedOut(Exception):
    """The work did not finish within the caller's timeout (it may still be running in the pool)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"CPU-bound work did not finish within {seconds:g} s")
        self.seconds = seconds


def init_app(app: Flask, preload: Sequence[str] = ()) -> None:
    """Take the pool size from ``CPU_POOL_PROCESSES`` and the modules its processes import up front."""
    configure(int(app.config["CPU_POOL_PROCESSES"]), preload)


def configure(processes: int, preload: Sequence[str] = ()) -> None:
    """Pool size (0 = always in-process) and modules to preload; a running pool is replaced."""
    global _processes, _preload
    if processes < 0:
        raise ValueError("CPU_POOL_PROCESSES must be 0 or more")
    with _lock:
        _processes, _preload = processes, tuple(preload)
        _shutdown_locked()


def offloading() -> bool:
    """True when :func:`run` sends work to the pool: gevent has patched this process and the pool is on."""
    if _processes == 0:
        return False
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


def run(function: Callable[..., T], *args: Any, timeout_s: float | None = None, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, in the pool when :func:`offloading`, else in this thread.

    Exceptions raised by ``function`` are raised here (they cross the process boundary pickled).
    :class:`WorkTimedOut` after ``timeout_s``; a pool whose process died answers 503 once and is
    rebuilt for the next call.
    """
    if not offloading():
        return function(*args, **kwargs)
    future: Future[T] = _executor().submit(function, *args, **kwargs)
    try:
        return future.result(timeout_s)
    except FutureTimeout:
        future.cancel()
        raise WorkTimedOut(timeout_s or 0.0) from None
    except BrokenProcessPool:
        log.error("the CPU pool lost a process (killed or out of memory); it is rebuilt for the next call")
        with _lock:
            _shutdown_locked()
        raise ServiceUnavailable("The computation was interrupted; try again") from None


def warm() -> None:
    """Start the pool's processes now, so that no request waits for them.

    Starting a process blocks the caller (not only its greenlet) until the fork server has
    imported the preloads: call this before a worker serves requests (gunicorn's
    ``post_worker_init``); a pool started lazily by a request stalls that worker once.
    """
    if offloading():
        executor = _executor()
        for future in [executor.submit(_noop) for _ in range(_processes)]:
            future.result()


def shutdown() -> None:
    """Stop the pool's processes (a new pool starts on the next call)."""
    with _lock:
        _shutdown_locked()


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(_preload))
            _pool = ProcessPoolExecutor(_processes, mp_context=context, initializer=_yield_cpu)
        return _pool


def _shutdown_locked() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _yield_cpu() -> None:
    """Run the pool's processes at a lower priority, so that the web workers' event loops get the CPU first."""
    try:
        os.nice(POOL_NICENESS)
    except OSError:  # not permitted here: the pool still takes the work off the loop
        log.warning("could not lower the CPU pool's priority")


def _noop() -> None:
    """A task that only makes the pool start a process."""
