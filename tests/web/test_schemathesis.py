"""Schemathesis against the app in-process (WSGI), driven by /api/openapi.json.

Every documented operation is called with generated valid and invalid input as a pro-plan tenant owner
(and /api/admin as the platform admin) — all of them on both databases, except the few that would end
the fuzzing caller's own session and the signature-authenticated WeChat callbacks (fuzzed elsewhere).  Checks: no 5xx, status codes and content types documented,
bodies matching the documented schemas, and auth really enforced.  Path ids are sometimes swapped for
real throwaway resources so the happy paths are exercised too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")  # 4.32 needs Python 3.11+ (see requirements_saas.txt)
# The imports below need schemathesis, hence after the skip.
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from hydronet.web.openapi import api_rules, build_document, openapi_path  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]
EXAMPLES = int(20 * float(os.environ.get("HYDRONET_FUZZ_SCALE", "1")))  # per operation (coverage cases come on top)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
# Operations that would end the fuzzing caller's own session, or are fuzzed elsewhere.
SESSION_ENDING = [
    "auth.logout",
    "auth.change_password",
    "auth.change_password.put",
    "web_session.change_password",
    "web_session.change_password.put",
]
UPSTREAM_CALLS = ["mcp_admin.test_server"]
CALLBACKS = r"^/api/wechat(/|$)"  # signature-authenticated: tests/web/test_fuzz_inputs.py and test_wechat_*


@dataclass
class World:
    """A caller's headers and real resources that generated path ids are sometimes replaced with."""

    app: Any
    headers: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    def call_and_validate(self, case: Any) -> None:
        """Send the case to the app (as this caller) and run the checks; about half the ids made real."""
        for name, value in list((case.path_parameters or {}).items()):
            if name in self.ids and len(str(value)) % 2 == 0:
                case.path_parameters[name] = self.ids[name]
        case.operation.schema.app = self.app  # the WSGI transport, for the call and the checks' probes
        case.call_and_validate(app=self.app, headers=self.headers, checks=CHECKS)


@pytest.fixture
def tenant_world(fuzz_app, factory) -> World:
    """An owner of a pro tenant with a conversation, a spare member, an API key, a network, a job, an MCP server."""
    tenant = factory.tenant("Fuzz Water", plan="pro", quota_overrides={"requests_per_minute": -1})
    owner = factory.user(tenant, role="owner")
    spare = factory.user(tenant, role="member")
    world = World(app=fuzz_app, headers=factory.headers(owner))
    client = fuzz_app.test_client()
    conv = client.post("/api/chat/conversations", json={"title": "fuzz"}, headers=world.headers).get_json()
    conv_id = conv["conversation"]["id"]
    client.post(f"/api/chat/conversations/{conv_id}/messages", json={"message": "你好"}, headers=world.headers)
    key = client.post("/api/tenant/api-keys", json={"name": "fuzz", "scopes": ["chat"]}, headers=world.headers)
    world.ids = {"conversation_id": conv_id, "user_id": str(spare.id), "key_id": key.get_json()["api_key"]["id"]}
    net = client.post("/api/networks/import", json={"example": "Net1"}, headers=world.headers).get_json()
    world.ids["network_id"] = net["network"]["id"]
    job = client.post(f"/api/networks/{world.ids['network_id']}/analyses/summary?async=true", headers=world.headers)
    world.ids["job_id"] = job.get_json()["job"]["id"]
    server = client.post(
        "/api/tenant/mcp-servers", json={"name": "fuzz", "url": "https://mcp.example.com/mcp"}, headers=world.headers
    )
    if server.status_code == 201:
        world.ids["server_id"] = server.get_json()["mcp_server"]["id"]
    return world


@pytest.fixture
def admin_world(fuzz_app, platform_admin, factory) -> World:
    """The platform admin, with a throwaway tenant and user to act on."""
    tenant = factory.tenant("Throwaway Water", plan="basic")
    user = factory.user(tenant, role="member")
    ids = {"tenant_id": str(tenant.id), "user_id": str(user.id)}
    return World(app=fuzz_app, headers=factory.headers(platform_admin), ids=ids)


def _document() -> dict[str, Any]:
    """The document of the registered blueprints (built at import: pytest needs the operations to collect)."""
    from flask import Flask

    from hydronet.web.app import BLUEPRINTS

    bare = Flask("hydronet")
    bare.config["VERSION"] = "test"
    for blueprint in BLUEPRINTS:
        bare.register_blueprint(blueprint)
    return build_document(bare)


schema = schemathesis.openapi.from_dict(
    _document(),
    config=schemathesis.Config.from_dict(
        {
            # FIXME(lead): drop "allow-x00": False once U+0000 is refused before PostgreSQL (test_nul_characters_…)
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "with-security-parameters": False,
                "allow-x00": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {  # 502/504 name an unreachable upstream (the MCP server under test), not a failure of ours
                    "include-operation-id": UPSTREAM_CALLS,
                    "checks": {"not_a_server_error": {"expected-statuses": ["2XX", "3XX", "4XX", "502", "504"]}},
                }
            ],
        }
    ),
)
tenant_operations = (
    schema.exclude(path_regex=r"^/api/admin(/|$)").exclude(path_regex=CALLBACKS).exclude(operation_id=SESSION_ENDING)
)
# exclude, not include: include() filters are OR-ed with the config's per-operation section (schemathesis 4.32)
admin_operations = schema.exclude(path_regex=r"^(?!/api/admin(/|$))")


@tenant_operations.parametrize()
@FUZZ
def test_tenant_api_conforms_to_the_document(case, tenant_world):
    """As a tenant owner: no 5xx, documented statuses and bodies, auth enforced."""
    tenant_world.call_and_validate(case)


@admin_operations.parametrize()
@FUZZ
def test_admin_api_conforms_to_the_document(case, admin_world):
    """As the platform admin: the same checks over /api/admin."""
    admin_world.call_and_validate(case)


BAD_CREDENTIALS = [None, "Bearer not-a-jwt", "Bearer hn_deadbeef_unknown-key", "Basic eA==", "Bearer "]


def test_protected_operations_refuse_missing_or_bad_credentials(fuzz_app):
    """Every operation the document marks as protected answers 401, in the error shape, without valid credentials."""
    doc = build_document(fuzz_app)
    client = fuzz_app.test_client()
    checked, wrong = 0, []
    for rule, method in api_rules(fuzz_app):
        operation = doc["paths"].get(openapi_path(rule), {}).get(method.lower())
        if not operation or not operation["security"]:
            continue
        path = openapi_path(rule).replace("{", "").replace("}", "")
        for authorization in BAD_CREDENTIALS:
            headers = {"Authorization": authorization} if authorization is not None else {}
            resp = client.open(path, method=method, headers=headers, json={})
            body = resp.get_json(silent=True) or {}
            checked += 1
            bearer_only = operation["security"] == [{"bearerAuth": []}]
            # an API key where keys are never accepted is refused as such: 403 api_key_not_allowed
            expected = 403 if authorization == BAD_CREDENTIALS[2] and bearer_only else 401
            if resp.status_code != expected or body.get("success") is not False or not body["error"]["code"]:
                wrong.append(f"{method} {path} with {authorization!r}: {resp.status_code} {resp.get_data()[:120]!r}")
    assert checked > 100
    assert not wrong, "\n".join(wrong)
