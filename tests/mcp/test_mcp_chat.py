"""Chat turns calling a tenant's MCP server (a real SDK server on loopback) through the fake DashScope."""

from __future__ import annotations

import json
import uuid

import pytest

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.mcp.tools import tool_name, tool_parameters
from hydronet.models import McpServer, UsageRecord
from tests.fakes.fake_dashscope import FakeReply, FakeToolCall
from tests.fakes.mcp_server import FAKE_TOKEN
from tests.support.sse import sse_events


@pytest.fixture
def register(mcp_client, factory, two_tenants, fake_mcp):
    """Register the fake server for tenant A (as its admin) and run the test action."""
    admin = factory.headers(two_tenants["a_users"]["admin"])

    def _register(test: bool = True, **body):
        payload = {"name": "pumps", "url": fake_mcp.url, "headers": {"Authorization": f"Bearer {FAKE_TOKEN}"}, **body}
        resp = mcp_client.post("/api/tenant/mcp-servers", headers=admin, json=payload)
        assert resp.status_code == 201, resp.get_json()
        sid = resp.get_json()["mcp_server"]["id"]
        if test:
            assert mcp_client.post(f"/api/tenant/mcp-servers/{sid}/test", headers=admin).status_code == 200
        return sid

    return _register


def _turn(client, headers, stream: bool = True, text: str = "查一下泵站"):
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    resp = client.post(
        f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": text, "stream": stream}
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def _offered(fake_dashscope) -> dict:
    return {t["function"]["name"]: t["function"] for t in fake_dashscope.requests[0].tools or []}


def _audits(app, action="mcp.tool_call"):
    with app.app_context(), all_tenants(db.session):
        return [e.details for e in db.session.query(AuditLog).filter_by(action=action).order_by(AuditLog.id)]


def test_chat_turn_calls_the_mcp_tool(mcp_client, mcp_app, fake_dashscope, fake_mcp, register, member):
    register()
    fake_dashscope.script(FakeReply(tool_calls=[FakeToolCall("pumps__echo", {"text": "hi"})]), FakeReply(text="done"))
    events = sse_events(_turn(mcp_client, member[1]))
    offered = _offered(fake_dashscope)
    assert {"list_networks", "pumps__echo", "pumps__add", "pumps__fail", "pumps__slow"} <= set(offered)
    assert offered["pumps__echo"]["parameters"]["properties"]["text"]["type"] == "string"
    assert offered["pumps__echo"]["parameters"]["required"] == ["text"]
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["is_error"] is False and result["result"] == {"result": "echo: hi"}
    tool_message = fake_dashscope.requests[-1].messages[-1]
    assert tool_message["role"] == "tool" and "echo: hi" in tool_message["content"]
    assert events[-1]["type"] == "done" and events[-1]["message"]["content"] == "done"
    assert fake_mcp.calls == [("echo", {"text": "hi"}, f"Bearer {FAKE_TOKEN}")]
    [entry] = _audits(mcp_app)
    assert entry["server"] == "pumps" and entry["tool"] == "echo" and entry["outcome"] == "ok"
    assert entry["duration_ms"] > 0 and entry["conversation_id"]
    with mcp_app.app_context(), all_tenants(db.session):
        [record] = db.session.query(UsageRecord).filter_by(kind="tool").all()
        assert (record.tool, record.status) == ("pumps__echo", "ok")


def test_tool_error_and_timeout_go_back_to_the_model(mcp_client, mcp_app, fake_dashscope, fake_mcp, register, member):
    register(timeout_s=1)
    fake_dashscope.script(
        FakeReply(
            tool_calls=[
                FakeToolCall("pumps__fail", {"reason": "maintenance"}),
                FakeToolCall("pumps__slow", {"seconds": 3}),
            ]
        ),
        FakeReply(text="泵站暂时不可用。"),
    )
    body = _turn(mcp_client, member[1], stream=False).get_json()
    failed, slow = body["reply"]["tool_calls"]
    assert failed["is_error"] and "pump offline: maintenance" in failed["result"]["error"]
    assert slow["is_error"] and "did not answer in time" in slow["result"]["error"]
    assert body["reply"]["content"] == "泵站暂时不可用。"
    sent = [m for m in fake_dashscope.requests[-1].messages if m["role"] == "tool"]
    assert "maintenance" in sent[0]["content"] and "in time" in sent[1]["content"]
    outcomes = [(e["tool"], e["outcome"], e.get("error_code")) for e in _audits(mcp_app)]
    assert outcomes == [("fail", "tool_error", None), ("slow", "timeout", "mcp_timeout")]
    with mcp_app.app_context(), all_tenants(db.session):
        statuses = {r.tool: r.status for r in db.session.query(UsageRecord).filter_by(kind="tool")}
        assert statuses == {"pumps__fail": "error", "pumps__slow": "error"}


def test_only_allowed_tools_of_enabled_servers_are_offered(
    mcp_client, fake_dashscope, register, member, factory, two_tenants
):
    sid = register(allowed_tools=["add"])
    fake_dashscope.script(FakeReply(text="ok"))
    _turn(mcp_client, member[1], stream=False)
    assert {n for n in _offered(fake_dashscope) if n.startswith("pumps__")} == {"pumps__add"}
    admin = factory.headers(two_tenants["a_users"]["admin"])
    mcp_client.patch(f"/api/tenant/mcp-servers/{sid}", headers=admin, json={"enabled": False})
    fake_dashscope.clear()
    fake_dashscope.script(FakeReply(text="ok"))
    _turn(mcp_client, member[1], stream=False)
    assert not [n for n in _offered(fake_dashscope) if n.startswith("pumps__")]
    outsider = factory.headers(two_tenants["b_owner"])  # tenant B never sees tenant A's tools
    mcp_client.patch(f"/api/tenant/mcp-servers/{sid}", headers=admin, json={"enabled": True})
    fake_dashscope.clear()
    fake_dashscope.script(FakeReply(text="ok"))
    _turn(mcp_client, outsider, stream=False)
    assert not [n for n in _offered(fake_dashscope) if n.startswith("pumps__")]


def test_first_turn_lists_tools_when_never_tested(mcp_client, mcp_app, fake_dashscope, register, member):
    sid = register(test=False)
    fake_dashscope.script(FakeReply(text="ok"))
    _turn(mcp_client, member[1], stream=False)
    assert "pumps__echo" in _offered(fake_dashscope)
    with mcp_app.app_context(), all_tenants(db.session):
        assert {t["name"] for t in db.session.get(McpServer, uuid.UUID(sid)).tools_cache} >= {"echo"}


def test_default_app_refuses_loopback_tool_calls(qwen_client, qwen_app, fake_dashscope, fake_mcp, two_tenants, member):
    """Without MCP_ALLOW_PRIVATE the call is refused at connect time and the model is told so."""
    fake_mcp.calls.clear()
    with qwen_app.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        db.session.add(
            McpServer(
                tenant_id=two_tenants["a"].id,
                name="pumps",
                url=fake_mcp.url,
                headers_encrypted="",
                tools_cache=[
                    {
                        "name": "echo",
                        "description": "Echo",
                        "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
                    }
                ],
            )
        )
        db.session.commit()
    fake_dashscope.script(FakeReply(tool_calls=[FakeToolCall("pumps__echo", {"text": "hi"})]), FakeReply(text="ok"))
    body = _turn(qwen_client, member[1], stream=False).get_json()
    [call] = body["reply"]["tool_calls"]
    assert call["is_error"] and "public addresses only" in call["result"]["error"]
    assert fake_mcp.calls == []
    assert [(e["outcome"], e["error_code"]) for e in _audits(qwen_app)] == [("error", "mcp_url_not_allowed")]


@pytest.mark.parametrize(
    "server, tool, expected",
    [
        ("pumps", "echo", "pumps__echo"),
        ("pumps", "get.status/v2", "pumps__get_status_v2"),
        ("pumps", "流量", "pumps____"),
    ],
)
def test_tool_names_are_model_safe(server, tool, expected):
    assert tool_name(server, tool) == expected


def test_long_or_clashing_tool_names_get_a_hash():
    long = tool_name("vendor-telemetry-gateway", "x" * 80)
    assert len(long) == 64 and long.startswith("vendor-telemetry-gateway__xxx")
    assert tool_name("pumps", "a.b", taken={"pumps__a_b"}) != "pumps__a_b"


@pytest.mark.parametrize(
    "schema, usable",
    [
        (None, True),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "number"}},
                "$schema": "http://json-schema.org/draft-07/schema#",
            },
            True,
        ),
        ({"type": "array"}, False),
        ({"type": "object", "properties": {"a": {"type": 5}}}, False),
    ],
)
def test_remote_schemas_are_checked(schema, usable):
    params = tool_parameters(schema)
    assert (params is not None) is usable
    if params:
        assert params["type"] == "object" and "$schema" not in params and json.dumps(params)


def test_a_server_added_after_turns_without_any_is_offered_at_once(
    mcp_client, fake_dashscope, register, member, factory, two_tenants
):
    """The per-tenant count that lets turns skip the server query is invalidated by the change itself."""
    fake_dashscope.script(FakeReply(text="还没有工具。"))
    _turn(mcp_client, member[1], stream=False)  # no server yet: counted 0 and cached
    fake_dashscope.script(FakeReply(text="还是没有。"))
    _turn(mcp_client, member[1], stream=False)  # served from the cached count
    assert not any(name.startswith("pumps__") for name in _offered(fake_dashscope))
    sid = register()
    fake_dashscope.clear()
    fake_dashscope.script(FakeReply(text="有了。"))
    _turn(mcp_client, member[1], stream=False)
    assert "pumps__echo" in _offered(fake_dashscope)
    admin = factory.headers(two_tenants["a_users"]["admin"])
    assert mcp_client.patch(f"/api/tenant/mcp-servers/{sid}", headers=admin, json={"enabled": False}).status_code == 200
    fake_dashscope.clear()
    fake_dashscope.script(FakeReply(text="又没有了。"))
    _turn(mcp_client, member[1], stream=False)
    assert not any(name.startswith("pumps__") for name in _offered(fake_dashscope))
