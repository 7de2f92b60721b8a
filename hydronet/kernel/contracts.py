"""Request and response contracts, declared once as pydantic models.

A route states its contract with ``@contract(body=…, query=…, ok=…)``: the decorator parses the JSON
body and the query string into those models (the view receives them as ``body=`` and ``query=``),
turning pydantic's errors into one 422 naming each invalid field, and the OpenAPI document
(``web/openapi``) is generated from the same models.  Field types below carry both the check and
its JSON Schema; their messages are the API's per-field messages.
"""

from __future__ import annotations

import functools
import math
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from annotated_types import GroupedMetadata
from flask import request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticError
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import ErrorDetails, PydanticCustomError, PydanticUseDefault

from hydronet.kernel.errors import ValidationError
from hydronet.kernel.validation import json_body

Schema = dict[str, Any]
Doc = type[BaseModel] | Schema  # a model, or a plain schema for bodies that are not JSON (text, images, files)
M = TypeVar("M", bound=BaseModel)
JSON = "application/json"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


# --- models -----------------------------------------------------------------------------------------


class Body(BaseModel):
    """A JSON request body: values must already have their JSON type (no "5" for 5), unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Query(BaseModel):
    """Query-string parameters (strings, converted by the field types below), unknown ones ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Answer(BaseModel):
    """A success body: ``{"success": true, …}`` (documentation: views build their answers as dicts)."""

    model_config = ConfigDict(defer_build=True)  # only the document reads it: built then, not at import

    success: Literal[True]


class Deleted(Answer):
    """The answer of a deletion."""

    deleted: Literal[True]


class Resource(BaseModel):
    """An object inside an answer (documentation only)."""

    model_config = ConfigDict(defer_build=True)


class ErrorDetail(Resource):
    code: str = Field(description="snake_case error code, e.g. validation_error, not_found, quota_exceeded")
    message: str
    fields: dict[str, str] | None = Field(None, description="per-field messages (validation_error)")
    quota: str | None = None
    limit: int | None = None
    used: int | None = None
    resets_at: str | None = None
    retry_after: int | None = None
    permission: str | None = None
    reason: str | None = None
    detail: str | None = None


class Error(Resource):
    """The one error shape of every /api failure (``responses.error_response``)."""

    success: Literal[False]
    error: ErrorDetail


# --- field types: ``Annotated[str, Text(120)]`` -------------------------------------------------------


def _fail(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message)


class _Group(GroupedMetadata):
    """Several pieces of pydantic metadata under one name (pydantic unpacks them)."""

    def parts(self) -> Iterator[object]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[object]:
        return self.parts()


class Text(_Group):
    """A string with length limits (stripped first unless ``strip=False``); ``schema`` documents rules a
    service checks with its own message (a ``pattern``, a ``format``)."""

    def __init__(
        self, max_len: int = 200, *, min_len: int = 0, strip: bool = True, description: str | None = None, **schema: Any
    ) -> None:
        self.max_len, self.min_len, self.strip, self.description, self.schema = (
            max_len,
            min_len,
            strip,
            description,
            schema,
        )

    def parts(self) -> Iterator[object]:
        yield StringConstraints(strip_whitespace=self.strip, max_length=self.max_len, min_length=self.min_len or None)
        if self.description or self.schema:
            yield Field(description=self.description, json_schema_extra=self.schema or None)


class OneOf(_Group):
    """A string from a fixed set (``message``: the refusal, when it is not "must be one of: …")."""

    def __init__(
        self, choices: tuple[str, ...] | list[str], *, description: str | None = None, message: str | None = None
    ) -> None:
        self.choices, self.description = tuple(choices), description
        self.message = message or f"must be one of: {', '.join(self.choices)}"

    def check(self, value: str) -> str:
        if value not in self.choices:
            raise _fail("choice", self.message)
        return value

    def parts(self) -> Iterator[object]:
        yield StringConstraints(strip_whitespace=True)
        yield AfterValidator(self.check)
        described = {"description": self.description} if self.description else {}
        yield WithJsonSchema({"type": "string", "enum": list(self.choices), **described})


def _email(value: str) -> str:
    if not EMAIL_RE.match(value):
        raise _fail("email", "is not a valid email address")
    return value.lower()


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]


def _present_string(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        raise _fail("missing", "is required")
    return value


class Secret(_Group):
    """A non-empty string taken as sent (a password); its other rules belong to a service, whose limits
    ``schema`` documents."""

    def __init__(self, schema: Schema | None = None, *, description: str | None = None) -> None:
        self.schema, self.description = schema or {}, description

    def parts(self) -> Iterator[object]:
        yield BeforeValidator(_present_string)
        described = {"description": self.description} if self.description else {}
        yield WithJsonSchema({"type": "string", "minLength": 1, **self.schema, **described})


class AsSent(_Group):
    """A value passed on unchecked to a service that checks it (and words its refusal); ``schema``
    documents what the service accepts."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def parts(self) -> Iterator[object]:
        yield WithJsonSchema(self.schema)


def _timestamp(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)  # stored and compared in UTC on every database
    except (ValueError, OverflowError):
        raise _fail("datetime", "must be an ISO-8601 date-time between years 1 and 9999") from None


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class QueryInt(_Group):
    """An integer query parameter within bounds; absent or empty takes the field's default."""

    def __init__(self, minimum: int, maximum: int, description: str | None = None) -> None:
        self.minimum, self.maximum, self.description = minimum, maximum, description

    def parse(self, raw: Any) -> Any:
        if raw is None or raw == "":
            raise PydanticUseDefault()
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise _fail("int", "must be an integer") from None
        if not self.minimum <= value <= self.maximum:
            raise _fail("range", f"must be between {self.minimum} and {self.maximum}")
        return value

    def parts(self) -> Iterator[object]:
        yield BeforeValidator(self.parse)
        yield Field(description=self.description, json_schema_extra={"minimum": self.minimum, "maximum": self.maximum})


class QueryNumber(_Group):
    """An optional finite number in the query string."""

    def __init__(self, description: str | None = None) -> None:
        self.description = description

    def parse(self, raw: Any) -> Any:
        if raw is None or raw == "":
            raise PydanticUseDefault()
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise _fail("float", "must be a number") from None
        if not math.isfinite(value):
            raise _fail("finite", "must be a finite number")
        return value

    def parts(self) -> Iterator[object]:
        yield BeforeValidator(self.parse)
        if self.description:
            yield Field(description=self.description)


class QueryText(_Group):
    """A free-text query parameter, trimmed and cut to ``max_len`` (empty: None)."""

    def __init__(self, max_len: int, description: str | None = None) -> None:
        self.max_len, self.description = max_len, description

    def clip(self, raw: Any) -> Any:
        return (raw.strip()[: self.max_len] or None) if isinstance(raw, str) else raw

    def parts(self) -> Iterator[object]:
        yield BeforeValidator(self.clip)  # longer text is cut, not refused: the schema's maxLength is advice
        yield Field(description=self.description, json_schema_extra={"maxLength": self.max_len})


def _blank_is_none(raw: Any) -> Any:
    return None if raw == "" else raw


QueryUuid = Annotated[
    uuid.UUID | None, BeforeValidator(_blank_is_none), WithJsonSchema({"type": "string", "format": "uuid"})
]
"""An optional UUID query parameter (empty: None; else "must be a UUID")."""

# Types of answer fields (documentation).
Id = Annotated[str, WithJsonSchema({"type": "string", "description": "UUID"})]
When = Annotated[str, WithJsonSchema({"type": "string", "description": "ISO-8601 timestamp (UTC)"})]
Object = dict[str, Any]


# --- errors -----------------------------------------------------------------------------------------

_MESSAGES = {
    "string_type": "must be a string",
    "string_too_long": "must be at most {max_length} characters",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "too_long": "must have at most {max_length} items",
    "too_short": "must have at least {min_length} items",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
}


def _message(err: ErrorDetails, list_of: str | None) -> str:
    """Our message for one pydantic error (the first error of a field wins)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing" or (len(err["loc"]) == 1 and err["input"] is None and kind.endswith("_type")):
        return "is required"
    if kind == "string_too_short":
        raw = err["input"]
        empty = not (raw.strip() if isinstance(raw, str) else raw)
        return "must not be empty" if empty else f"must be at least {ctx['min_length']} characters"
    if list_of and (kind == "list_type" or (len(err["loc"]) > 1 and kind == "string_type")):
        return f"must be a list of {list_of}"
    template = _MESSAGES.get(kind)
    return template.format(**ctx) if template else err["msg"]


def _bare(annotation: Any) -> Any:
    """The type under ``Annotated[…]``."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _list_items(model: type[BaseModel], name: str) -> str | None:
    """'strings' for a list-of-strings field, optional or not (its messages name the item type)."""
    info = model.model_fields.get(name)
    annotation = _bare(info.annotation) if info is not None else None
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    for option in map(_bare, options):
        if get_origin(option) is list and _bare(get_args(option)[0]) is str:
            return "strings"
    return None


def field_errors(model: type[BaseModel], error: PydanticError) -> dict[str, str]:
    """``{field: message}`` from a pydantic error, one message per top-level field."""
    fields: dict[str, str] = {}
    for err in error.errors(include_url=False):
        name = str(err["loc"][0]) if err["loc"] else "body"
        if name not in fields:
            fields[name] = _message(err, _list_items(model, name))
    return fields


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``, else a 422 naming every invalid field."""
    try:
        return model.model_validate(data)
    except PydanticError as err:
        raise ValidationError(field_errors(model, err)) from None


def parse_body(model: type[M], *, required: bool = True) -> M:
    """The request's JSON object as ``model`` (400/413/415/422 as ``json_body``)."""
    return parse(model, json_body(required=required))


def parse_query(model: type[M]) -> M:
    """The query string (first value of each name) as ``model``."""
    return parse(model, request.args.to_dict())


# --- the contract of a view -------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """What a view accepts and answers; read by the OpenAPI builder."""

    ok: Mapping[int, Doc]  # success status → body (of ``ok_media``)
    ok_media: str = JSON
    body: type[BaseModel] | None = None  # JSON request body
    body_required: bool = True
    body_media: Mapping[str, Doc] = field(default_factory=dict)  # other request media (multipart, XML)
    query: type[BaseModel] | None = None  # query-string parameters
    headers: tuple[Schema, ...] = ()  # header parameters (OpenAPI parameter objects)
    path: Mapping[str, Schema] = field(default_factory=dict)  # path parameter schemas (default: non-empty string)
    errors: tuple[int, ...] = ()  # statuses beyond those the builder derives from the route itself
    also: Mapping[int, Mapping[str, Doc]] = field(default_factory=dict)  # extra media types per status
    rate_limited: bool = True  # the default per-caller /api limit applies
    text_errors: tuple[int, ...] = ()  # statuses answered in plain text, not the JSON error shape
    security: tuple[str, ...] | None = None  # scheme names when the view authenticates by itself (cookies)
    same_auth_as: str | None = None  # endpoint whose `require()` the view runs (it calls that view)
    components: Mapping[str, Schema] = field(default_factory=dict)  # extra component schemas made by the domain
    models: tuple[type[BaseModel], ...] = ()  # models the document shows that no body names (an SSE event)
    description: str = ""


CONTRACT_ATTR = "api_contract"


def contract(*, parse_input: bool = True, **spec: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a view's contract; with ``parse_input`` (the default) the view receives the parsed
    ``body=`` (when the contract has one) and ``query=`` (likewise).  ``parse_input=False`` documents
    input the view reads itself (it delegates to a view that parses it, or answers WeChat in plain text)."""
    spec_ = Contract(**spec)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        if not parse_input or (spec_.body is None and spec_.query is None):
            setattr(view, CONTRACT_ATTR, spec_)
            return view

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if spec_.body is not None:
                kwargs["body"] = parse_body(spec_.body, required=spec_.body_required)
            if spec_.query is not None:
                kwargs["query"] = parse_query(spec_.query)
            return view(*args, **kwargs)

        setattr(wrapper, CONTRACT_ATTR, spec_)
        return wrapper

    return decorate


def contract_of(view: Callable[..., Any]) -> Contract | None:
    """The contract a view (or a view it wraps) declared."""
    fn: Any = view
    while fn is not None:
        found = getattr(fn, CONTRACT_ATTR, None)
        if found is not None:
            return found
        fn = getattr(fn, "__wrapped__", None)
    return None


# --- models → OpenAPI -------------------------------------------------------------------------------


class _OpenApiSchema(GenerateJsonSchema):
    """JSON Schema as OpenAPI 3.1 shows it: no generated per-field titles."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: Any) -> Schema:
        """A ``None`` default of a field whose documented type refuses null (``AsSent``) is left out."""
        out = super().default_schema(schema)
        kind = out.get("type")
        if (
            out.get("default", 0) is None
            and kind is not None
            and "null" not in (kind if isinstance(kind, list) else [kind])
        ):
            del out["default"]
        return out


REF_TEMPLATE = "#/components/schemas/{model}"


def openapi_schemas(
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]],
) -> tuple[dict[tuple[Any, str], Schema], dict[str, Schema]]:
    """(``$ref`` of each (model, mode), component schemas) for ``models`` and every model they use."""
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema(unique, ref_template=REF_TEMPLATE, schema_generator=_OpenApiSchema)
    return {(model, mode): ref for (model, mode), ref in refs.items()}, top.get("$defs", {})


def query_parameters(model: type[BaseModel]) -> list[Schema]:
    """The model's fields as OpenAPI query parameters."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=_OpenApiSchema)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        options = prop.get("anyOf")
        if options:  # an optional parameter is absent, never null
            kept = [o for o in options if o.get("type") != "null"]
            prop.pop("anyOf")
            prop = {**kept[0], **prop} if len(kept) == 1 else {"anyOf": kept, **prop}
        default = prop.get("default")
        if default in (None, "") or isinstance(default, (list, dict)) or default not in prop.get("enum", [default]):
            prop.pop("default", None)  # a parsed value (split, decoded) or "absent", not a query-string default
        param: Schema = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params
