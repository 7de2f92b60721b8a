"""Build the OpenAPI 3.1 document by walking the app's URL map and merging the endpoint registry.

Paths, methods, tags (one per blueprint), summaries (view docstrings) and security (the attributes
`security.auth.require` leaves on a view) come from the code itself; request and response schemas come
from the registry in this package.  An /api endpoint without a registry entry is left out of the
document, which makes `tests/web/test_openapi.py` fail naming it.
"""
from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from flask import Flask
from werkzeug.routing import Rule

from hydronet.web.openapi.ops import JSON, Op
from hydronet.web.openapi.registry import EXTRA_SCHEMAS, REGISTRY
from hydronet.web.openapi.schemas import COMPONENTS, Schema

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_SCHEMAS: dict[str, Schema] = {"int": {"type": "integer"}, "float": {"type": "number"},
                                         "uuid": {"type": "string", "format": "uuid"}}
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed JSON body or a refused request (malformed_json, bad_request, invalid_token …)"),
    401: ("Unauthorized", "Missing, invalid, expired or revoked credentials"),
    403: ("Forbidden", "Permission missing, API key not allowed here, account disabled or tenant suspended"),
    404: ("NotFound", "No such resource (another tenant's ids answer 404 too)"),
    405: ("MethodNotAllowed", "The path does not accept this method (the Allow header lists those it does)"),
    409: ("Conflict", "The change conflicts with the current state (email_taken, last_owner …)"),
    413: ("PayloadTooLarge", "The request body is larger than allowed"),
    422: ("ValidationFailed", "Invalid input: error.fields names each invalid field"),
    429: ("TooManyRequests", "Rate limit (rate_limited), plan quota (quota_exceeded) or sign-in backoff "
                            "(login_locked); Retry-After says when to retry"),
    500: ("InternalError", "Unexpected server error"),
    502: ("BadGateway", "An upstream service (the AI model, an MCP server) failed"),
    503: ("ServiceUnavailable", "A dependency is unavailable or busy"),
    504: ("GatewayTimeout", "An upstream service did not answer in time"),
}
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "Access token from /api/auth/login (15 minutes; refresh with /api/auth/refresh)"},
    "apiKeyAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "hn_… API key",
                   "description": "Tenant API key (`Authorization: Bearer hn_…`), narrowed by its scopes"},
    "refreshCookie": {"type": "apiKey", "in": "cookie", "name": "hn_refresh",
                      "description": "Browser session: the httpOnly refresh cookie set by /api/auth/web/*"},
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


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app's REST API."""
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    tags: set[str] = set()
    for rule, method in api_rules(app):
        op = REGISTRY.get(rule.endpoint)
        if op is None:
            continue
        auth = auth_info(app.view_functions[op.same_auth_as or rule.endpoint])
        operation = _operation(rule, method, app.view_functions[rule.endpoint], op, auth)
        operation["operationId"] = _unique_id(rule.endpoint, method, operation_ids)
        tags.update(operation["tags"])
        paths.setdefault(openapi_path(rule), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "HydroNet API", "version": str(app.config["VERSION"]),
                 "description": "Multi-tenant water-network assistant. Every failure under /api answers "
                                "`{\"success\": false, \"error\": {\"code\", \"message\", …}}`; "
                                "every success carries `\"success\": true`."},
        "tags": [{"name": t, "description": _blueprint_doc(app, t)} for t in sorted(tags)],
        "paths": paths,
        "components": {
            "schemas": {**COMPONENTS, **EXTRA_SCHEMAS},
            "responses": {name: _error_response(desc) for name, desc in ERRORS.values()},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _operation(rule: Rule, method: str, view: Callable[..., Any], op: Op, auth: AuthInfo) -> dict[str, Any]:
    """One operation object: tags, summary, security, parameters, body and responses."""
    doc = inspect.getdoc(view) or ""
    out: dict[str, Any] = {
        "tags": [rule.endpoint.rsplit(".", 1)[0]],
        "summary": doc.split("\n", 1)[0].rstrip("."),
        "description": _description(doc, op, auth),
        "security": [{name: []} for name in op.security] if op.security is not None else _security(auth),
    }
    if auth.permission:
        out["x-permission"] = auth.permission
    params = [*_path_params(rule, op), *op.query]
    if params:
        out["parameters"] = params
    body = _request_body(op) if method in ("POST", "PUT", "PATCH") else None
    if body:
        out["requestBody"] = body
    out["responses"] = _responses(rule, op, auth, has_body=bool(body))
    return out


def _description(doc: str, op: Op, auth: AuthInfo) -> str:
    notes = [doc] if doc else []
    if op.description:
        notes.append(op.description)
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


def _path_params(rule: Rule, op: Op) -> list[dict[str, Any]]:
    out = []
    for match in _ARG.finditer(rule.rule):
        name = match.group("name")
        schema = op.path.get(name) or _CONVERTER_SCHEMAS.get(match.group("converter") or "",
                                                              {"type": "string", "minLength": 1})
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _request_body(op: Op) -> dict[str, Any] | None:
    content: dict[str, Any] = {}
    if op.body is not None:
        content[JSON] = {"schema": op.body}
    content.update({media: {"schema": schema} for media, schema in op.body_media.items()})
    return {"required": op.body_required, "content": content} if content else None


def _error_statuses(rule: Rule, op: Op, auth: AuthInfo, has_body: bool) -> set[int]:
    """Failures the route can answer: from its body, query, auth, path ids and rate limit, plus the registry's."""
    statuses = set(op.errors) | {500}
    if has_body and op.body is not None:
        statuses |= {400, 413, 422}
    if not op.text_errors and any(_validated(p["schema"]) for p in op.query):
        statuses.add(422)
    if auth.required or op.security:
        statuses |= {401, 403}
    if rule.arguments:
        statuses.add(404)
    if op.rate_limited:
        statuses.add(429)
    return statuses


def _validated(schema: Schema) -> bool:
    """Query parameters the server checks (422 when wrong)."""
    return schema.get("type") in ("integer", "number") or "format" in schema or "enum" in schema


def _responses(rule: Rule, op: Op, auth: AuthInfo, has_body: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, schema in sorted(op.ok.items()):
        content = {op.ok_media: {"schema": schema}, **{m: {"schema": s} for m, s in op.also.get(status, {}).items()}}
        responses[str(status)] = {"description": "Success", "content": content}
    for status in sorted(_error_statuses(rule, op, auth, has_body) - set(op.ok)):
        name, desc = ERRORS[status]
        if status in op.text_errors:
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
