"""Contracts of /api/networks and /api/jobs; the analyses' parameter schemas come from the catalogue."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError

from hydronet.kernel.contracts import (
    Answer,
    AsSent,
    Body,
    Id,
    Object,
    OneOf,
    Query,
    QueryInt,
    QueryNumber,
    Resource,
    Text,
    When,
)
from hydronet.water.jobs import MAP_VALUES
from hydronet.water.networks import NAME_MAX
from hydronet.water.registry import ANALYSES
from hydronet.water.standards import FIELDS as DEFAULT_FIELDS
from hydronet.water.timeseries import VARIABLES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LANGS = ("zh", "en")
KIND = {"kind": {"type": "string", "enum": sorted(ANALYSES)}}
ANALYSIS_PARAMS = {f"AnalysisParams.{name}": spec.parameters for name, spec in ANALYSES.items()}
KIND_PARAMETER_NOTE = "Parameters by analysis kind: " + ", ".join(
    f"`{name}` → #/components/schemas/AnalysisParams.{name}" for name in ANALYSES
)
TEXT: dict[str, Any] = {"type": "string"}
PICTURES = {200: {"image/svg+xml": TEXT}}  # .png answers image/png, .svg image/svg+xml
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}


# --- resources ---------------------------------------------------------------------------------------


class Network(Resource):
    """A stored EPANET network (never its .inp text)."""

    id: Id
    name: str
    filename: str
    source: Literal["upload", "example"]
    size_bytes: int
    content_hash: str
    summary: Object = Field(description="counts, lengths, time settings (SI)")
    created_by: Id | None
    created_at: When | None


Items = list[Object]


class Job(Resource):
    """A background analysis job."""

    id: Id
    network_id: Id
    kind: str
    params: Object
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: Annotated[float, Field(ge=0, le=1)]
    created_at: When | None
    finished_at: When | None
    result: Object | None = Field(None, description="when done")
    findings: Items = Field(
        [],
        description="when done: {severity, code, elements, value, unit, time_h, message: {zh, en}}, most severe first",
    )
    next_steps: Items = Field([], description="when done: suggested analyses, {zh, en}")
    kpis: Items = Field([], description="when done: key figures {key, label: {zh, en}, value, unit, detail}")
    tables: Items = Field([], description="when done: element tables, worst first {key, title, columns, rows}")
    settings: Items = Field([], description="when done: run settings {name, label, unit, value, source}")
    error: str | None = Field(None, description="when failed")


class Example(Resource):
    name: str


# --- requests ----------------------------------------------------------------------------------------

Name = Annotated[str, Text(NAME_MAX)]


class UploadForm(Body):
    """multipart/form-data: the .inp as ``file`` (checked by the view), an optional ``name``."""

    model_config = ConfigDict(json_schema_extra={"required": ["file"]})

    file: Annotated[Any, AsSent({**BINARY, "description": "an EPANET .inp (UTF-8, GB18030 …)"})] = None
    name: Name | None = None


class ImportBody(Body):
    example: Annotated[str, Text(40, min_len=1, description="Net1, Net3, ky10 …")]
    name: Name | None = None


class RunBody(Body):
    params: Object | None = Field(None, description="the analysis parameters (see below)")


class NetworksQuery(Query):
    limit: Annotated[int, QueryInt(1, 1000, "how many, newest first")] = 200


class RunQuery(Query):
    run_async: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "enum": ["true", "false"]}),
        Field(alias="async", description="run as a background job (202)"),
    ] = None

    @property
    def background(self) -> bool:
        return (self.run_async or "").lower() in ("1", "true", "yes")


Duration = Annotated[float | None, QueryNumber("simulated hours (default: the network's own duration)")]


class SeriesQuery(Query):
    element: str = Field("", description="a node or link name")
    # variable and demand_model are checked by the time-series analysis schema
    variable: Annotated[str, WithJsonSchema({"type": "string", "enum": list(VARIABLES)})] = ""
    duration_h: Duration = None
    demand_model: Annotated[str | None, WithJsonSchema({"type": "string", "enum": ["DD", "PDD"]})] = None

    def params(self) -> dict[str, Any]:
        """The time-series analysis parameters."""
        params: dict[str, Any] = {"element": self.element, "variable": self.variable}
        if self.duration_h is not None:
            params["duration_h"] = self.duration_h
        if self.demand_model:
            params["demand_model"] = self.demand_model
        return params


class MapQuery(Query):
    value: Annotated[
        str,
        WithJsonSchema({"type": "string", "enum": list(MAP_VALUES)}),  # checked by jobs.map_view
        Field(description="what colours the map"),
    ] = "min_pressure"
    duration_h: Duration = None


def _json_object(raw: Any) -> Any:
    if raw is None or raw == "":
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise PydanticCustomError("json_object", "must be a JSON object")
    return value


class ReportQuery(Query):
    params: Annotated[Object, BeforeValidator(_json_object), WithJsonSchema(TEXT)] = Field(
        {}, description="the analysis parameters as a JSON object (default {})"
    )


Lang = Annotated[str, OneOf(LANGS, message="must be zh or en", description="workbook language")]


class ExportQuery(ReportQuery):
    lang: Lang = "zh"


class JobExportQuery(Query):
    lang: Lang = "zh"


# --- answers -----------------------------------------------------------------------------------------


class Interpretation(Answer):
    findings: Items
    next_steps: Items
    kpis: Items
    tables: Items
    settings: Items


class NetworkList(Answer):
    networks: list[Network]


class NetworkAnswer(Answer):
    network: Network


class Examples(Answer):
    examples: list[Example]


class AnalysisResult(Interpretation):
    kind: str
    network_id: str
    result: Object
    cached: bool


class JobAnswer(Answer):
    job: Job


class Timeseries(Answer):
    timeseries: Object


class NetworkMap(Answer):
    map: Object
    value: str
    unit: str


class Report(Interpretation):
    network: Network
    kind: str
    params: Object
    result: Object
    generated_at: str


# --- /api/tenant/analysis-defaults (tenant_defaults checks every field, with its own messages) ------------


def _default_input(name: str) -> dict[str, Any]:
    """One tenant-settable analysis input: a number within its limits, or null for the national default."""
    spec = DEFAULT_FIELDS[name]
    schema: dict[str, Any] = {
        "type": "integer" if spec.integer else "number",
        "maximum": spec.high,
        "description": f"{spec.en}" + (f" ({spec.unit})" if spec.unit else ""),
    }
    schema["exclusiveMinimum" if spec.low_open else "minimum"] = spec.low
    return {"anyOf": [schema, {"type": "null"}], "description": schema["description"]}


class _DefaultsBody(Body):
    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})


DefaultsBody = create_model(  # one optional field per input of water.standards
    "DefaultsBody",
    __base__=_DefaultsBody,
    **{name: (Annotated[Any, AsSent(_default_input(name))], None) for name in DEFAULT_FIELDS},
)


class DefaultField(Resource):
    name: str | None = None
    value: float | None = None
    national: float | None = None
    changed: bool | None = None
    unit: str | None = None
    label: Object | None = None
    minimum: float | None = None
    minimum_exclusive: bool | None = None
    maximum: float | None = None
    integer: bool | None = None
    source: str | None = None


class AnalysisDefaults(Resource):
    fields: list[DefaultField]
    overrides: Object
    service_head_m: float
    updated_at: When | None
    updated_by: str | None


class DefaultsAnswer(Answer):
    analysis_defaults: AnalysisDefaults
