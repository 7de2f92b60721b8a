"""The IDOR matrix: tenant B probing every id-taking endpoint with tenant A's ids gets 404.

Routes are enumerated from the app, so a new id-taking route cannot escape:
its parameter must be listed in RESOURCES, which builds a real object of
tenant A for it.
"""

from __future__ import annotations

import re
import uuid

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import bind_tenant
from hydronet.models import ApiKey, Conversation, McpServer, Network

PLATFORM_ONLY = "/api/admin/"


def _conversation(a, owner):
    return Conversation(tenant_id=a.id, user_id=owner.id, title="A private")


def _network(a, owner):
    return Network(
        tenant_id=a.id,
        name="A net",
        filename="a.inp",
        inp_text="[TITLE]\n[END]\n",
        content_hash="0" * 64,
        size_bytes=15,
        created_by=owner.id,
    )


def _api_key(a, owner):
    return ApiKey(
        tenant_id=a.id, user_id=owner.id, name="k", prefix="abcd1234", key_hash=uuid.uuid4().hex * 2, scopes=["chat"]
    )


def _mcp(a, owner):
    return McpServer(tenant_id=a.id, name="scada", url="https://scada.example.com/mcp")


RESOURCES = {
    "conversation_id": _conversation,
    "network_id": _network,
    "key_id": _api_key,
    "server_id": _mcp,
    "user_id": None,  # tenant A's admin user
    "tenant_id": None,  # tenant A itself (platform routes only)
    "job_id": None,  # analysis jobs: a random id of A is as good as any (404 either way)
    "kind": "hydraulic",
    "fmt": "png",  # picture format of map.<fmt> / timeseries.<fmt>
    "filename": "x",
    "tenant_slug": None,
}


@pytest.fixture
def a_ids(app, two_tenants):
    a, owner = two_tenants["a"], two_tenants["a_users"]["owner"]
    ids = {
        "user_id": str(two_tenants["a_users"]["admin"].id),
        "tenant_id": str(a.id),
        "job_id": str(uuid.uuid4()),
        "tenant_slug": a.slug,
    }
    with app.app_context():
        bind_tenant(db.session, a.id)
        for param, build in RESOURCES.items():
            if callable(build):
                obj = build(a, owner)
                db.session.add(obj)
                db.session.flush()
                ids[param] = str(obj.id)
            elif isinstance(build, str):
                ids[param] = build
        db.session.commit()
    return ids


def id_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api") or not rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def test_every_id_parameter_is_covered(app):
    unknown = {arg for _m, rule in id_routes(app) for arg in rule.arguments if arg not in RESOURCES}
    assert not unknown, f"add these route parameters to RESOURCES: {sorted(unknown)}"


def test_tenant_b_gets_404_for_tenant_a_ids(app, client, factory, two_tenants, a_ids):
    b_headers = factory.headers(two_tenants["b_owner"])
    failures = []
    for method, rule in id_routes(app):
        if "tenant_slug" in rule.arguments:
            continue  # signature-authenticated WeChat callbacks, covered by their own tests
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: a_ids[m.group(1)], rule.rule)
        resp = client.open(url, method=method, headers=b_headers, json={})
        expected = 403 if rule.rule.startswith(PLATFORM_ONLY) else 404
        if resp.status_code != expected:
            failures.append(f"{method} {url}: {resp.status_code} (expected {expected})")
    assert not failures, "\n".join(failures)


def test_owner_of_a_reaches_the_same_objects(app, client, factory, two_tenants, a_ids):
    """Control: the same requests by A's owner do not answer 404 for the objects that exist."""
    headers = factory.headers(two_tenants["a_users"]["owner"])
    conv = client.get(f"/api/chat/conversations/{a_ids['conversation_id']}", headers=headers)
    assert conv.status_code == 200
    user = client.get(f"/api/tenant/users/{a_ids['user_id']}", headers=headers)
    assert user.status_code == 200
