"""/api/openapi.json: a valid OpenAPI 3.1 document covering exactly the REST API in the URL map."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from hydronet.kernel.contracts import contract_of
from hydronet.web.openapi import api_rules, build_document, openapi_path


@pytest.fixture
def document(client) -> dict[str, Any]:
    """The document as served."""
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200 and resp.is_json
    return resp.get_json()


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(path, method.upper()): op for path, item in doc["paths"].items() for method, op in item.items()}


def test_document_is_valid_openapi_3(document):
    validate(document)  # raises with the offending place when invalid
    assert document["openapi"].startswith("3.1")


def test_document_is_public_and_matches_the_generator(app, client, document):
    assert client.get("/api/openapi.json", headers={"Authorization": "Bearer nonsense"}).status_code == 200
    assert document == build_document(app)


def test_every_api_route_is_documented(app, document):
    documented = _operations(document)
    missing = [
        f"{method} {rule.rule} (endpoint {rule.endpoint}: declare its @contract)"
        for rule, method in api_rules(app)
        if (openapi_path(rule), method) not in documented
    ]
    assert not missing, "routes missing from /api/openapi.json:\n" + "\n".join(missing)


def test_every_documented_operation_exists(app, document):
    routes = {(openapi_path(rule), method) for rule, method in api_rules(app)}
    ghosts = sorted(f"{method} {path}" for path, method in _operations(document) if (path, method) not in routes)
    assert not ghosts, f"documented but not routed: {ghosts}"
    undeclared = sorted(
        rule.endpoint for rule, _method in api_rules(app) if contract_of(app.view_functions[rule.endpoint]) is None
    )
    assert not undeclared, f"/api views without a contract: {undeclared}"


def test_routes_outside_api_are_not_documented(document):
    assert all(path.startswith("/api/") for path in document["paths"])
    assert "/mcp" not in document["paths"] and "/metrics" not in document["paths"]


def test_security_follows_the_require_decorator(app, document):
    ops = _operations(document)
    assert ops[("/api/health", "GET")]["security"] == []
    assert ops[("/api/auth/login", "POST")]["security"] == []
    assert ops[("/api/openapi.json", "GET")]["security"] == []
    assert ops[("/api/chat/conversations", "POST")]["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    assert ops[("/api/chat/conversations", "POST")]["x-permission"] == "chat:write"
    assert ops[("/api/tenant/api-keys", "POST")]["security"] == [{"bearerAuth": []}]  # allow_api_key=False
    for (path, _method), op in ops.items():
        if path.startswith("/api/admin/"):
            assert op["security"] == [{"bearerAuth": []}] and op["x-permission"] == "platform:admin", path
    for rule, method in api_rules(app):
        op = ops.get((openapi_path(rule), method))  # missing ones fail test_every_api_route_is_documented
        if op is not None and getattr(app.view_functions[rule.endpoint], "requires_auth", False):
            assert op["security"], f"{method} {rule.rule} is protected but documented as public"


def test_every_failure_is_documented_in_the_error_shape(document):
    problems = []
    for (path, method), op in _operations(document).items():
        responses = op["responses"]
        if "500" not in responses:
            problems.append(f"{method} {path}: no 500")
        if op["security"] and not {"401", "403"} <= responses.keys():
            problems.append(f"{method} {path}: protected without 401/403")
        if "{" in path and "404" not in responses:
            problems.append(f"{method} {path}: path ids without 404")
        takes_json = "application/json" in op.get("requestBody", {}).get("content", {})
        if takes_json and not {"400", "413", "422"} <= responses.keys():
            problems.append(f"{method} {path}: JSON body without 400/413/422")
        for status, response in responses.items():
            if status[0] in "45" and "$ref" not in response and "text/plain" not in response["content"]:
                problems.append(f"{method} {path} {status}: not the shared error shape")
    assert not problems, "\n".join(problems)
    schemas = document["components"]["schemas"]
    error = schemas["Error"]
    assert error["required"] == ["success", "error"]
    detail = schemas[error["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert detail["required"] == ["code", "message"]


def test_streamed_chat_turn_documents_json_and_sse(document):
    answer = document["paths"]["/api/chat/conversations/{conversation_id}/messages"]["post"]["responses"]["200"]
    assert {"application/json", "text/event-stream"} <= answer["content"].keys()


def _conforms(document: dict[str, Any], method: str, path: str, resp) -> None:
    """Validate a real answer against the documented schema of its status."""
    response = document["paths"][path][method.lower()]["responses"][str(resp.status_code)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = {**response["content"]["application/json"]["schema"], "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(resp.get_json())


def test_happy_path_answers_match_their_schemas(client, factory, two_tenants, platform_admin, document):
    owner = factory.headers(two_tenants["a_users"]["owner"])
    admin = factory.headers(platform_admin)
    calls = [
        ("GET", "/api/health", "/api/health", None, {}),
        ("GET", "/api/auth/me", "/api/auth/me", None, owner),
        ("GET", "/api/tenant/info", "/api/tenant/info", None, owner),
        ("GET", "/api/tenant/usage", "/api/tenant/usage", None, owner),
        ("GET", "/api/tenant/users", "/api/tenant/users", None, owner),
        ("POST", "/api/tenant/api-keys", "/api/tenant/api-keys", {"name": "ci", "scopes": ["chat"]}, owner),
        ("POST", "/api/tenant/users", "/api/tenant/users", {"email": "invitee@example.com"}, owner),
        ("GET", "/api/tenant/audit-logs", "/api/tenant/audit-logs", None, owner),
        ("GET", "/api/admin/tenants", "/api/admin/tenants", None, admin),
        ("GET", "/api/admin/stats", "/api/admin/stats", None, admin),
        ("GET", "/api/admin/health", "/api/admin/health", None, admin),
        ("GET", "/api/admin/audit-logs/verify", "/api/admin/audit-logs/verify", None, admin),
        ("GET", "/api/tenant/info", "/api/tenant/info", None, {}),  # 401 in the error shape
        ("GET", "/api/admin/stats", "/api/admin/stats", None, owner),  # 403 in the error shape
    ]
    tenant_b = f"/api/admin/tenants/{two_tenants['b'].id}"
    calls.append(
        ("PATCH", "/api/admin/tenants/{tenant_id}", tenant_b, {"plan": "basic", "quotas": {"users": 5}}, admin)
    )
    calls.append(("GET", "/api/admin/tenants/{tenant_id}/usage", f"{tenant_b}/usage", None, admin))
    for method, path, url, body, headers in calls:
        _conforms(document, method, path, client.open(url, method=method, json=body, headers=headers))
    created = client.post("/api/chat/conversations", json={"title": "水网"}, headers=owner)
    _conforms(document, "POST", "/api/chat/conversations", created)
    cid = created.get_json()["conversation"]["id"]
    turn = client.post(f"/api/chat/conversations/{cid}/messages", json={"message": "你好"}, headers=owner)
    _conforms(document, "POST", "/api/chat/conversations/{conversation_id}/messages", turn)
    for url in (f"/api/chat/conversations/{cid}", f"/api/chat/conversations/{cid}/messages"):
        path = url.replace(cid, "{conversation_id}")
        _conforms(document, "GET", path, client.get(url, headers=owner))
    _conforms(
        document,
        "GET",
        "/api/chat/conversations/{conversation_id}",
        client.get("/api/chat/conversations/nope", headers=owner),
    )  # 404 in the error shape
