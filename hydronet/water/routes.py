"""/api/networks: stored EPANET networks, their analyses, maps and time series; /api/jobs: analysis jobs."""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask import Blueprint, Response, request, send_file

from hydronet.auth.principal import current_actor, current_principal, require
from hydronet.kernel import audit
from hydronet.kernel.contracts import Deleted, contract, parse
from hydronet.kernel.db import db, utcnow
from hydronet.kernel.errors import NotFound, ValidationError
from hydronet.kernel.jsonio import iso
from hydronet.kernel.responses import ok
from hydronet.models import AnalysisJob, Network
from hydronet.water import jobs as analysis_jobs
from hydronet.water import networks as service
from hydronet.water.export import workbook_bytes
from hydronet.water.findings import findings, next_steps, standards_of
from hydronet.water.schemas import (
    ANALYSIS_PARAMS,
    BINARY,
    KIND,
    KIND_PARAMETER_NOTE,
    PICTURES,
    TEXT,
    XLSX,
    AnalysisResult,
    Examples,
    ExportQuery,
    ImportBody,
    JobAnswer,
    JobExportQuery,
    MapQuery,
    NetworkAnswer,
    NetworkList,
    NetworkMap,
    NetworksQuery,
    Report,
    ReportQuery,
    RunBody,
    RunQuery,
    SeriesQuery,
    Timeseries,
    UploadForm,
)
from hydronet.water.serialize import network_dict
from hydronet.water.tables import kpis, settings_rows, tables

bp = Blueprint("networks", __name__, url_prefix="/api/networks")
jobs_bp = Blueprint("analysis_jobs", __name__, url_prefix="/api/jobs")
PICTURE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
COMPUTES = (503, 504)  # a busy or slow solver


def job_dict(row: AnalysisJob) -> dict[str, Any]:
    """An analysis job: status queued|running|done|failed|cancelled, progress 0..1, result when done."""
    body: dict[str, Any] = {
        "id": str(row.id),
        "network_id": str(row.network_id),
        "kind": row.kind,
        "params": row.params or {},
        "status": row.status,
        "progress": row.progress,
        "created_at": iso(row.created_at),
        "finished_at": iso(row.finished_at),
    }
    if row.status == "done":
        body["result"] = row.result
        body.update(interpretation(row.kind, row.result))
    if row.status == "failed":
        body["error"] = row.error
    return body


def interpretation(kind: str, result: Any) -> dict[str, Any]:
    """How the browser shows a result: findings (most severe first), next analyses, key figures,
    element tables (worst first) and the run settings — labels in zh and en."""
    standards = standards_of(result)
    items = findings(kind, result, standards)
    return {
        "findings": items,
        "next_steps": next_steps(kind, items, standards),
        "kpis": kpis(kind, result),
        "tables": tables(kind, result),
        "settings": settings_rows(result),
    }


def _tenant_network(network_id: str) -> Network:
    """The caller's network or 404."""
    return service.get_network(current_principal().tenant.id, network_id)


def _user_id() -> uuid.UUID:
    """The caller's user id (for jobs and metering)."""
    return current_principal().user.id


def _may_compute() -> bool:
    """Reading routes compute (and meter) only for callers who may run analyses; others read the cache."""
    return "analyses:run" in current_principal().permissions


def _format(fmt: str) -> str:
    """A picture format the server draws (png, svg); 404 for any other suffix."""
    if fmt not in PICTURE_TYPES:
        raise NotFound(f"No such picture format {fmt!r}; use .png or .svg")
    return fmt


def _picture(data: bytes, fmt: str) -> Response:
    """PNG/SVG bytes as a response."""
    return Response(data, mimetype=PICTURE_TYPES[fmt], headers={"Cache-Control": "private, max-age=300"})


@bp.get("")
@require("networks:read")
@contract(query=NetworksQuery, ok={200: NetworkList})
def list_networks(query: NetworksQuery):
    """The organisation's networks, newest first (without the .inp text)."""
    rows = service.list_networks(current_principal().tenant.id, limit=query.limit)
    return ok(networks=[network_dict(n) for n in rows])


@bp.post("")
@require("networks:write")
@contract(
    body_media={"multipart/form-data": UploadForm},
    ok={201: NetworkAnswer},
    errors=(400, 413, 422),
    description="The file is parsed before anything is stored: 422 names the line and section of the first "
    "error; 429 quota_exceeded for the networks or storage_mb quota.",
)
def upload_network():
    """Upload an EPANET .inp (multipart field ``file``, optional ``name``); parsed before it is stored."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError({"file": "is required (multipart/form-data field 'file' with an EPANET .inp)"})
    form = parse(UploadForm, request.form.to_dict())
    network = service.upload(current_actor(), upload.filename or "", upload.read(), form.name or None)
    return ok(201, network=network_dict(network))


@bp.get("/examples")
@require("networks:read")
@contract(ok={200: Examples})
def list_examples():
    """WNTR's bundled example networks that can be imported by name."""
    return ok(examples=[{"name": name} for name in service.example_names()])


@bp.post("/import")
@require("networks:write")
@contract(body=ImportBody, ok={201: NetworkAnswer})
def import_example(body: ImportBody):
    """Import a bundled example network: ``{"example": "Net1", "name"?}``."""
    network = service.import_example(current_actor(), body.example, body.name or None)
    return ok(201, network=network_dict(network))


@bp.get("/<network_id>")
@require("networks:read")
@contract(ok={200: NetworkAnswer})
def get_network(network_id: str):
    """One network with its summary (counts, lengths, time settings; SI units)."""
    return ok(network=network_dict(_tenant_network(network_id)))


@bp.delete("/<network_id>")
@require("networks:write")
@contract(ok={200: Deleted})
def delete_network(network_id: str):
    """Delete a network (and its analysis jobs)."""
    service.delete(current_actor(), _tenant_network(network_id))
    return ok(deleted=True)


@bp.get("/<network_id>/download")
@require("networks:read")
@contract(ok={200: {**TEXT, "description": "the stored .inp"}}, ok_media="text/plain")
def download_network(network_id: str):
    """The stored .inp file."""
    network = _tenant_network(network_id)
    audit.record(
        current_actor(), "network.download", target_type="network", target_id=network.id, details={"name": network.name}
    )
    db.session.commit()
    return send_file(
        io.BytesIO(network.inp_text.encode("utf-8")),
        mimetype="text/plain",
        as_attachment=True,
        download_name=network.filename or f"{network.name}.inp",
    )


@bp.post("/<network_id>/analyses/<kind>")
@require("analyses:run")
@contract(
    body=RunBody,
    body_required=False,
    query=RunQuery,
    ok={200: AnalysisResult, 202: JobAnswer},
    path=KIND,
    errors=COMPUTES,
    components=ANALYSIS_PARAMS,
    description="Short analyses answer 200 with the result; long ones (and ?async=true) answer 202 with a job "
    "to poll at /api/jobs/{job_id}. An unknown kind answers 404 listing the available ones. " + KIND_PARAMETER_NOTE,
)
def run_analysis(network_id: str, kind: str, body: RunBody, query: RunQuery):
    """Run an analysis: 200 ``{result, cached}`` for short ones, 202 ``{job}`` for long ones or ``?async=true``."""
    network = _tenant_network(network_id)
    params = body.params or {}
    spec = analysis_jobs.spec_for(kind)
    if spec.long or query.background:
        row = analysis_jobs.start_job(_user_id(), network, kind, params)
        return ok(202, job=job_dict(row))
    result, cached = analysis_jobs.run_inline(_user_id(), network, kind, params)
    return ok(kind=kind, network_id=str(network.id), result=result, cached=cached, **interpretation(kind, result))


def _analysis_of(network: Network, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The result of ``kind`` with ``params`` on ``network``.

    Computed (and metered) only for callers who may run analyses; read-only callers get the
    cached result or 403 ``analysis_not_cached``, as on the other reading routes.
    """
    if not _may_compute():
        return analysis_jobs.cached_only(network, kind, params)
    result, _cached = analysis_jobs.run_inline(_user_id(), network, kind, params)
    return result


def _job_analysis(job_id: str) -> tuple[AnalysisJob, Network]:
    """A finished job of the caller's tenant and its network; 404 while it has no result."""
    row = analysis_jobs.get_job(current_principal().tenant.id, job_id)
    if row.status != "done" or row.result is None:
        raise NotFound("The job has no result yet")
    return row, _tenant_network(str(row.network_id))


def _xlsx(network: Network, kind: str, result: dict[str, Any], params: dict[str, Any], lang: str) -> Response:
    """The workbook as a download, audited as an export of the network's analysis."""
    data = workbook_bytes(
        network_name=network.name, kind=kind, result=result, params=params, generated_at=utcnow(), lang=lang
    )
    audit.record(
        current_actor(),
        "analysis.export",
        target_type="network",
        target_id=network.id,
        details={"name": network.name, "kind": kind, "format": "xlsx"},
    )
    db.session.commit()
    filename = f"{network.name}-{kind}.xlsx"
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=filename)


def _report(network: Network, kind: str, result: dict[str, Any], params: dict[str, Any]) -> Response:
    """What the print-ready report page shows, audited as a report of the network's analysis."""
    audit.record(
        current_actor(),
        "analysis.report",
        target_type="network",
        target_id=network.id,
        details={"name": network.name, "kind": kind},
    )
    db.session.commit()
    return ok(
        network=network_dict(network),
        kind=kind,
        params=params,
        result=result,
        generated_at=iso(utcnow()),
        **interpretation(kind, result),
    )


@bp.get("/<network_id>/analyses/<kind>/export.xlsx")
@require("networks:read")
@contract(
    query=ExportQuery,
    ok={200: BINARY},
    ok_media=XLSX,
    path=KIND,
    errors=(422, *COMPUTES),
    description="Runs the analysis (or reads its cached result) and answers an XLSX workbook: a summary sheet "
    "(settings, key figures, findings) and one sheet per element table, units in the headers. "
    "Audited.",
)
def export_analysis(network_id: str, kind: str, query: ExportQuery):
    """The analysis (``?params=`` JSON, ``?lang=zh|en``) as an XLSX workbook: summary sheet, one sheet per table."""
    network = _tenant_network(network_id)
    return _xlsx(network, kind, _analysis_of(network, kind, query.params), query.params, query.lang)


@bp.get("/<network_id>/analyses/<kind>/report")
@require("networks:read")
@contract(
    query=ReportQuery,
    ok={200: Report},
    path=KIND,
    errors=(422, *COMPUTES),
    description="What the printable report shows: the network, the result, its findings, key figures, tables "
    "and settings. Audited.",
)
def analysis_report(network_id: str, kind: str, query: ReportQuery):
    """Everything the printable report of an analysis shows (``?params=`` JSON)."""
    network = _tenant_network(network_id)
    return _report(network, kind, _analysis_of(network, kind, query.params), query.params)


@jobs_bp.get("/<job_id>/export.xlsx")
@require("networks:read")
@contract(
    query=JobExportQuery,
    ok={200: BINARY},
    ok_media=XLSX,
    errors=(422,),
    description="A finished job's result as an XLSX workbook (404 until it is done).",
)
def export_job(job_id: str, query: JobExportQuery):
    """A finished job's result as an XLSX workbook (``?lang=zh|en``)."""
    row, network = _job_analysis(job_id)
    return _xlsx(network, row.kind, row.result, row.params or {}, query.lang)


@jobs_bp.get("/<job_id>/report")
@require("networks:read")
@contract(ok={200: Report}, description="What the printable report of a finished job shows (404 until done).")
def job_report(job_id: str):
    """Everything the printable report of a finished job shows."""
    row, network = _job_analysis(job_id)
    return _report(network, row.kind, row.result, row.params or {})


@bp.get("/<network_id>/timeseries")
@require("networks:read")
@contract(query=SeriesQuery, ok={200: Timeseries}, errors=(504,))
def timeseries(network_id: str, query: SeriesQuery):
    """``?element=&variable=&duration_h=`` → ``{timeseries: {points: [{time_s, time_h, value}], unit, ...}}``."""
    network = _tenant_network(network_id)
    return ok(timeseries=analysis_jobs.timeseries(_user_id(), network, query.params(), may_compute=_may_compute()))


@bp.get("/<network_id>/timeseries.<fmt>")
@require("networks:read")
@contract(query=SeriesQuery, ok={200: TEXT}, ok_media="image/png", also=PICTURES, errors=(422, 504))
def timeseries_picture(network_id: str, fmt: str, query: SeriesQuery):
    """The time series (``?element=&variable=``) as a PNG or SVG chart (``timeseries.png`` / ``timeseries.svg``)."""
    network = _tenant_network(network_id)
    picture = analysis_jobs.timeseries_picture(
        _user_id(), network, query.params(), _format(fmt), may_compute=_may_compute()
    )
    return _picture(picture, fmt)


@bp.get("/<network_id>/map.json")
@require("networks:read")
@contract(query=MapQuery, ok={200: NetworkMap}, errors=(504,))
def network_map(network_id: str, query: MapQuery):
    """``?value=min_pressure|mean_pressure|max_pressure|max_velocity|elevation|none`` → ``{map: FeatureCollection}``."""
    network = _tenant_network(network_id)
    return ok(
        **analysis_jobs.map_view(network, query.value, query.duration_h, user_id=_user_id(), may_compute=_may_compute())
    )


@bp.get("/<network_id>/map.<fmt>")
@require("networks:read")
@contract(query=MapQuery, ok={200: TEXT}, ok_media="image/png", also=PICTURES, errors=(422, 504))
def map_picture(network_id: str, fmt: str, query: MapQuery):
    """The network map as PNG or SVG (``map.png`` / ``map.svg``), nodes coloured by ``?value=`` as in map.json."""
    network = _tenant_network(network_id)
    picture = analysis_jobs.map_picture(
        network, query.value, _format(fmt), query.duration_h, user_id=_user_id(), may_compute=_may_compute()
    )
    return _picture(picture, fmt)


@jobs_bp.get("/<job_id>")
@require("networks:read")
@contract(ok={200: JobAnswer})
def get_job(job_id: str):
    """An analysis job: ``{job: {id, network_id, kind, status, progress, result?, error?, ...}}``."""
    return ok(job=job_dict(analysis_jobs.get_job(current_principal().tenant.id, job_id)))


@jobs_bp.post("/<job_id>/cancel")
@require("analyses:run")
@contract(
    ok={200: JobAnswer},
    errors=(409,),
    description="Cancel a queued or running job (a sweep's chunks not started are dropped); 409 job_finished "
    "when it had already finished. Audited.",
)
def cancel_job(job_id: str):
    """Cancel a queued or running job: ``{job}`` with status ``cancelled``; 409 ``job_finished`` when it had finished."""
    row = analysis_jobs.cancel_job(current_actor(), current_principal().tenant.id, job_id)
    return ok(job=job_dict(row))
