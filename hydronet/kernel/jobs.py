"""Background jobs: RQ on Redis in production, a thread in embedded mode.

Register a function with ``@job("name")``; ``enqueue("name", **kwargs)`` runs
it outside the request — in an RQ worker (`flask hydronet worker`) when Redis
is configured, else in a daemon thread of this process (embedded mode, or
JOBS_INLINE=true).  The function runs inside an app context; its
arguments must be JSON-friendly (ids, not ORM objects).  Job functions
register when their modules are imported, which building the app does
(web/app.py imports every domain).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue, Worker
from rq.job import Job

from hydronet.kernel.db import db

log = logging.getLogger(__name__)
QUEUE_NAME = "hydronet"
JOBS: dict[str, Callable[..., Any]] = {}
SWEEPERS: list[Callable[[], None]] = []
SWEEP_EVERY_S = 10.0  # at most; at least twice per JOB_STALE_S
_worker_app: Flask | None = None
_app_factory: Callable[[], Flask] | None = None


def init_app(app: Flask, factory: Callable[[], Flask]) -> None:
    """Remember how to build the app, for RQ work horses that were not forked from our own worker."""
    global _app_factory
    _app_factory = factory


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job function under ``name``."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = fn
        return fn

    return decorator


def sweeper(fn: Callable[[], None]) -> Callable[[], None]:
    """Register a function the worker runs every SWEEP_EVERY_S (finding jobs whose worker died)."""
    SWEEPERS.append(fn)
    return fn


def _redis_queue(app: Flask):
    conn = app.extensions.get("hydronet_rq_redis")
    if conn is None:
        conn = redis.Redis.from_url(app.config["REDIS_URL"])
        app.extensions["hydronet_rq_redis"] = conn
    return Queue(QUEUE_NAME, connection=conn)


def uses_threads(app: Flask) -> bool:
    """True when jobs run in threads of this process (no Redis, or inline mode)."""
    return bool(app.config.get("JOBS_INLINE") or not app.config.get("REDIS_URL"))


def enqueue(name: str, *, timeout_s: int = 600, key: str | None = None, **kwargs: Any) -> str:
    """Run job ``name`` in the background; returns its queue id (``key`` when given: letters, digits, -)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    job_id = key or uuid.uuid4().hex
    if uses_threads(app):
        threading.Thread(target=_run_in_app, args=(app, name, kwargs), daemon=True, name=f"job-{name}").start()
        return job_id
    _redis_queue(app).enqueue(
        "hydronet.kernel.jobs.execute",
        name,
        kwargs,
        job_id=job_id,
        job_timeout=timeout_s,
        result_ttl=3600,
        failure_ttl=86400,
    )
    return job_id


def is_pending(key: str) -> bool:
    """False when the queue no longer knows job ``key`` (Redis restarted empty); True in thread mode."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if uses_threads(app):
        return True
    return bool(Job.exists(key, connection=_redis_queue(app).connection))


def queue_depth(app: Flask) -> int:
    """Jobs waiting in the queue (0 in thread mode)."""
    if uses_threads(app):
        return 0
    try:
        return len(_redis_queue(app))
    except Exception:
        return -1


def _topic_key(topic: str) -> str:
    return f"hydronet:jobs:notice:{topic}"


def notify(topic: str) -> None:
    """Wake one waiter of ``topic`` (see wait_for); nothing in thread mode."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if uses_threads(app):
        return
    conn = _redis_queue(app).connection
    key = _topic_key(topic)
    pipe = conn.pipeline()
    pipe.rpush(key, "1")
    pipe.expire(key, 3600)
    pipe.execute()


def wait_for(topic: str, timeout_s: float) -> bool:
    """Block until ``topic`` is notified or ``timeout_s`` passes (a Redis BLPOP, no polling); True when notified.

    Notices are counted: one sent before the wait starts is not lost.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if uses_threads(app):
        threading.Event().wait(timeout_s)
        return False
    return _redis_queue(app).connection.blpop([_topic_key(topic)], timeout=max(timeout_s, 0.01)) is not None


def _run_in_app(app: Flask, name: str, kwargs: dict[str, Any]) -> None:
    with app.app_context():
        try:
            JOBS[name](**kwargs)
        except Exception:
            log.exception("background job %s failed", name)
        finally:
            db.session.remove()


def execute(name: str, kwargs: dict[str, Any]) -> None:
    """Entry point of RQ jobs: run a registered job in this worker's app."""
    global _worker_app
    if _worker_app is None:
        if _app_factory is None:
            raise RuntimeError("no HydroNet app: start workers with `flask hydronet worker`")
        _worker_app = _app_factory()
    _run_in_app_raising(_worker_app, name, kwargs)


def _run_in_app_raising(app: Flask, name: str, kwargs: dict[str, Any]) -> None:
    with app.app_context():
        # RQ forks a work horse per job: never reuse connections inherited from the parent.
        db.engine.dispose(close=False)
        try:
            JOBS[name](**kwargs)
        finally:
            db.session.remove()


def run_worker(app: Flask, burst: bool = False) -> None:
    """Run an RQ worker for the HydroNet queue (blocking), sweeping for lost jobs alongside."""
    global _worker_app
    _worker_app = app
    stop = threading.Event()
    threading.Thread(target=_sweep_loop, args=(app, stop), daemon=True, name="job-sweeper").start()
    try:
        _Worker([_redis_queue(app)], connection=_redis_queue(app).connection).work(burst=burst, with_scheduler=False)
    finally:
        stop.set()


def _sweep_loop(app: Flask, stop: threading.Event) -> None:
    every = min(SWEEP_EVERY_S, float(app.config.get("JOB_STALE_S", 30.0)) / 2)
    while True:
        for fn in SWEEPERS:
            with app.app_context():
                try:
                    fn()
                except Exception:
                    log.warning("job sweeper %s failed", fn.__name__, exc_info=True)
                finally:
                    db.session.remove()
        if stop.wait(every):
            return


class _Worker(Worker):
    """RQ's forking worker whose work horse dies with it.

    A work horse outlives a worker killed with SIGKILL (it runs in a process
    group of its own) and would finish its job while the job, found without a
    heartbeat, is queued again: asking the kernel to SIGKILL the horse when its
    parent dies rules that out.  A warm shutdown (SIGTERM, Ctrl+C) still waits
    for the job in hand; a second one stops the horse (RQ's cold shutdown).
    """

    def main_work_horse(self, job, queue):
        parent = os.getppid()
        _die_with_parent()
        if os.getppid() != parent:  # the worker died between fork and prctl
            os._exit(1)
        super().main_work_horse(job, queue)


def _die_with_parent() -> None:
    """prctl(PR_SET_PDEATHSIG, SIGKILL) on Linux; elsewhere nothing (the heartbeat still catches it)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the running program's symbols include libc's
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        log.warning("could not tie the work horse to its worker", exc_info=True)
