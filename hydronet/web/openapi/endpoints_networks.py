"""Registry of the network endpoints (/api/networks, /api/jobs); analysis kinds and parameters from the catalogue."""
from __future__ import annotations

from hydronet.water.jobs import MAP_VALUES
from hydronet.water.networks import NAME_MAX
from hydronet.water.registry import ANALYSES
from hydronet.water.standards import FIELDS as DEFAULT_FIELDS
from hydronet.water.timeseries import VARIABLES
from hydronet.web.openapi.ops import Op, bounded_int, q
from hydronet.web.openapi.schemas import (
                    BOOL,
                    NUM,
                    OBJ,
                    STR,
                    TIMESTAMP,
                    array,
                    envelope,
                    nullable,
                    obj,
                    ref,
                    string,
)

NETWORK = envelope({"network": ref("Network")})
JOB = envelope({"job": ref("Job")})
PICTURES = {200: {"image/svg+xml": {"type": "string"}}}  # .png answers image/png, .svg image/svg+xml
DURATION = q("duration_h", {"type": "number"}, "simulated hours (default: the network's own duration)")
SERIES_QUERY = (
    q("element", STR, "a node or link name"), q("variable", {"type": "string", "enum": list(VARIABLES)}),
    DURATION, q("demand_model", {"type": "string", "enum": ["DD", "PDD"]}),
)
MAP_QUERY = (q("value", {"type": "string", "enum": list(MAP_VALUES), "default": "min_pressure"},
               "what colours the map"), DURATION)
ANALYSIS_PARAMS = {f"AnalysisParams.{name}": spec.parameters for name, spec in ANALYSES.items()}
KIND_PARAMETER_NOTE = "Parameters by analysis kind: " + ", ".join(
    f"`{name}` → #/components/schemas/AnalysisParams.{name}" for name in ANALYSES)

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_QUERY = (q("params", STR, "the analysis parameters as a JSON object (default {})"),
                q("lang", {"type": "string", "enum": ["zh", "en"], "default": "zh"}, "workbook language"))
REPORT = envelope({"network": ref("Network"), "kind": STR, "params": OBJ, "result": OBJ, "generated_at": STR,
                   "findings": array(OBJ), "next_steps": array(OBJ), "kpis": array(OBJ), "tables": array(OBJ),
                   "settings": array(OBJ)})



def _default_input(name: str) -> dict:
    """One tenant-settable analysis input: a number within its limits, or null for the national default."""
    field = DEFAULT_FIELDS[name]
    schema: dict = {"type": "integer" if field.integer else "number", "maximum": field.high,
                    "description": f"{field.en}" + (f" ({field.unit})" if field.unit else "")}
    schema["exclusiveMinimum" if field.low_open else "minimum"] = field.low
    return {"anyOf": [schema, {"type": "null"}], "description": schema["description"]}


ANALYSIS_DEFAULTS = envelope({"analysis_defaults": obj({
    "fields": array(obj({"name": STR, "value": NUM, "national": NUM, "changed": BOOL, "unit": STR, "label": OBJ,
                         "minimum": NUM, "minimum_exclusive": BOOL, "maximum": NUM, "integer": BOOL,
                         "source": STR})),
    "overrides": OBJ, "service_head_m": NUM, "updated_at": nullable(TIMESTAMP), "updated_by": nullable(STR),
}, "all")})

NETWORKS: dict[str, Op] = {
    "analysis_defaults.get_defaults": Op(
        ok={200: ANALYSIS_DEFAULTS},
        description="The design inputs the tenant's analyses default to: each with the tenant's value, the national "
                    "default, its limits and the standard it comes from (GB 50013-2018, GB 55036-2022, …)."),
    "analysis_defaults.put_defaults": Op(
        ok={200: ANALYSIS_DEFAULTS},
        body=obj({name: _default_input(name) for name in DEFAULT_FIELDS}, additional=False),
        errors=(422,),
        description="Replace the tenant's inputs (tenant:update): an input omitted or null is the national default "
                    "again. Out-of-range values answer 422 naming each field. Audited as "
                    "tenant.analysis_defaults.update. Every analysis then takes the parameters a request omits from "
                    "these inputs, and its settings.defaults name each value's origin (standard, tenant, request)."),

    "networks.list_networks": Op(ok={200: envelope({"networks": array(ref("Network"))})},
                                 query=(q("limit", bounded_int(1, 1000, 200), "how many, newest first"),)),
    "networks.upload_network": Op(
        ok={201: NETWORK},
        body_media={"multipart/form-data": obj(
            {"file": {"type": "string", "format": "binary", "description": "an EPANET .inp (UTF-8, GB18030 …)"},
             "name": string(NAME_MAX)}, ["file"])},
        errors=(400, 413, 422),
        description="The file is parsed before anything is stored: 422 names the line and section of the first "
                    "error; 429 quota_exceeded for the networks or storage_mb quota.",
    ),
    "networks.list_examples": Op(ok={200: envelope({"examples": array(obj({"name": STR}, "all"))})}),
    "networks.import_example": Op(
        ok={201: NETWORK},
        body=obj({"example": string(40, min_len=1, description="Net1, Net3, ky10 …"), "name": string(NAME_MAX)},
                 ["example"]),
    ),
    "networks.get_network": Op(ok={200: NETWORK}),
    "networks.delete_network": Op(ok={200: envelope({"deleted": {"const": True}})}),
    "networks.download_network": Op(ok={200: {"type": "string", "description": "the stored .inp"}},
                                    ok_media="text/plain"),
    "networks.run_analysis": Op(
        ok={200: envelope({"kind": STR, "network_id": STR, "result": OBJ, "cached": BOOL, "findings": array(OBJ),
                           "next_steps": array(OBJ), "kpis": array(OBJ), "tables": array(OBJ),
                           "settings": array(OBJ)}), 202: JOB},
        body=obj({"params": {**OBJ, "description": "the analysis parameters (see below)"}}), body_required=False,
        query=(q("async", {"type": "string", "enum": ["true", "false"]}, "run as a background job (202)"),),
        path={"kind": {"type": "string", "enum": sorted(ANALYSES)}},
        errors=(503, 504),
        description="Short analyses answer 200 with the result; long ones (and ?async=true) answer 202 with a job "
                    "to poll at /api/jobs/{job_id}. An unknown kind answers 404 listing the available ones. "
                    + KIND_PARAMETER_NOTE,
    ),
    "networks.timeseries": Op(ok={200: envelope({"timeseries": OBJ})}, query=SERIES_QUERY, errors=(504,)),
    "networks.timeseries_picture": Op(ok={200: {"type": "string"}}, ok_media="image/png", also=PICTURES,
                                      query=SERIES_QUERY, errors=(422, 504)),
    "networks.network_map": Op(ok={200: envelope({"map": OBJ, "value": STR, "unit": STR})}, query=MAP_QUERY,
                               errors=(504,)),
    "networks.map_picture": Op(ok={200: {"type": "string"}}, ok_media="image/png", also=PICTURES, query=MAP_QUERY,
                               errors=(422, 504)),
    "analysis_jobs.get_job": Op(ok={200: JOB}),
    "analysis_jobs.cancel_job": Op(ok={200: JOB}, errors=(409,),
                                   description="Cancel a queued or running job (a sweep's chunks not started are "
                                               "dropped); 409 job_finished when it had already finished. Audited."),
    "networks.export_analysis": Op(ok={200: {"type": "string", "format": "binary"}}, ok_media=XLSX_MEDIA,
                                   query=EXPORT_QUERY, path={"kind": {"type": "string", "enum": sorted(ANALYSES)}},
                                   errors=(422, 503, 504),
                                   description="Runs the analysis (or reads its cached result) and answers an XLSX "
                                               "workbook: a summary sheet (settings, key figures, findings) and one "
                                               "sheet per element table, units in the headers. Audited."),
    "networks.analysis_report": Op(ok={200: REPORT}, query=EXPORT_QUERY[:1],
                                   path={"kind": {"type": "string", "enum": sorted(ANALYSES)}}, errors=(422, 503, 504),
                                   description="What the printable report shows: the network, the result, its "
                                               "findings, key figures, tables and settings. Audited."),
    "analysis_jobs.export_job": Op(ok={200: {"type": "string", "format": "binary"}}, ok_media=XLSX_MEDIA,
                                   query=EXPORT_QUERY[1:], errors=(422,),
                                   description="A finished job's result as an XLSX workbook (404 until it is done)."),
    "analysis_jobs.job_report": Op(ok={200: REPORT},
                                   description="What the printable report of a finished job shows (404 until done)."),
}
