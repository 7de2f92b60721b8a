"""Running analyses on stored networks: the shared result cache, inline runs and background jobs.

Results are cached in the shared store (Redis in production) as JSON under the tenant, the .inp
content hash, the analysis and its canonical parameters, so every app server and worker answers
the same numbers without re-running. Long analyses (``AnalysisSpec.long``) run as jobs
(``hydronet.kernel.jobs``: RQ on Redis, a thread in embedded mode) that report progress in
``AnalysisJob.progress``; the web worker never waits for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import wntr
from flask import current_app
from sqlalchemy import select, update

from hydronet.kernel import audit, cpu
from hydronet.kernel.audit import AuditActor
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import ApiError, Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationError
from hydronet.kernel.jobs import enqueue, is_pending, job, sweeper, uses_threads
from hydronet.kernel.lookup import get_or_404
from hydronet.kernel.store import get_store
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import AnalysisJob, Network
from hydronet.tenants import usage
from hydronet.water import networks, sweeps, tenant_defaults, toolkit
from hydronet.water.errors import AnalysisInputError, AnalysisTimeout, InpError, SimulationError, WaterError
from hydronet.water.geojson import map_geojson
from hydronet.water.jobstate import ACTIVE, Heartbeat, JobCancelled, ProgressWriter, claim
from hydronet.water.jsonify import series_map
from hydronet.water.limits import Progress, run_with_timeout
from hydronet.water.plots import render_map, render_timeseries
from hydronet.water.registry import ANALYSES, AnalysisSpec, run_analysis
from hydronet.water.scenarios import Runner
from hydronet.water.simulation import cached_simulate, make_settings
from hydronet.water.standards import Standards

log = logging.getLogger(__name__)
JOB_NAME = "analysis.run"
RESULT_TTL_S = 24 * 3600
RESULT_MAX_CHARS = 8 * 1024 * 1024
POOL_MARGIN_S = 30.0  # beyond an analysis's own limit: a fresh pool process may have to parse the network first
INLINE_LIMIT_S = 60.0  # a web worker waits at most this long; ?async=true runs anything as a job
LOST_AFTER_S = 300.0  # a job still queued this long after its time limit was lost
MAX_ATTEMPTS = 2  # a job whose worker died is run once more, then failed
LOST_REASON = "the analysis was lost twice with the worker running it (killed or stopped); run it again"
# the solver is part of a result's identity: results of another engine are never served from the cache
_ENGINE = f"epanet-{toolkit.VERSION}" if toolkit.AVAILABLE else "epanet-2.2"
_KEY_VERSION = f"analysis:v3:wntr-{wntr.__version__}:{_ENGINE}"
MAP_KIND = "map"  # result-cache and metering name of a map's hydraulic colouring
# map colourings → unit (node values, except max_velocity on pipes)
MAP_VALUES = {
    "none": "",
    "min_pressure": "m",
    "mean_pressure": "m",
    "max_pressure": "m",
    "max_velocity": "m/s",
    "elevation": "m",
}


def spec_for(kind: str) -> AnalysisSpec:
    """The analysis called ``kind``; 404 when there is none."""
    spec = ANALYSES.get(kind)
    if spec is None:
        raise NotFound(f"Unknown analysis {kind!r}", available=sorted(ANALYSES))
    return spec


def to_api_error(exc: WaterError) -> ApiError:
    """The HTTP error for a failure of the water layer."""
    if isinstance(exc, InpError):
        return ValidationError({"file": exc.message}, line=exc.line, section=exc.section)
    if isinstance(exc, AnalysisInputError):
        return ValidationError({"params": exc.message})
    if isinstance(exc, AnalysisTimeout):
        return ApiError(
            f"{exc.message}; run it as a background job with ?async=true",
            code="analysis_timeout",
            status=504,
            seconds=exc.seconds,
        )
    if isinstance(exc, SimulationError):
        return ApiError(exc.message, code="simulation_failed", status=422)
    return ApiError(exc.message, code="analysis_failed", status=422)


def job_time_limit() -> float:
    """Seconds a background analysis may run (long analyses then stop early, ``complete: false``)."""
    return float(current_app.config["ANALYSIS_TIMEOUT_S"])


def inline_time_limit() -> float:
    """Seconds an analysis may run inside a web request."""
    return min(job_time_limit(), INLINE_LIMIT_S)


# -- the shared result cache --------------------------------------------------------------------


def result_key(
    network: Network,
    kind: str,
    values: Mapping[str, Any],
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    standards: Standards | None = None,
) -> str:
    """Store key of a result: tenant + content hash + analysis + canonical (validated) parameters.

    The tenant is part of the key so that ``cached: true`` never reveals that another
    organisation holds the same file. ``values`` hold the defaults used; ``defaults`` adds where
    each came from and ``standards`` every design input the result states and its findings read:
    after the tenant changes any default, no result computed before is served.
    """
    origins = {name: used.get("origin") for name, used in (defaults or {}).items()}
    identity = {"params": values, "origins": origins, "standards": standards.as_dict() if standards else None}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
    return f"{_KEY_VERSION}:{network.tenant_id}:{network.content_hash}:{kind}:{digest}"


def _cached(key: str) -> dict[str, Any] | None:
    """A stored result, or None (a broken or unreachable store is only a cache miss)."""
    try:
        raw = get_store().get(key)
        return json.loads(raw) if raw else None
    except Exception:
        log.warning("analysis result cache unavailable", exc_info=True)
        return None


def _remember(key: str, result: Mapping[str, Any]) -> None:
    """Store a complete result (partial ones depend on the time limit and are never cached)."""
    if result.get("complete") is False:
        return
    raw = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if len(raw) > RESULT_MAX_CHARS:
        return
    try:
        get_store().set(key, raw, ttl=RESULT_TTL_S)
    except Exception:
        log.warning("analysis result cache unavailable", exc_info=True)


def resolve(
    network: Network, kind: str, params: Mapping[str, Any] | None, standards: Standards | None = None
) -> tuple[Standards, str]:
    """``(standards, cache key)`` of an analysis of ``network``: the tenant's defaults (``standards`` when
    already loaded) fill what ``params`` omit."""
    spec = ANALYSES.get(kind)
    if spec is None:
        raise AnalysisInputError(f"unknown analysis {kind!r}")
    standards = standards or tenant_defaults.load(network.tenant_id)
    values, used = spec.resolve(params, standards)
    return standards, result_key(network, kind, values, used, standards)


def analyse(
    network: Network,
    kind: str,
    params: Mapping[str, Any] | None,
    *,
    time_limit_s: float | None,
    progress: Progress | None = None,
    runner: Runner | None = None,
    standards: Standards | None = None,
) -> tuple[dict[str, Any], bool]:
    """``(result, cached)`` of one analysis; raises WaterError (AnalysisInputError for bad params).

    Parameters the request omits take the tenant's analysis defaults (REST, jobs and the assistant alike;
    ``standards`` when the caller loaded them already). ``runner`` evaluates a sweep's scenarios
    (:mod:`hydronet.water.sweeps`); by default in this process.
    """
    standards, key = resolve(network, kind, params, standards)
    hit = _cached(key)
    if hit is not None:
        return hit, True
    if progress is None:
        # a request's analysis: off a gevent worker's event loop (kernel.cpu), with the .inp text for a
        # pool process that has not parsed this network yet
        try:
            result = cpu.run(
                run_stored,
                network.content_hash,
                network.inp_text,
                kind,
                params,
                standards,
                time_limit_s,
                timeout_s=None if time_limit_s is None else time_limit_s + POOL_MARGIN_S,
            )
        except cpu.WorkTimedOut as exc:
            raise AnalysisTimeout(f"analysis did not finish within {time_limit_s:g} s", seconds=exc.seconds) from None
    else:  # a job reporting progress runs where it is (an RQ worker, or the embedded job thread)
        result = run_analysis(
            kind,
            networks.model_of(network),
            params,
            progress=progress,
            time_limit_s=time_limit_s,
            cache=networks.simulations(network),
            standards=standards,
            runner=runner,
        )
    _remember(key, result)
    return result, False


def run_stored(
    digest: str,
    text: str,
    kind: str,
    params: Mapping[str, Any] | None,
    standards: Standards,
    time_limit_s: float | None,
) -> dict[str, Any]:
    """One analysis of the network with content hash ``digest``, with this process's model and simulation caches."""
    return run_analysis(
        kind,
        networks.model_from(digest, lambda: text),
        params,
        time_limit_s=time_limit_s,
        cache=networks.NetworkSimulations(digest),
        standards=standards,
    )


# -- the REST API -------------------------------------------------------------------------------


def run_inline(
    user_id: uuid.UUID | None, network: Network, kind: str, params: Mapping[str, Any] | None
) -> tuple[dict[str, Any], bool]:
    """Run a short analysis within the inline time limit and meter it; ApiErrors for failures."""
    spec_for(kind)
    started = time.perf_counter()
    try:
        result, cached = analyse(network, kind, params, time_limit_s=inline_time_limit())
    except WaterError as exc:
        if not isinstance(exc, AnalysisInputError):
            _meter(network, user_id, kind, started, "error")
            db.session.commit()
        raise to_api_error(exc) from None
    _meter(network, user_id, kind, started, "ok")
    db.session.commit()
    return result, cached


class NotComputed(Forbidden):
    """A read-only caller asked for a result nobody has computed yet."""

    code = "analysis_not_cached"
    message = (
        "This result has not been computed yet; computing it needs the 'analyses:run' permission "
        "(read-only callers may read results already computed)"
    )

    def __init__(self) -> None:
        super().__init__(permission="analyses:run")


def cached_only(network: Network, kind: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A result from the shared cache, never computed (read-only callers); NotComputed when missing."""
    spec_for(kind)
    try:
        _standards, key = resolve(network, kind, params)
    except AnalysisInputError as exc:
        raise to_api_error(exc) from None
    hit = _cached(key)
    if hit is None:
        raise NotComputed()
    return hit


def timeseries(
    user_id: uuid.UUID | None, network: Network, params: Mapping[str, Any], *, may_compute: bool = True
) -> dict[str, Any]:
    """One node or link variable over time (the ``timeseries`` analysis, cached like the others).

    Without ``may_compute`` (no 'analyses:run') only a result already in the shared cache is served.
    """
    if not may_compute:
        return cached_only(network, "timeseries", params)
    return run_inline(user_id, network, "timeseries", params)[0]


def timeseries_picture(
    user_id: uuid.UUID | None, network: Network, params: Mapping[str, Any], fmt: str, *, may_compute: bool = True
) -> bytes:
    """The time series drawn as PNG or SVG."""
    series = timeseries(user_id, network, params, may_compute=may_compute)
    return render_timeseries(series, title=f"{network.name} · {series['element']}", fmt=fmt)


def start_job(user_id: uuid.UUID | None, network: Network, kind: str, params: Mapping[str, Any] | None) -> AnalysisJob:
    """Queue an analysis as a background job (answered at once when its result is cached)."""
    spec_for(kind)
    try:
        _standards, key = resolve(network, kind, params)
    except AnalysisInputError as exc:
        raise to_api_error(exc) from None
    # the parameters as given: the job resolves the tenant's defaults when it runs
    row = AnalysisJob(
        tenant_id=network.tenant_id,
        network_id=network.id,
        user_id=user_id,
        kind=kind,
        params=dict(params or {}),
        status="queued",
        progress=0.0,
    )
    db.session.add(row)
    hit = _cached(key)
    if hit is not None:
        _finish(row, result=hit)
        _meter(network, user_id, kind, time.perf_counter(), "ok")
        db.session.commit()
        return row
    db.session.commit()
    try:
        _enqueue(row.id, row.tenant_id, row.attempts)
    except Exception:
        log.exception("could not queue analysis job %s", row.id)
        _finish(row, error="the job queue is unavailable")
        db.session.commit()
        raise ServiceUnavailable("The analysis queue is unavailable; try again shortly") from None
    return row


def get_job(tenant_id: uuid.UUID, job_id: str) -> AnalysisJob:
    """One of the tenant's analysis jobs (a job lost with its worker is queued again, or failed)."""
    row = get_or_404(AnalysisJob, job_id, "Job", tenant_id=tenant_id)
    if row.status in ("queued", "running"):
        recover_stale(tenant_id)
        db.session.refresh(row)
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
    deadline = created + timedelta(seconds=job_time_limit() + LOST_AFTER_S)
    if row.status in ("queued", "running") and datetime.now(timezone.utc) > deadline:
        _finish(row, error="the analysis was lost (its worker stopped); run it again")
        db.session.commit()
    return row


# -- maps -----------------------------------------------------------------------------------------


def map_view(
    network: Network,
    value: str,
    duration_h: float | None = None,
    *,
    user_id: uuid.UUID | None = None,
    may_compute: bool = True,
) -> dict[str, Any]:
    """The network as GeoJSON-like features, nodes or links carrying ``value`` (see MAP_VALUES).

    A hydraulic colouring is a simulation: computing it needs ``may_compute`` (and is metered);
    otherwise only values already in the shared cache are served.
    """
    wn = networks.model_of(network)
    nodes, links = _map_values(network, value, duration_h, user_id=user_id, may_compute=may_compute)
    return {"map": map_geojson(wn, nodes, links), "value": value, "unit": MAP_VALUES[value]}


def map_picture(
    network: Network,
    value: str,
    fmt: str,
    duration_h: float | None = None,
    *,
    user_id: uuid.UUID | None = None,
    may_compute: bool = True,
) -> bytes:
    """The network map as PNG or SVG, coloured by ``value``."""
    nodes, links = _map_values(network, value, duration_h, user_id=user_id, may_compute=may_compute)
    label = "" if value == "none" else f"{value.replace('_', ' ')} ({MAP_VALUES[value]})"
    return render_map(
        networks.model_of(network), nodes, title=network.name, fmt=fmt, link_values=links, value_label=label
    )


def _map_values(
    network: Network, value: str, duration_h: float | None, *, user_id: uuid.UUID | None, may_compute: bool
) -> tuple[dict | None, dict | None]:
    """(node values, link values) for a map: a hydraulic statistic over the run, or elevations."""
    if value not in MAP_VALUES:
        raise ValidationError({"value": f"must be one of: {', '.join(MAP_VALUES)}"})
    wn = networks.model_of(network)
    if value == "none":
        return None, None
    if value == "elevation":
        return {name: getattr(node, "elevation", None) for name, node in wn.nodes()}, None
    key = result_key(network, MAP_KIND, {"value": value, "duration_h": duration_h})
    hit = _cached(key)
    if hit is not None:
        return hit["nodes"], hit["links"]
    if not may_compute:
        raise NotComputed()
    started = time.perf_counter()
    try:
        settings = make_settings(wn, duration_h)
        sim = run_with_timeout(cached_simulate, inline_time_limit(), wn, settings, networks.simulations(network))
    except WaterError as exc:
        if not isinstance(exc, AnalysisInputError):
            _meter(network, user_id, MAP_KIND, started, "error")
            db.session.commit()
        raise to_api_error(exc) from None
    if value == "max_velocity":
        nodes, links = None, series_map(sim.pipe_frame("velocity").abs().max(), 4)
    else:
        pressure = sim.junction_frame("pressure")
        stat = {"min_pressure": pressure.min, "mean_pressure": pressure.mean, "max_pressure": pressure.max}[value]
        nodes, links = series_map(stat(), 3), None
    _remember(key, {"nodes": nodes, "links": links})
    _meter(network, user_id, MAP_KIND, started, "ok")
    db.session.commit()
    return nodes, links


# -- the background job -------------------------------------------------------------------------


@job(JOB_NAME)
def run_job(job_id: str, tenant_id: str) -> None:
    """Run a queued analysis job (inside an app context, in an RQ worker or a thread).

    The job is claimed by one conditional UPDATE (queued → running, one more
    attempt): a job delivered twice, or re-queued while a stale run is still
    somewhere, runs once per claim, and only the run holding the latest claim
    may store an outcome.  While it runs, a heartbeat thread stamps it.
    """
    tid, jid = uuid.UUID(tenant_id), uuid.UUID(job_id)
    bind_tenant(db.session, tid)
    if not claim(jid, tid):
        return  # deleted with its network, delivered twice, cancelled, or taken by another worker
    row = db.session.get(AnalysisJob, jid, populate_existing=True)
    if row is None:
        return
    attempt = row.attempts
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if row.parent_id is not None:
        sweeps.run_chunk(app, jid, tid, attempt)
        return
    network = db.session.get(Network, row.network_id)
    if network is None:
        _finish(row, error="the network was deleted")
        db.session.commit()
        return
    heartbeat = Heartbeat(app, jid, tid, attempt)
    started = time.perf_counter()
    outcome: dict[str, Any] = {}
    try:
        standards = tenant_defaults.load(tid)  # read once: a sweep's chunks use these too, whatever changes meanwhile
        outcome["result"], _hit = analyse(
            network,
            row.kind,
            row.params,
            time_limit_s=job_time_limit(),
            progress=ProgressWriter(row.id, tid, attempt),
            runner=_runner(row, standards),
            standards=standards,
        )
    except JobCancelled:
        outcome["cancelled"] = True
    except WaterError as exc:
        outcome["error"] = exc.message
    except Exception:
        log.exception("analysis job %s failed", job_id)
        outcome["error"] = "internal error while running the analysis"
    finally:
        heartbeat.stop()
    try:
        db.session.rollback()  # nothing pending
        # the row as it is now (cancelled, taken over, or gone with its network): sessions keep objects
        # across commits (expire_on_commit off), and the progress writer committed since it was loaded
        row = db.session.get(AnalysisJob, jid, populate_existing=True)
        if row is None:
            return
        if row.status == "cancelled" and row.attempts == attempt:
            _meter(network, row.user_id, row.kind, started, "cancelled")
            db.session.commit()
            return
        if row.status != "running" or row.attempts != attempt:
            log.warning("analysis job %s was taken over (lost heartbeat): this run's outcome is dropped", job_id)
            return
        if outcome.pop("cancelled", False):  # stopped by a progress write that found it no longer running
            return
        _finish(row, **outcome)
        _meter(network, row.user_id, row.kind, started, "error" if "error" in outcome else "ok")
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("analysis job %s could not store its outcome (deleted meanwhile?)", job_id, exc_info=True)


def _runner(row: AnalysisJob, standards: Standards) -> Runner | None:
    """How a job evaluates a sweep: split into chunks over the RQ workers, or (threads, or chunking off) here."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    size = int(app.config.get("SWEEP_CHUNK_SCENARIOS") or 0)
    if size <= 0 or uses_threads(app) or not spec_for(row.kind).long:
        return None
    return sweeps.Distributed(app, row, size, _enqueue, standards)


def cancel_job(actor: AuditActor, tenant_id: uuid.UUID, job_id: str) -> AnalysisJob:
    """Cancel a queued or running job of the tenant (audited); its chunks not yet started are dropped.

    A running job stops at its next progress write (within about a second); the job ends ``cancelled``.
    409 ``job_finished`` when it had already finished.
    """
    row = get_or_404(AnalysisJob, job_id, "Job", tenant_id=tenant_id)
    if row.parent_id is not None:
        raise NotFound("Job not found")
    now = utcnow()
    won = db.session.execute(
        update(AnalysisJob)
        .where(AnalysisJob.id == row.id, AnalysisJob.tenant_id == tenant_id, AnalysisJob.status.in_(ACTIVE))
        .values(status="cancelled", finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        db.session.rollback()
        status = db.session.scalar(
            select(AnalysisJob.status).where(AnalysisJob.id == row.id, AnalysisJob.tenant_id == tenant_id)
        )
        raise Conflict(f"The job has already finished ({status})", code="job_finished", job_status=status)
    db.session.execute(
        update(AnalysisJob)
        .where(AnalysisJob.parent_id == row.id, AnalysisJob.tenant_id == tenant_id, AnalysisJob.status.in_(ACTIVE))
        .values(status="cancelled", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        actor,
        "analysis.cancel",
        target_type="analysis_job",
        target_id=row.id,
        details={"kind": row.kind, "network_id": str(row.network_id)},
    )
    db.session.commit()
    db.session.refresh(row)
    try:
        sweeps.wake(row.id)
    except Exception:  # the parent also looks every few seconds
        log.warning("could not wake cancelled job %s", row.id, exc_info=True)
    return row


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def recover_stale(tenant_id: uuid.UUID | None = None) -> dict[str, int]:
    """Jobs a dead worker or a lost queue left behind: run them again, at most once more.

    A ``running`` job whose heartbeat is older than JOB_STALE_S lost its
    worker: it is queued again once, then failed with the reason.  Every change
    is a compare-and-set on (status, attempts, heartbeat), so two sweepers (a
    worker's and a request's) never queue one job twice.  A ``queued`` job
    older than JOB_STALE_S that the queue no longer knows (Redis restarted
    empty) is put back in the queue.  Call it tenant-bound (``tenant_id``) or
    inside ``all_tenants``.
    """
    stale_before = utcnow() - timedelta(seconds=float(current_app.config["JOB_STALE_S"]))
    query = select(
        AnalysisJob.id,
        AnalysisJob.tenant_id,
        AnalysisJob.status,
        AnalysisJob.attempts,
        AnalysisJob.heartbeat_at,
        AnalysisJob.created_at,
    ).where(AnalysisJob.status.in_(("queued", "running")))
    if tenant_id is not None:
        query = query.where(AnalysisJob.tenant_id == tenant_id)
    counts = {"requeued": 0, "failed": 0, "redelivered": 0}
    for jid, tid, status, attempts, beat, created in db.session.execute(query).all():
        if (_aware(beat) or _aware(created)) >= stale_before:  # type: ignore[operator]
            continue
        if status == "queued":
            if not _delivery_pending(jid, attempts):
                log.warning("analysis job %s is queued but the queue lost it: queued again", jid)
                counts["redelivered"] += 1
                _requeue(jid, tid, attempts)
            continue
        same = (
            update(AnalysisJob)
            .where(
                AnalysisJob.id == jid,
                AnalysisJob.tenant_id == tid,
                AnalysisJob.status == "running",
                AnalysisJob.attempts == attempts,
                AnalysisJob.heartbeat_at.is_(None) if beat is None else AnalysisJob.heartbeat_at == beat,
            )
            .execution_options(synchronize_session=False)
        )
        if attempts < MAX_ATTEMPTS:
            won = db.session.execute(same.values(status="queued", heartbeat_at=None, progress=0.0)).rowcount
            db.session.commit()
            if won:
                counts["requeued"] += 1
                log.warning("analysis job %s lost its worker (no heartbeat since %s): queued again", jid, beat)
                _requeue(jid, tid, attempts)
        else:
            won = db.session.execute(same.values(status="failed", error=LOST_REASON, finished_at=utcnow())).rowcount
            db.session.commit()
            if won:
                counts["failed"] += 1
                log.warning("analysis job %s lost its worker again: failed", jid)
    return counts


def _delivery_key(job_id: uuid.UUID, attempts: int) -> str:
    """The queue id of a job's next run: a second delivery of the same run reuses it."""
    return f"analysis-{job_id.hex}-{attempts}"


def _enqueue(job_id: uuid.UUID, tenant_id: uuid.UUID, attempts: int) -> None:
    enqueue(
        JOB_NAME,
        timeout_s=int(job_time_limit() + 120),
        key=_delivery_key(job_id, attempts),
        job_id=str(job_id),
        tenant_id=str(tenant_id),
    )


def _delivery_pending(job_id: uuid.UUID, attempts: int) -> bool:
    try:
        return is_pending(_delivery_key(job_id, attempts))
    except Exception:
        log.warning("job queue unavailable: cannot tell whether job %s is still queued", job_id, exc_info=True)
        return True


@sweeper
def _recover_every_tenant() -> None:
    """The worker's periodic sweep (kernel.jobs.run_worker) over every tenant's jobs."""
    with all_tenants(db.session):
        recover_stale()
    db.session.commit()


def _requeue(job_id: uuid.UUID, tenant_id: uuid.UUID, attempts: int) -> None:
    try:
        _enqueue(job_id, tenant_id, attempts)
    except Exception:
        log.exception("could not queue analysis job %s again", job_id)
        db.session.execute(
            update(AnalysisJob)
            .where(AnalysisJob.id == job_id, AnalysisJob.tenant_id == tenant_id, AnalysisJob.status == "queued")
            .values(status="failed", error="the job queue is unavailable", finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _finish(row: AnalysisJob, *, result: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Mark a job done (with its result) or failed (with its error)."""
    row.status = "failed" if error is not None else "done"
    row.result = result
    row.error = error
    if error is None:
        row.progress = 1.0
    row.finished_at = utcnow()


def _meter(network: Network, user_id: uuid.UUID | None, kind: str, started: float, status: str) -> None:
    """One usage record for an analysis run through the REST API or a job."""
    usage.meter(
        network.tenant_id,
        user_id,
        kind="analysis",
        tool=kind,
        latency_ms=(time.perf_counter() - started) * 1000,
        status=status,
    )
