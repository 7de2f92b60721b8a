"""HydroNet's own /mcp endpoint, driven by the unmodified SDK client over real HTTP."""

from __future__ import annotations

import hashlib
import sys

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Network, UsageRecord
from hydronet.water.tools import TOOLS as WATER_TOOLS

if sys.version_info < (3, 11):  # a builtin from 3.11; anyio installs the backport before that
    from exceptiongroup import BaseExceptionGroup

RPC_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
RPC_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


def _api_key(client, factory, user, scopes=("mcp",)) -> str:
    resp = client.post(
        "/api/tenant/api-keys", headers=factory.headers(user), json={"name": "mcp", "scopes": list(scopes)}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["key"]


def _network(app, tenant, name: str) -> str:
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        net = Network(
            tenant_id=tenant.id,
            name=name,
            filename=f"{name}.inp",
            inp_text="[TITLE]\n",
            size_bytes=8,
            content_hash=hashlib.sha256(name.encode()).hexdigest(),
            summary={"counts": {"junctions": 9}},
        )
        db.session.add(net)
        db.session.commit()
        return str(net.id)


def _session(url: str, bearer: str | None, work, mode: str = "auto"):
    """Run ``work(client)`` with an SDK client connected to ``url`` (optionally with a bearer)."""

    async def main():
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                return await work(client)

    return anyio.run(main)


async def _list_and_call(client):
    tools = await client.list_tools()
    result = await client.call_tool("list_networks", {})
    return tools, result


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


@pytest.fixture
def tenants_with_networks(app, two_tenants):
    return {"a": _network(app, two_tenants["a"], "north-zone"), "b": _network(app, two_tenants["b"], "beta-secret-net")}


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 single exchanges, and the initialize handshake
def test_sdk_client_lists_and_calls_with_an_api_key(
    app, client, factory, two_tenants, live_app_url, tenants_with_networks, mode
):
    key = _api_key(client, factory, two_tenants["a_users"]["admin"])
    tools, result = _session(f"{live_app_url}/mcp", key, _list_and_call, mode=mode)
    listed = {t.name: t for t in tools.tools}
    assert set(listed) == {t.name for t in WATER_TOOLS}
    builtin = next(t for t in WATER_TOOLS if t.name == "list_networks")
    assert listed["list_networks"].input_schema == builtin.parameters
    assert result.is_error is False
    names = [n["name"] for n in result.structured_content["networks"]]
    assert names == ["north-zone"]  # tenant B's network is invisible
    assert "beta-secret-net" not in result.content[0].text
    with app.app_context(), all_tenants(db.session):
        [record] = db.session.query(UsageRecord).filter_by(kind="tool").all()
        assert (record.tenant_id, record.tool, record.status) == (two_tenants["a"].id, "list_networks", "ok")


def test_other_tenants_key_sees_only_its_networks(client, factory, two_tenants, live_app_url, tenants_with_networks):
    key = _api_key(client, factory, two_tenants["b_owner"])
    _tools, result = _session(f"{live_app_url}/mcp", key, _list_and_call)
    assert [n["name"] for n in result.structured_content["networks"]] == ["beta-secret-net"]


def test_other_tenants_network_id_is_refused(client, factory, two_tenants, live_app_url, tenants_with_networks):
    """Probe a network-scoped tool with tenant B's network id (skipped until such a tool exists)."""
    if not any(t.name == "get_network_summary" for t in WATER_TOOLS):
        pytest.skip("get_network_summary is not registered yet")
    key = _api_key(client, factory, two_tenants["a_users"]["admin"])

    async def probe(mcp):
        return await mcp.call_tool("get_network_summary", {"network_id": tenants_with_networks["b"]})

    result = _session(f"{live_app_url}/mcp", key, probe)
    assert result.is_error and "beta-secret-net" not in result.content[0].text


def test_jwt_works_and_viewers_cannot_run_tools(factory, two_tenants, live_app_url, tenants_with_networks):
    viewer_jwt = factory.tokens(two_tenants["a_users"]["viewer"])["access_token"]
    tools, result = _session(f"{live_app_url}/mcp", viewer_jwt, _list_and_call)
    assert "list_networks" in {t.name for t in tools.tools}
    assert result.is_error and "analyses:run" in result.content[0].text


@pytest.mark.parametrize("bearer", [None, "hn_deadbeef_not-a-real-key", "not-a-jwt"])
def test_sdk_client_without_valid_credentials_is_refused(live_app_url, bearer):
    with pytest.raises(BaseException) as info:
        _session(f"{live_app_url}/mcp", bearer, _list_and_call)
    assert any(isinstance(leaf, MCPError) for leaf in _leaves(info.value)), info.value


@pytest.mark.parametrize(
    "bearer_kind, status, code",
    [
        ("none", 401, "unauthorized"),
        ("revoked", 401, "invalid_api_key"),
        ("chat_scope", 403, "forbidden"),
    ],
)
def test_refusals_use_the_error_shape(client, factory, two_tenants, bearer_kind, status, code):
    admin = two_tenants["a_users"]["admin"]
    headers = dict(RPC_HEADERS)
    if bearer_kind == "revoked":
        key = _api_key(client, factory, admin)
        key_id = client.get("/api/tenant/api-keys", headers=factory.headers(admin)).get_json()["api_keys"][0]["id"]
        client.delete(f"/api/tenant/api-keys/{key_id}", headers=factory.headers(admin))
        headers["Authorization"] = f"Bearer {key}"
    elif bearer_kind == "chat_scope":
        headers["Authorization"] = f"Bearer {_api_key(client, factory, admin, scopes=('chat',))}"
    resp = client.post("/mcp", headers=headers, json=RPC_LIST)
    assert resp.status_code == status
    assert resp.get_json() == {"success": False, "error": {**resp.get_json()["error"], "code": code}}
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_plain_json_rpc_and_the_plan_rate_limit(client, factory):
    tenant = factory.tenant(plan="pro", quota_overrides={"requests_per_minute": 2})
    headers = {**RPC_HEADERS, **factory.headers(factory.user(tenant, role="member"))}
    for _ in range(2):
        resp = client.post("/mcp", headers=headers, json=RPC_LIST)
        assert resp.status_code == 200 and resp.mimetype == "application/json"
        assert "list_networks" in {t["name"] for t in resp.get_json()["result"]["tools"]}
    limited = client.post("/mcp", headers=headers, json=RPC_LIST)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_no_standalone_stream_or_sessions_in_stateless_mode(client, factory, two_tenants, method):
    headers = {**RPC_HEADERS, **factory.headers(two_tenants["a_users"]["member"])}
    resp = client.open("/mcp", method=method, headers=headers)
    assert resp.status_code == 405 and "POST" in resp.headers["Allow"]
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
