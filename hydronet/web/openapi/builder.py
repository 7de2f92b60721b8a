"""Build the OpenAPI 3.1 document by walking the app's URL map and reading each view's contract.

Paths, methods, tags (one per blueprint), summaries (view docstrings) and security (the attributes
`auth.principal.require` leaves on a view) come from the code itself; request and response schemas come
from the contract each view declares (`kernel.contracts.contract`), generated from its pydantic models.
An /api endpoint without a contract is left out of the document, which makes `tests/web/test_openapi.py`
fail naming it.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from flask import Flask
from pydantic import BaseModel
from werkzeug.routing import Rule

from hydronet.kernel.contracts import JSON, Contract, Doc, Error, contract_of, openapi_schemas, query_parameters

Schema = dict[str, Any]

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_SCHEMAS: dict[str, Schema] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed JSON body or a refused request (malformed_json, bad_request, invalid_token …)"),
    401: ("Unauthorized", "Missing, invalid, expired or revoked credentials"),
    403: ("Forbidden", "Permission missing, API key not allowed here, account disabled or tenant suspended"),
    404: ("NotFound", "No such resource (another tenant's ids answer 404 too)"),
    405: ("MethodNotAllowed", "The path does not accept this method (the Allow header lists those it does)"),
    409: ("Conflict", "The change conflicts with the current state (email_taken, last_owner …)"),
    413: ("PayloadTooLarge", "The request body is larger than allowed"),
    422: ("ValidationFailed", "Invalid input: error.fields names each invalid field"),
    429: (
        "TooManyRequests",
        "Rate limit (rate_limited), plan quota (quota_exceeded) or sign-in backoff "
        "(login_locked); Retry-After says when to retry",
    ),
    500: ("InternalError", "Unexpected server error"),
    502: ("BadGateway", "An upstream service (the AI model, an MCP server) failed"),
    503: ("ServiceUnavailable", "A dependency is unavailable or busy"),
    504: ("GatewayTimeout", "An upstream service did not answer in time"),
}
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Access token from /api/auth/login (15 minutes; refresh with /api/auth/refresh)",
    },
    "apiKeyAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "hn_… API key",
        "description": "Tenant API key (`Authorization: Bearer hn_…`), narrowed by its scopes",
    },
    "refreshCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "hn_refresh",
        "description": "Browser session: the httpOnly refresh cookie set by /api/auth/web/*",
    },
}


@dataclass(frozen=True)
class AuthInfo:
    """How a view authenticates its caller."""

    required: bool
    permission: str | None = None
    allow_api_key: bool = True
    fresh: bool = False


def is_api_path(rule: str) -> bool:
    """Routes the document covers: everything under /api."""
    return rule == "/api" or rule.startswith("/api/")


def api_rules(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every (rule, method) of the REST API, in a stable order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if is_api_path(rule.rule):
            for method in sorted((rule.methods or set()) - IGNORED_METHODS):
                yield rule, method


def openapi_path(rule: Rule) -> str:
    """The rule's path in OpenAPI form: ``<conv:name>`` becomes ``{name}``."""
    return _ARG.sub(lambda m: "{" + m.group("name") + "}", rule.rule)


def auth_info(view: Callable[..., Any]) -> AuthInfo:
    """What `require()` configured on a view (closure values where it left no attribute)."""
    if not getattr(view, "requires_auth", False):
        return AuthInfo(required=False)
    options: dict[str, Any] = {}
    fn: Any = view
    while fn is not None and not options:
        if inspect.isfunction(fn) and "allow_api_key" in fn.__code__.co_freevars:
            options = inspect.getclosurevars(fn).nonlocals
        fn = getattr(fn, "__wrapped__", None)
    return AuthInfo(
        required=True,
        permission=getattr(view, "required_permission", None),
        allow_api_key=bool(getattr(view, "allow_api_key", options.get("allow_api_key", True))),
        fresh=bool(getattr(view, "requires_fresh", options.get("fresh", False))),
    )


def _models(spec: Contract) -> list[tuple[type[BaseModel], Literal["validation", "serialization"]]]:
    """The models a contract names, each with the direction it is read in."""
    out: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = []
    inputs = [spec.body, *spec.body_media.values()]
    outputs = [*spec.ok.values(), *(doc for media in spec.also.values() for doc in media.values()), *spec.models]
    out += [(doc, "validation") for doc in inputs if _is_model(doc)]
    out += [(doc, "serialization") for doc in outputs if _is_model(doc)]
    return out


def _is_model(doc: Any) -> bool:
    return isinstance(doc, type) and issubclass(doc, BaseModel)


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app's REST API."""
    routes = [
        (rule, method, spec)
        for rule, method in api_rules(app)
        if (spec := contract_of(app.view_functions[rule.endpoint])) is not None
    ]
    refs, schemas = openapi_schemas([(Error, "serialization"), *(m for _r, _m, spec in routes for m in _models(spec))])
    extra: dict[str, Schema] = {}
    for _rule, _method, spec in routes:
        extra.update(spec.components)

    def schema_of(doc: Doc, mode: str) -> Schema:
        return refs[(doc, mode)] if _is_model(doc) else doc  # type: ignore[index,return-value]

    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    tags: set[str] = set()
    for rule, method, spec in routes:
        auth = auth_info(app.view_functions[spec.same_auth_as or rule.endpoint])
        operation = _operation(rule, method, app.view_functions[rule.endpoint], spec, auth, schema_of)
        operation["operationId"] = _unique_id(rule.endpoint, method, operation_ids)
        tags.update(operation["tags"])
        paths.setdefault(openapi_path(rule), {})[method.lower()] = operation
    # pydantic qualifies a name two models share with their modules (a__b__Name): rename one instead
    clash = (schemas.keys() & extra.keys()) | {name for name in schemas if "__" in name}
    if clash:
        raise RuntimeError(f"component schemas named twice: {sorted(clash)}")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HydroNet API",
            "version": str(app.config["VERSION"]),
            "description": "Multi-tenant water-network assistant. Every failure under /api answers "
            '`{"success": false, "error": {"code", "message", …}}`; '
            'every success carries `"success": true`.',
        },
        "tags": [{"name": t, "description": _blueprint_doc(app, t)} for t in sorted(tags)],
        "paths": paths,
        "components": {
            "schemas": {**schemas, **extra},
            "responses": {name: _error_response(desc) for name, desc in ERRORS.values()},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


SchemaOf = Callable[[Doc, str], Schema]


def _operation(
    rule: Rule, method: str, view: Callable[..., Any], spec: Contract, auth: AuthInfo, schema_of: SchemaOf
) -> dict[str, Any]:
    """One operation object: tags, summary, security, parameters, body and responses."""
    doc = inspect.getdoc(view) or ""
    out: dict[str, Any] = {
        "tags": [rule.endpoint.rsplit(".", 1)[0]],
        "summary": doc.split("\n", 1)[0].rstrip("."),
        "description": _description(doc, spec, auth),
        "security": [{name: []} for name in spec.security] if spec.security is not None else _security(auth),
    }
    if auth.permission:
        out["x-permission"] = auth.permission
    query = query_parameters(spec.query) if spec.query is not None else []
    params = [*_path_params(rule, spec), *query, *spec.headers]
    if params:
        out["parameters"] = params
    body = _request_body(spec, schema_of) if method in ("POST", "PUT", "PATCH") else None
    if body:
        out["requestBody"] = body
    out["responses"] = _responses(rule, spec, auth, params, schema_of, has_body=bool(body))
    return out


def _description(doc: str, spec: Contract, auth: AuthInfo) -> str:
    notes = [doc] if doc else []
    if spec.description:
        notes.append(spec.description)
    if auth.permission:
        notes.append(f"Requires the `{auth.permission}` permission.")
    if auth.fresh:
        notes.append("Needs a fresh access token (from a sign-in, not a refresh).")
    if auth.required and not auth.allow_api_key:
        notes.append("API keys are not accepted here.")
    return "\n\n".join(notes)


def _security(auth: AuthInfo) -> list[dict[str, list[str]]]:
    if not auth.required:
        return []
    return [{"bearerAuth": []}, {"apiKeyAuth": []}] if auth.allow_api_key else [{"bearerAuth": []}]


def _path_params(rule: Rule, spec: Contract) -> list[dict[str, Any]]:
    out = []
    for match in _ARG.finditer(rule.rule):
        name = match.group("name")
        schema = spec.path.get(name) or _CONVERTER_SCHEMAS.get(
            match.group("converter") or "", {"type": "string", "minLength": 1}
        )
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _request_body(spec: Contract, schema_of: SchemaOf) -> dict[str, Any] | None:
    content: dict[str, Any] = {}
    if spec.body is not None:
        content[JSON] = {"schema": schema_of(spec.body, "validation")}
    content.update({media: {"schema": schema_of(doc, "validation")} for media, doc in spec.body_media.items()})
    return {"required": spec.body_required, "content": content} if content else None


def _error_statuses(
    rule: Rule, spec: Contract, auth: AuthInfo, params: list[dict[str, Any]], has_body: bool
) -> set[int]:
    """Failures the route can answer: from its body, query, auth, path ids and rate limit, plus the contract's."""
    statuses = set(spec.errors) | {500}
    if has_body and spec.body is not None:
        statuses |= {400, 413, 422}
    if not spec.text_errors and any(p["in"] == "query" and _validated(p["schema"]) for p in params):
        statuses.add(422)
    if auth.required or spec.security:
        statuses |= {401, 403}
    if rule.arguments:
        statuses.add(404)
    if spec.rate_limited:
        statuses.add(429)
    return statuses


def _validated(schema: Schema) -> bool:
    """Query parameters the server checks (422 when wrong)."""
    return schema.get("type") in ("integer", "number") or "format" in schema or "enum" in schema


def _responses(
    rule: Rule, spec: Contract, auth: AuthInfo, params: list[dict[str, Any]], schema_of: SchemaOf, has_body: bool
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, doc in sorted(spec.ok.items()):
        content = {
            spec.ok_media: {"schema": schema_of(doc, "serialization")},
            **{m: {"schema": schema_of(d, "serialization")} for m, d in spec.also.get(status, {}).items()},
        }
        responses[str(status)] = {"description": "Success", "content": content}
    for status in sorted(_error_statuses(rule, spec, auth, params, has_body) - set(spec.ok)):
        name, desc = ERRORS[status]
        if status in spec.text_errors:
            responses[str(status)] = {"description": desc, "content": {"text/plain": {"schema": {"type": "string"}}}}
        else:
            responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    return responses


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _unique_id(endpoint: str, method: str, seen: set[str]) -> str:
    """The endpoint name; with the method (and a number) for its second rule or method."""
    candidate, n = endpoint, 1
    while candidate in seen:
        n += 1
        candidate = f"{endpoint}.{method.lower()}" + (str(n) if n > 2 else "")
    seen.add(candidate)
    return candidate


def _blueprint_doc(app: Flask, name: str) -> str:
    """First line of the blueprint module's docstring (the tag's description)."""
    bp = app.blueprints.get(name)
    module = sys.modules.get(bp.import_name) if bp else None
    return ((module.__doc__ if module else None) or name).strip().split("\n", 1)[0]
