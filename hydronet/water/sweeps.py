"""Sweeps split over the job queue: chunks that any worker takes, aggregated by the parent job.

A long analysis (pipe and segment criticality, fire flow) hands its scenarios to a runner
(:func:`hydronet.water.scenarios.run_each` in one process). Run as an RQ job, the parent job's
runner is :class:`Distributed`: it splits the scenarios into chunk jobs — analysis_jobs rows with
``parent_id``, queued on RQ like any job, claimed once, heartbeated and, when lost with their
worker, queued again by the jobs' sweeper (:func:`hydronet.water.jobs.recover_stale`) — works
chunks itself like any worker, blocks on Redis (not a polling loop) while other workers finish
theirs, and returns the chunks' outcomes merged in scenario order. The analysis then ranks and
reports exactly as in one process. A chunk job runs the same analysis (its setup and baseline are
deterministic) with a :class:`ChunkRunner` that evaluates the chunk's scenarios and then keeps taking
the sweep's queued chunks, so a worker sets a sweep up once.

The time limit is the parent's: chunks get its end as a wall-clock time (their workers may be on
other hosts) and one started after it evaluates nothing. Cancelling the parent cancels its chunks:
a running chunk stops at its next progress write, a queued one is dropped when delivered.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Flask
from sqlalchemy import delete, select, update

from hydronet.kernel.db import db, utcnow
from hydronet.kernel.jobs import notify, wait_for
from hydronet.models import AnalysisJob, Network
from hydronet.water import networks, tenant_defaults
from hydronet.water.errors import WaterError
from hydronet.water.jobstate import Heartbeat, JobCancelled, ProgressWriter, claim
from hydronet.water.limits import Deadline, Progress
from hydronet.water.registry import run_analysis
from hydronet.water.scenarios import run_each
from hydronet.water.standards import Standards, defaults_from

log = logging.getLogger(__name__)
WAKE_S = 5.0  # a waiting parent looks at its chunks at least this often (cancellation, lost chunks)
CHUNK_LOST = "the worker evaluating this scenario was lost twice"
FINISHED = ("done", "failed", "cancelled")
Enqueue = Callable[[uuid.UUID, uuid.UUID, int], None]


def _topic(parent_id: uuid.UUID) -> str:
    return f"sweep:{parent_id.hex}"


class Distributed:
    """The runner of a parent sweep job: chunks on the queue, worked here and by any other worker."""

    def __init__(
        self, app: Flask, parent: AnalysisJob, chunk_size: int, enqueue: Enqueue, standards: Standards
    ) -> None:
        self.app, self.chunk_size, self.enqueue = app, max(int(chunk_size), 1), enqueue
        # the tenant's inputs the parent runs with, handed to every chunk (defaults may change mid-sweep)
        self.inputs = asdict(standards)
        self.parent_id, self.tenant_id = parent.id, parent.tenant_id
        self.network_id, self.user_id, self.kind = parent.network_id, parent.user_id, parent.kind

    def __call__(
        self, items: list[str], evaluate: Callable[[str], dict[str, Any]], progress: Progress | None, deadline: Deadline
    ) -> dict[str, Any]:
        if len(items) <= self.chunk_size:
            return run_each(items, evaluate, progress, deadline)
        self._plan(items, deadline)
        while True:
            self._check_running()
            chunk = self._claim_next()
            if chunk is not None:
                _work(self.app, chunk, self.tenant_id, self.parent_id, evaluate)
                continue
            if all(status in FINISHED for status in self._statuses()):
                break
            wait_for(_topic(self.parent_id), WAKE_S)
        return self._merge(items, deadline)

    def _chunks(self) -> list[AnalysisJob]:
        rows = db.session.scalars(
            select(AnalysisJob)
            .where(AnalysisJob.parent_id == self.parent_id, AnalysisJob.tenant_id == self.tenant_id)
            .execution_options(populate_existing=True)
        ).all()
        return sorted(rows, key=lambda row: row.params["index"])

    def _plan(self, items: list[str], deadline: Deadline) -> None:
        """The chunk rows of this sweep: those of an earlier run of the parent when they cover the same
        scenarios (a parent queued again after losing its worker keeps its finished chunks), else new ones."""
        existing = self._chunks()
        if (
            existing
            and [name for row in existing for name in row.params["items"]] == items
            and all(row.params.get("standards") == self.inputs for row in existing)
        ):
            return
        if existing:
            db.session.execute(
                delete(AnalysisJob).where(
                    AnalysisJob.parent_id == self.parent_id, AnalysisJob.tenant_id == self.tenant_id
                )
            )
        remaining = deadline.remaining()
        deadline_at = None if remaining is None else time.time() + remaining
        rows = [
            AnalysisJob(
                tenant_id=self.tenant_id,
                network_id=self.network_id,
                user_id=self.user_id,
                kind=self.kind,
                status="queued",
                progress=0.0,
                parent_id=self.parent_id,
                params={
                    "index": index,
                    "items": items[start : start + self.chunk_size],
                    "deadline_at": deadline_at,
                    "standards": self.inputs,
                },
            )
            for index, start in enumerate(range(0, len(items), self.chunk_size))
        ]
        db.session.add_all(rows)
        db.session.commit()
        for row in rows:
            try:
                self.enqueue(row.id, self.tenant_id, 0)
            except Exception:  # the parent still works every chunk nobody else takes
                log.warning("sweep %s: chunk %s not queued", self.parent_id, row.id, exc_info=True)

    def _check_running(self) -> None:
        db.session.commit()  # a fresh look at the row
        status = db.session.scalar(
            select(AnalysisJob.status).where(AnalysisJob.id == self.parent_id, AnalysisJob.tenant_id == self.tenant_id)
        )
        if status != "running":
            raise JobCancelled(str(self.parent_id))

    def _statuses(self) -> list[str]:
        return list(
            db.session.scalars(
                select(AnalysisJob.status).where(
                    AnalysisJob.parent_id == self.parent_id, AnalysisJob.tenant_id == self.tenant_id
                )
            )
        )

    def _claim_next(self) -> AnalysisJob | None:
        return _claim_next(self.parent_id, self.tenant_id)

    def _merge(self, items: list[str], deadline: Deadline) -> dict[str, Any]:
        """The chunks' outcomes in scenario order, shaped as run_each's.

        A lost chunk's scenarios are listed as failed with the reason but were never evaluated: the result
        is then incomplete (so never cached), not a ranking in which those pipes failed to solve.
        """
        rows: list[dict[str, Any]] = []
        failed: list[dict[str, str]] = []
        lost = 0
        for chunk in self._chunks():
            if chunk.status == "done" and chunk.result is not None:
                rows += chunk.result["rows"]
                failed += chunk.result["failed"]
            else:
                failed += [{"name": name, "error": chunk.error or CHUNK_LOST} for name in chunk.params["items"]]
                lost += len(chunk.params["items"])
        analysed = len(rows) + len(failed) - lost
        if lost:
            reason: str | None = f"{lost} scenarios were not evaluated (their chunk was lost with its worker)"
        else:
            reason = None if analysed == len(items) else f"time limit of {deadline.seconds:g} s reached"
        return {
            "analysed": analysed,
            "complete": reason is None,
            "stopped_reason": reason,
            "rows": rows,
            "failed": failed,
        }


class ChunkRunner:
    """The runner of a chunk job: the chunk's scenarios of the analysis' sweep, then any chunk of the same
    sweep still queued (the sweep is set up: taking the next chunk here saves a worker re-parsing the
    network, re-opening the project and re-solving the baseline for it)."""

    def __init__(self, app: Flask, chunk: AnalysisJob, parent_id: uuid.UUID) -> None:
        self.app, self.chunk, self.parent_id = app, chunk, parent_id

    def __call__(
        self, items: list[str], evaluate: Callable[[str], dict[str, Any]], progress: Progress | None, deadline: Deadline
    ) -> dict[str, Any]:
        planned = set(items)
        chunk: AnalysisJob | None = self.chunk
        beat = False  # run_chunk's heartbeat covers the first chunk (and the set-up before it)
        while chunk is not None:
            unknown = set(chunk.params["items"]) - planned
            if unknown:
                _store(
                    chunk.id,
                    chunk.tenant_id,
                    chunk.attempts,
                    self.parent_id,
                    status="failed",
                    error=f"{len(unknown)} scenarios of this chunk are not in this worker's plan of the sweep: "
                    "every worker must run the same HydroNet, WNTR and EPANET versions",
                )
            else:
                _work(self.app, chunk, chunk.tenant_id, self.parent_id, evaluate, beat=beat)
            beat = True
            chunk = _claim_next(self.parent_id, self.chunk.tenant_id)
        return {"analysed": 0, "complete": False, "stopped_reason": None, "rows": [], "failed": []}


def run_chunk(app: Flask, chunk_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int) -> None:
    """Run a claimed chunk job: the parent's analysis over the chunk's scenarios, stored on the chunk row."""
    chunk = db.session.get(AnalysisJob, chunk_id, populate_existing=True)
    parent = db.session.get(AnalysisJob, chunk.parent_id) if chunk is not None else None
    network = db.session.get(Network, chunk.network_id) if chunk is not None else None
    if chunk is None or parent is None or network is None or parent.status in FINISHED:
        # a parent queued again after losing its worker still wants its chunks; a finished one does not
        _store(chunk_id, tenant_id, attempt, None, status="cancelled")
        return
    parent_id = parent.id
    try:
        with Heartbeat(app, chunk_id, tenant_id, attempt):
            # the tenant's defaults the parent runs with fill what the parameters omit
            run_analysis(
                parent.kind,
                networks.model_of(network),
                parent.params,
                runner=ChunkRunner(app, chunk, parent_id),
                cache=networks.simulations(network),
                standards=_standards_of(chunk, tenant_id),
            )
        return  # every chunk worked here stored its outcome
    except JobCancelled:
        db.session.rollback()
        return
    except WaterError as exc:
        fields = {"error": exc.message}
    except Exception:
        log.exception("sweep chunk %s failed", chunk_id)
        fields = {"error": "internal error while evaluating this scenario"}
    db.session.rollback()
    # the chunk in hand when it failed (a chunk already stored is no longer running: left as it is)
    _store(chunk_id, tenant_id, attempt, parent_id, status="failed", **fields)


def _standards_of(chunk: AnalysisJob, tenant_id: uuid.UUID) -> Standards:
    """The tenant inputs the chunk's parent runs with (a chunk queued by an older release: the tenant's now)."""
    inputs = chunk.params.get("standards")
    return tenant_defaults.load(tenant_id) if inputs is None else defaults_from(inputs)


def _claim_next(parent_id: uuid.UUID, tenant_id: uuid.UUID) -> AnalysisJob | None:
    """A queued chunk of the sweep, claimed for this process; None when none is left."""
    queued = db.session.scalars(
        select(AnalysisJob.id).where(
            AnalysisJob.parent_id == parent_id, AnalysisJob.tenant_id == tenant_id, AnalysisJob.status == "queued"
        )
    ).all()
    for chunk_id in queued:
        if claim(chunk_id, tenant_id):
            return db.session.get(AnalysisJob, chunk_id, populate_existing=True)
    return None


def _work(
    app: Flask,
    chunk: AnalysisJob,
    tenant_id: uuid.UUID,
    parent_id: uuid.UUID,
    evaluate: Callable[[str], dict[str, Any]],
    beat: bool = True,
) -> None:
    """Evaluate a claimed chunk with a sweep already set up here, and store its outcome."""
    attempt = chunk.attempts
    writer = ProgressWriter(chunk.id, tenant_id, attempt, after=lambda: sweep_progress(parent_id, tenant_id))
    heartbeat = Heartbeat(app, chunk.id, tenant_id, attempt) if beat else None
    try:
        outcome = run_each(chunk.params["items"], evaluate, writer, _chunk_deadline(chunk))
    finally:
        if heartbeat is not None:
            heartbeat.stop()
    _store(chunk.id, tenant_id, attempt, parent_id, result=_outcome(outcome))


def sweep_progress(parent_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    """The parent's progress: scenarios done over all its chunks / scenarios in the sweep."""
    done = total = 0.0
    for status, progress, params in db.session.execute(
        select(AnalysisJob.status, AnalysisJob.progress, AnalysisJob.params).where(
            AnalysisJob.parent_id == parent_id, AnalysisJob.tenant_id == tenant_id
        )
    ):
        size = len(params["items"])
        total += size
        done += size if status in FINISHED else round(progress * size)
    if total:
        db.session.execute(
            update(AnalysisJob)
            .where(AnalysisJob.id == parent_id, AnalysisJob.tenant_id == tenant_id, AnalysisJob.status == "running")
            .values(progress=round(done / total, 4))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _store(
    chunk_id: uuid.UUID,
    tenant_id: uuid.UUID,
    attempt: int,
    parent_id: uuid.UUID | None,
    *,
    status: str = "done",
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Finish a chunk (only under the claim that ran it), update the sweep's progress and wake the parent."""
    written = db.session.execute(
        update(AnalysisJob)
        .where(
            AnalysisJob.id == chunk_id,
            AnalysisJob.tenant_id == tenant_id,
            AnalysisJob.status == "running",
            AnalysisJob.attempts == attempt,
        )
        .values(
            status=status,
            result=result,
            error=error,
            finished_at=utcnow(),
            progress=1.0 if status == "done" else AnalysisJob.progress,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if written and parent_id is not None:
        sweep_progress(parent_id, tenant_id)
        notify(_topic(parent_id))


def wake(parent_id: uuid.UUID) -> None:
    """Wake a parent waiting for its chunks (it was cancelled)."""
    notify(_topic(parent_id))


def _chunk_deadline(chunk: AnalysisJob) -> Deadline:
    deadline_at = chunk.params.get("deadline_at")
    return Deadline(None if deadline_at is None else max(deadline_at - time.time(), 0.0))


def _outcome(outcome: dict[str, Any]) -> dict[str, Any]:
    """What a chunk row keeps of run_each's outcome."""
    return {"rows": list(outcome["rows"]), "failed": list(outcome["failed"]), "analysed": outcome["analysed"]}
