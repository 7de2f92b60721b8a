"""The assistant's water tools: schemas, tenant scoping, agreement with REST, and chat turns that use them."""

from __future__ import annotations

import json
import uuid

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.llm.tools import ToolContext, ToolRegistry
from hydronet.models import Message
from hydronet.water import tools as water_tools  # noqa: F401  (registers the tools)
from hydronet.water.jsonify import round_sig
from hydronet.water.tools import TOOLS as WATER_TOOLS
from tests.fakes.fake_dashscope import FakeReply, FakeToolCall
from tests.support.networks import import_example, library_text, upload
from tests.support.sse import sse_events

ANALYSIS_TOOLS = {
    "run_hydraulic_simulation": {},
    "get_timeseries": {"element": "22", "variable": "pressure"},
    "water_age": {"duration_h": 72},
    "resilience_metrics": {},
    "topology_metrics": {},
    "pipe_criticality": {"max_pipes": 3, "duration_h": 6},
    "fire_flow": {"max_hydrants": 3, "duration_h": 6},
    "leak_scenario": {"junction": "22", "duration_h": 6},
    "segment_criticality": {"max_segments": 2, "duration_h": 6},
    "what_if": {"close_pipes": ["10"], "duration_h": 12},
}


def registry() -> ToolRegistry:
    """The built-in tools every tenant's assistant gets."""
    return ToolRegistry(WATER_TOOLS)


def run_tool(app, tenant, name: str, arguments: dict):
    """Run one tool as the chat loop does, in a session bound to ``tenant``."""
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        return registry().run(ToolContext(tenant_id=str(tenant.id)), name, arguments)


def test_every_water_tool_is_registered_with_a_precise_schema():
    """Eleven tools; each analysis tool requires network_id, rejects unknown arguments and states its units."""
    tools = {tool.name: tool for tool in registry()}
    assert set(ANALYSIS_TOOLS) | {"list_networks", "get_network_summary"} <= set(tools)
    for name in [*ANALYSIS_TOOLS, "get_network_summary"]:
        schema = tools[name].parameters
        assert schema["required"][0] == "network_id" and schema["additionalProperties"] is False
        assert len(tools[name].description) > 150  # says what comes back, and in which units
    assert "m3/s" in tools["run_hydraulic_simulation"].description
    assert tools["leak_scenario"].parameters["required"] == ["network_id", "junction"]
    criticality = tools["pipe_criticality"].parameters["properties"]["max_pipes"]
    assert (criticality["default"], criticality["maximum"]) == (water_tools.CHAT_MAX_ITEMS, 200)


def test_tools_agree_with_rest_and_stay_in_the_tenant(app, client, member, two_tenants):
    """Tool results equal the REST results (same cache); another tenant's network is 'not found'."""
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    tenant_a, tenant_b = two_tenants["a"], two_tenants["b"]
    rest = client.post(f"/api/networks/{nid}/analyses/hydraulic", headers=headers, json={}).get_json()["result"]
    outcome = run_tool(app, tenant_a, "run_hydraulic_simulation", {"network_id": nid})
    assert not outcome.is_error, outcome.for_model
    lowest = outcome.for_model["min_pressure"]
    assert lowest["node"] == rest["min_pressure"]["node"] and lowest["time_h"] == rest["min_pressure"]["time_h"]
    assert lowest["pressure_m"] == round_sig(rest["min_pressure"]["pressure_m"], water_tools.COMPACT_DIGITS)
    assert "node_min_pressure_m" not in outcome.for_model and outcome.for_model["network_id"] == nid
    assert {k: v for k, v in outcome.full.items() if k not in ("network_id", "network_name")} == rest
    summary = run_tool(app, tenant_a, "get_network_summary", {"network_id": nid})
    assert summary.for_model["counts"]["junctions"] == 9
    listed = run_tool(app, tenant_a, "list_networks", {}).for_model
    assert listed["count"] == 1 and listed["networks"][0]["network_id"] == nid
    for probe in ({"network_id": nid}, {"network_id": "not-a-uuid"}):
        foreign = run_tool(app, tenant_b, "run_hydraulic_simulation", probe)
        assert foreign.is_error and "network not found" in foreign.for_model["error"]
    assert run_tool(app, tenant_b, "list_networks", {}).for_model == {"networks": [], "count": 0}
    bad = run_tool(app, tenant_a, "run_hydraulic_simulation", {"network_id": nid, "duration_h": -5})
    assert bad.is_error and "invalid arguments" in bad.for_model["error"]
    unknown = run_tool(app, tenant_a, "leak_scenario", {"network_id": nid, "junction": "nope"})
    assert unknown.is_error and "nope" in unknown.for_model["error"]


@pytest.mark.parametrize("name", sorted(ANALYSIS_TOOLS))
def test_each_analysis_tool_answers_compactly(app, client, member, two_tenants, name):
    """Every analysis tool returns a small rounded result for the model and the full one for the UI."""
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    outcome = run_tool(app, two_tenants["a"], name, {"network_id": nid, **ANALYSIS_TOOLS[name]})
    assert not outcome.is_error, outcome.for_model
    assert outcome.for_model["network_id"] == nid and outcome.full["network_id"] == nid
    assert len(outcome.model_content()) < 6000
    if name == "get_timeseries":
        assert outcome.for_model["unit"] == "m" and outcome.for_model["points_sample"]
        assert "points" not in outcome.for_model and len(outcome.full["points"]) == outcome.for_model["point_count"]


def test_qwen_chat_turn_quotes_the_tool_result(qwen_client, fake_dashscope, member, qwen_app):
    """After an upload, the model calls run_hydraulic_simulation; the tool_result event, the stored message and
    the answer carry the lowest pressure (node, time, value) that the REST endpoint also reports."""
    _user, headers = member
    uploaded = upload(qwen_client, headers, library_text("Net1"), filename="我的管网.inp")
    assert uploaded.status_code == 201, uploaded.get_json()
    nid = uploaded.get_json()["network"]["id"]
    rest = qwen_client.post(f"/api/networks/{nid}/analyses/hydraulic", headers=headers, json={}).get_json()
    lowest = rest["result"]["min_pressure"]
    answer = f"压力最低的是节点 {lowest['node']}，出现在第 {lowest['time_h']:g} 小时，约 {lowest['pressure_m']:.2f} m。"
    fake_dashscope.script(
        FakeReply(tool_calls=[FakeToolCall("run_hydraulic_simulation", {"network_id": nid})]), FakeReply(text=answer)
    )
    cid = qwen_client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    resp = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages",
        headers=headers,
        json={"message": "我的管网哪里压力最低？", "stream": True},
    )
    events = sse_events(resp)
    tool_result = next(e for e in events if e["type"] == "tool_result")
    assert tool_result["result"]["min_pressure"]["node"] == lowest["node"]
    assert tool_result["result"]["min_pressure"]["time_h"] == lowest["time_h"]
    sent = fake_dashscope.requests[-1].messages[-1]
    assert sent["role"] == "tool" and json.loads(sent["content"])["min_pressure"]["node"] == lowest["node"]
    offered = {t["function"]["name"] for t in fake_dashscope.requests[0].tools}
    assert {"list_networks", "run_hydraulic_simulation", "pipe_criticality", "what_if"} <= offered
    done = events[-1]
    assert done["type"] == "done" and done["message"]["content"] == answer
    stored = done["message"]["tool_calls"][0]
    assert stored["name"] == "run_hydraulic_simulation" and stored["result"]["min_pressure"]["node"] == lowest["node"]


def test_offline_assistant_analyses_the_imported_network(client, member, app):
    """Without a Qwen key, '哪里压力最低' runs list_networks + the simulation and quotes node, time and value."""
    _user, headers = member
    nid = import_example(client, headers, "Net1")["id"]
    lowest = client.post(f"/api/networks/{nid}/analyses/hydraulic", headers=headers, json={}).get_json()["result"][
        "min_pressure"
    ]
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    resp = client.post(
        f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "帮我分析一下管网，哪里压力最低？"}
    )
    assert resp.status_code == 200, resp.get_json()
    reply = resp.get_json()["reply"]
    content = reply["content"]
    assert "离线" in content and "最低压力" in content
    assert f"最低压力出现在节点 {lowest['node']}" in content and f"（{lowest['time_h']:g} h）" in content
    assert f"{lowest['pressure_m']:.2f}".rstrip("0").rstrip(".") + " m" in content
    with app.app_context(), all_tenants(db.session):
        stored = db.session.get(Message, uuid.UUID(reply["id"]))
        names = [call["name"] for call in stored.meta["tool_calls"]]
    assert names == ["list_networks", "get_network_summary", "run_hydraulic_simulation"]
