"""The life of an analysis job row: claimed by one run, heartbeat while running, progress, cancellation.

Every change is a compare-and-set on the row (status, attempts), so a job delivered twice, or
queued again while a stale run is still somewhere, is run by one claim only, and a run that lost
its claim (taken over, cancelled) notices at its next progress write. Sweep chunks
(:mod:`hydronet.water.sweeps`) are job rows too and live by the same rules.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import update

from hydronet.kernel.db import db, utcnow
from hydronet.kernel.tenancy import bind_tenant
from hydronet.models import AnalysisJob

log = logging.getLogger(__name__)
PROGRESS_STEP = 0.05
PROGRESS_INTERVAL_S = 1.0
ACTIVE = ("queued", "running")


class JobCancelled(Exception):
    """The job being run was cancelled (or taken over by another run): stop working on it."""


def claim(job_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
    """queued → running with one more attempt, by one conditional UPDATE; False when another run has it."""
    claimed = db.session.execute(
        update(AnalysisJob)
        .where(AnalysisJob.id == job_id, AnalysisJob.tenant_id == tenant_id, AnalysisJob.status == "queued")
        .values(status="running", heartbeat_at=utcnow(), attempts=AnalysisJob.attempts + 1, progress=0.0)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _running(job_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int | None = None):
    """An UPDATE of a job that applies only while it runs (under the given attempt)."""
    where = [AnalysisJob.id == job_id, AnalysisJob.tenant_id == tenant_id, AnalysisJob.status == "running"]
    if attempt is not None:
        where.append(AnalysisJob.attempts == attempt)
    return update(AnalysisJob).where(*where).execution_options(synchronize_session=False)


class ProgressWriter:
    """Writes a job's progress, at most every 5 % or every second; raises JobCancelled once it stopped running.

    ``after`` runs after each write (a chunk updates its sweep's progress there).
    """

    def __init__(
        self,
        job_id: uuid.UUID,
        tenant_id: uuid.UUID,
        attempt: int | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        self.job_id, self.tenant_id, self.attempt, self.after = job_id, tenant_id, attempt, after
        self.last_value, self.last_time = 0.0, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        value = min(done / total, 1.0) if total else 1.0
        now = time.monotonic()
        if value - self.last_value < PROGRESS_STEP and now - self.last_time < PROGRESS_INTERVAL_S:
            return
        self.last_value, self.last_time = value, now
        written = db.session.execute(
            _running(self.job_id, self.tenant_id, self.attempt).values(progress=round(value, 4))
        ).rowcount
        db.session.commit()
        if not written:
            raise JobCancelled(str(self.job_id))
        if self.after is not None:
            self.after()


class Heartbeat:
    """Stamps a running job's ``heartbeat_at`` every JOB_HEARTBEAT_S from a thread of its own."""

    def __init__(self, app: Flask, job_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int) -> None:
        self.app, self.job_id, self.tenant_id, self.attempt = app, job_id, tenant_id, attempt
        self.every = float(app.config["JOB_HEARTBEAT_S"])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"job-heartbeat-{job_id}")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.every + 5)

    def __enter__(self) -> Heartbeat:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _run(self) -> None:
        with self.app.app_context():
            try:
                while not self._stop.wait(self.every):
                    self._beat()
            finally:
                db.session.remove()

    def _beat(self) -> None:
        try:
            bind_tenant(db.session, self.tenant_id)
            db.session.execute(_running(self.job_id, self.tenant_id, self.attempt).values(heartbeat_at=utcnow()))
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.warning("analysis job %s: heartbeat not stored", self.job_id, exc_info=True)
