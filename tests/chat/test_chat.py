"""Conversations, messages, streaming and the Qwen path through the real dashscope SDK."""

from __future__ import annotations

import time

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Message, UsageRecord
from tests.fakes.fake_dashscope import FakeError, FakeReply, FakeToolCall
from tests.support.sse import sse_events


def _conv(client, headers, title="水网分析"):
    resp = client.post("/api/chat/conversations", headers=headers, json={"title": title})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["conversation"]["id"]


def _count_messages(app):
    with app.app_context(), all_tenants(db.session):
        return db.session.query(Message).count()


def test_conversation_crud(client, member):
    _user, headers = member
    cid = _conv(client, headers)
    got = client.get(f"/api/chat/conversations/{cid}", headers=headers).get_json()
    assert got["conversation"]["title"] == "水网分析" and got["messages"] == []
    patched = client.patch(
        f"/api/chat/conversations/{cid}", headers=headers, json={"title": "新标题", "archived": True}
    )
    assert patched.get_json()["conversation"] == {
        **patched.get_json()["conversation"],
        "title": "新标题",
        "archived": True,
    }
    assert client.get("/api/chat/conversations", headers=headers).get_json()["conversations"] == []
    archived = client.get("/api/chat/conversations?archived=true", headers=headers).get_json()["conversations"]
    assert [c["id"] for c in archived] == [cid]
    assert client.delete(f"/api/chat/conversations/{cid}", headers=headers).status_code == 200
    assert client.get(f"/api/chat/conversations/{cid}", headers=headers).status_code == 404


def test_list_keyset_pagination_stable_under_inserts(client, member):
    _user, headers = member
    ids = [_conv(client, headers, f"c{i}") for i in range(5)]
    first = client.get("/api/chat/conversations?limit=2", headers=headers).get_json()
    assert [c["id"] for c in first["conversations"]] == ids[::-1][:2]
    _conv(client, headers, "newer")  # an insert between pages must not shift the next page
    second = client.get(f"/api/chat/conversations?limit=2&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [c["id"] for c in second["conversations"]] == ids[::-1][2:4]
    third = client.get(f"/api/chat/conversations?limit=2&cursor={second['next_cursor']}", headers=headers).get_json()
    assert [c["id"] for c in third["conversations"]] == ids[:1]
    assert third["next_cursor"] is None


def test_list_filters_search_archive_and_the_whole_shape(client, member, two_tenants, factory):
    _user, headers = member
    pct = _conv(client, headers, "压力 100% 管网")
    under = _conv(client, headers, "pump_station 泵站")
    _conv(client, headers, "1000 管网")
    client.patch(f"/api/chat/conversations/{under}", headers=headers, json={"archived": True})
    # LIKE wildcards in q are literal characters
    assert [
        c["id"] for c in client.get("/api/chat/conversations?q=0%", headers=headers).get_json()["conversations"]
    ] == [pct]
    assert client.get("/api/chat/conversations?q=p_mp", headers=headers).get_json()["conversations"] == []
    found = client.get("/api/chat/conversations?q=PUMP_&archived=all", headers=headers).get_json()["conversations"]
    assert [c["id"] for c in found] == [under]
    assert [
        c["id"] for c in client.get("/api/chat/conversations?q=pump", headers=headers).get_json()["conversations"]
    ] == []
    listed = client.get("/api/chat/conversations?archived=all&limit=1", headers=headers).get_json()
    assert listed["next_cursor"] and set(listed["conversations"][0]) == {
        "id",
        "title",
        "archived",
        "channel",
        "message_count",
        "created_at",
        "updated_at",
    }
    rest = client.get(f"/api/chat/conversations?archived=all&q=管网&cursor={listed['next_cursor']}", headers=headers)
    assert [c["id"] for c in rest.get_json()["conversations"]] == [pct]
    # another user of the same tenant, and another tenant, see none of them
    for other in (two_tenants["a_users"]["admin"], two_tenants["b_owner"]):
        assert (
            client.get("/api/chat/conversations?archived=all", headers=factory.headers(other)).get_json()[
                "conversations"
            ]
            == []
        )


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "%%%"])
def test_bad_cursor_is_422(client, member, cursor):
    _user, headers = member
    resp = client.get(f"/api/chat/conversations?cursor={cursor}", headers=headers)
    assert resp.status_code == 422


def test_conversations_private_to_user_and_tenant(client, factory, two_tenants, member):
    _user, headers = member
    cid = _conv(client, headers)
    colleague = factory.headers(two_tenants["a_users"]["admin"])
    outsider = factory.headers(two_tenants["b_owner"])
    for h in (colleague, outsider):
        assert client.get(f"/api/chat/conversations/{cid}", headers=h).status_code == 404
        assert (
            client.post(f"/api/chat/conversations/{cid}/messages", headers=h, json={"message": "hi"}).status_code == 404
        )


def test_offline_turn_labelled_and_titles_conversation(client, member, app):
    _user, headers = member
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    resp = client.post(
        f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "你好，帮我分析一下水网系统"}
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["message"]["role"] == "user" and body["message"]["content"] == "你好，帮我分析一下水网系统"
    assert body["reply"]["role"] == "assistant" and body["reply"]["offline"] is True
    assert body["reply"]["model"] == "offline" and "离线" in body["reply"]["content"]
    assert body["usage"]["input_tokens"] == 0 and body["usage"]["output_tokens"] == 0  # offline: no token quota
    conv = client.get(f"/api/chat/conversations/{cid}", headers=headers).get_json()
    assert conv["conversation"]["title"].startswith("你好")
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant"]


@pytest.mark.parametrize("message", ["", "   \n\t", None, 42, "x" * 8001])
def test_bad_messages_are_422_and_store_nothing(client, member, app, message):
    _user, headers = member
    cid = _conv(client, headers)
    resp = client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": message})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"]["message"]
    assert _count_messages(app) == 0


def test_qwen_answer_history_and_usage(qwen_client, fake_dashscope, member, qwen_app):
    _user, headers = member
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeReply(text="管网压力正常。", chunks=3, usage=(120, 8)))
    first = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "压力怎么样？"}
    )
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["reply"]["content"] == "管网压力正常。"
    assert body["reply"]["model"] == "qwen-turbo"
    assert body["usage"] == {"input_tokens": 120, "output_tokens": 8}
    fake_dashscope.script(FakeReply(text="好的。"))
    qwen_client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "谢谢"})
    sent = fake_dashscope.requests[-1].messages
    assert sent[0]["role"] == "system"
    assert [m["content"] for m in sent[1:]] == ["压力怎么样？", "管网压力正常。", "谢谢"]
    assert fake_dashscope.requests[-1].bearer.startswith("sk-test-hydronet")
    with qwen_app.app_context(), all_tenants(db.session):
        records = db.session.query(UsageRecord).filter_by(kind="chat").all()
        assert (120, 8) in {(r.input_tokens, r.output_tokens) for r in records}


@pytest.mark.parametrize(
    "error, status, code",
    [
        (FakeError(status=401, code="InvalidApiKey"), 502, "llm_unavailable"),
        (FakeError(status=400, code="Arrearage"), 502, "llm_unavailable"),
        (FakeError(status=400, code="DataInspectionFailed"), 400, "content_rejected"),
    ],
)
def test_upstream_errors_mapped_and_charge_nothing(qwen_client, fake_dashscope, member, qwen_app, error, status, code):
    _user, headers = member
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(error)
    resp = qwen_client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "hi"})
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code
    assert "sk-test" not in resp.get_data(as_text=True)
    assert _count_messages(qwen_app) == 0
    usage = qwen_client.get("/api/tenant/usage", headers=headers).get_json()["usage"]
    assert usage["quotas"]["messages_per_day"]["used"] == 0


def test_throttling_is_503_with_retry_after(qwen_client, fake_dashscope, member, qwen_app):
    _user, headers = member
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(*[FakeError(status=429, code="Throttling.RateQuota") for _ in range(3)])
    resp = qwen_client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "hi"})
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "llm_busy"
    assert int(resp.headers["Retry-After"]) > 0
    assert _count_messages(qwen_app) == 0


def test_streamed_answer(qwen_client, fake_dashscope, member):
    _user, headers = member
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeReply(text="第一段。第二段。第三段。", chunks=3))
    resp = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "讲讲", "stream": True}
    )
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    assert resp.headers["X-Accel-Buffering"] == "no"
    events = sse_events(resp)
    deltas = [e["delta"] for e in events if e["type"] == "delta"]
    assert len(deltas) == 3 and "".join(deltas) == "第一段。第二段。第三段。"
    done = events[-1]
    assert done["type"] == "done" and done["message"]["content"] == "第一段。第二段。第三段。"
    stored = qwen_client.get(f"/api/chat/conversations/{cid}/messages", headers=headers).get_json()["messages"]
    assert stored[-1]["id"] == done["message"]["id"]


def test_stream_via_accept_header_and_midstream_error(qwen_client, fake_dashscope, member, qwen_app):
    _user, headers = member
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeError(status=500, code="InternalError", after_chunks=2))
    resp = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"message": "hi"},
        headers={**headers, "Accept": "text/event-stream"},
    )
    events = sse_events(resp)
    assert [e["type"] for e in events if e["type"] == "delta"]
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"]
    assert _count_messages(qwen_app) == 0


def test_tool_call_round_trip(qwen_client, fake_dashscope, member):
    _user, headers = member
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeReply(tool_calls=[FakeToolCall("list_networks", {})]), FakeReply(text="您还没有管网。"))
    resp = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "我有哪些管网？", "stream": True}
    )
    events = sse_events(resp)
    types = [e["type"] for e in events]
    assert "tool_call" in types and "tool_result" in types
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["result"] == {"networks": [], "count": 0}
    second_request = fake_dashscope.requests[-1].messages
    assert second_request[-1]["role"] == "tool"
    done = events[-1]
    assert done["message"]["tool_calls"][0]["name"] == "list_networks"


def test_client_disconnect_stores_partial_answer(qwen_client, fake_dashscope, member, qwen_app):
    _user, headers = member
    cid = _conv(qwen_client, headers)
    fake_dashscope.script(FakeReply(text="一二三四五六七八九十", chunks=10, chunk_interval_s=0.2))
    resp = qwen_client.post(
        f"/api/chat/conversations/{cid}/messages",
        headers=headers,
        json={"message": "慢慢说", "stream": True},
        buffered=False,
    )
    received = ""
    for chunk in resp.response:
        received += chunk.decode() if isinstance(chunk, bytes) else chunk
        if '"delta"' in received:
            break
    resp.close()  # the browser went away
    deadline = time.time() + 10
    while time.time() < deadline and _count_messages(qwen_app) < 2:
        time.sleep(0.1)
    with qwen_app.app_context(), all_tenants(db.session):
        reply = db.session.query(Message).filter_by(role="assistant").one()
        assert reply.meta.get("interrupted") is True
        assert 0 < len(reply.content) < 10
        assert reply.output_tokens > 0
