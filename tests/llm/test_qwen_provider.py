"""QwenProvider through the real dashscope SDK against the fake DashScope server."""

from __future__ import annotations

import json
import logging
import socket
import time

import dashscope
import pytest

from hydronet.llm.base import Completion, TextDelta
from hydronet.llm.errors import ContentRejected, LLMBusy, LLMError, LLMTimeout, LLMUnavailable
from hydronet.llm.qwen import QwenProvider
from hydronet.llm.tokens import count_tokens
from tests.fakes.fake_dashscope import FakeDrop, FakeError, FakeReply, FakeToolCall
from tests.llm.support import API_KEY, user


def stream(provider: QwenProvider, text: str = "hi", tools=None, api_key: str = API_KEY):
    """Iterate a provider stream for one user message."""
    return provider.stream(model="qwen-turbo", messages=user(text), tools=tools, api_key=api_key)


def test_deltas_arrive_as_the_fake_sends_them(fake, qwen):
    fake.script(FakeReply(text="管网压力正常。Pressure is fine.", chunks=4, chunk_interval_s=0.3))
    started = time.monotonic()
    arrivals, events = [], []
    for event in stream(qwen, "压力如何？"):
        arrivals.append(time.monotonic() - started)
        events.append(event)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    completion = events[-1]
    assert isinstance(completion, Completion) and len(deltas) == 4
    # the fake sends chunks 0.3 s apart: the first delta must arrive long before the stream ends
    assert arrivals[-1] - arrivals[0] > 0.6 and arrivals[0] < 0.6
    assert "".join(deltas) == completion.content == "管网压力正常。Pressure is fine."
    assert completion.finish_reason == "stop" and completion.model == "qwen-turbo"
    assert completion.usage["output_tokens"] == len(completion.content) and not completion.usage_estimated
    assert completion.request_id
    request = fake.requests[-1]
    assert request.bearer == API_KEY and request.headers["x-dashscope-sse"] == "enable"
    assert request.parameters["incremental_output"] is True and request.parameters["result_format"] == "message"
    assert request.messages[-1] == {"role": "user", "content": "压力如何？"}


def test_complete_uses_a_non_streaming_call(fake, qwen):
    fake.script(FakeReply(text="done", usage=(11, 2)))
    completion = qwen.complete(model="qwen-plus", messages=user("x"), api_key=API_KEY)
    assert completion.content == "done" and completion.usage == {"input_tokens": 11, "output_tokens": 2}
    assert "x-dashscope-sse" not in fake.requests[-1].headers
    assert fake.requests[-1].body["model"] == "qwen-plus"


def test_base_url_is_passed_per_call_without_touching_the_sdk_global(fake, qwen):
    before = dashscope.base_http_api_url
    list(stream(qwen))
    assert dashscope.base_http_api_url == before
    assert fake.requests[-1].path == "/api/v1/services/aigc/text-generation/generation"


def test_tool_call_fragments_are_merged_by_index(fake, qwen, registry):
    fake.script(
        FakeReply(
            text="我来查一下。",
            tool_calls=[
                FakeToolCall("list_networks", {}, id="call_a"),
                FakeToolCall("run_hydraulic_simulation", {"network_id": 7, "note": "北区"}, id="call_b", fragments=5),
            ],
        )
    )
    completion = list(stream(qwen, "分析管网", tools=registry.schemas()))[-1]
    assert completion.finish_reason == "tool_calls" and completion.content == "我来查一下。"
    assert [(c["id"], c["name"]) for c in completion.tool_calls] == [
        ("call_a", "list_networks"),
        ("call_b", "run_hydraulic_simulation"),
    ]
    assert json.loads(completion.tool_calls[1]["arguments"]) == {"network_id": 7, "note": "北区"}
    assert {t["function"]["name"] for t in fake.requests[-1].tools} == {
        "list_networks",
        "run_hydraulic_simulation",
        "add",
    }


def test_complete_returns_tool_calls_too(fake, qwen):
    fake.script(FakeToolCall("add", {"a": 1, "b": 2}, id="call_1"))
    completion = qwen.complete(model="qwen-turbo", messages=user("1+2"), api_key=API_KEY)
    assert completion.tool_calls == [{"id": "call_1", "name": "add", "arguments": '{"a": 1, "b": 2}'}]


@pytest.mark.parametrize(
    "error, expected, status, code",
    [
        (FakeError(401, "InvalidApiKey"), LLMUnavailable, 502, "llm_unavailable"),
        (FakeError(400, "Arrearage"), LLMUnavailable, 502, "llm_unavailable"),
        (FakeError(400, "InvalidParameter"), LLMUnavailable, 502, "llm_unavailable"),
        (FakeError(400, "DataInspectionFailed"), ContentRejected, 400, "content_rejected"),
        (FakeError(400, "DataInspectionFailed", sse=False), ContentRejected, 400, "content_rejected"),
    ],
)
def test_client_errors_are_mapped_and_never_retried(fake, qwen, sleeps, error, expected, status, code):
    fake.script(error, FakeReply(text="must not be reached"))
    with pytest.raises(expected) as caught:
        list(stream(qwen))
    assert caught.value.status == status and caught.value.code == code
    assert caught.value.upstream_code == error.code
    assert len(fake.requests) == 1 and sleeps == []


def test_wrong_key_is_unavailable_and_never_shown(fake, qwen, caplog):
    secret = "sk-wrong-key-abcdef123456"
    with caplog.at_level(logging.WARNING, logger="hydronet.llm"), pytest.raises(LLMUnavailable) as caught:
        list(stream(qwen, api_key=secret))
    err = caught.value
    assert err.status == 502 and err.upstream_code == "InvalidApiKey" and len(fake.requests) == 1
    assert secret not in str(err) and secret not in json.dumps(err.to_dict())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("InvalidApiKey" in w for w in warnings)
    assert all(secret not in w for w in warnings)


def test_a_key_echoed_by_the_upstream_is_redacted_from_logs(fake, sleeps, caplog):
    odd_key = "plain-key-without-prefix-42"
    fake.api_key = odd_key
    fake.script(FakeError(400, "InvalidParameter", message=f"parameter api_key={odd_key} is malformed"))
    provider = QwenProvider(base_url=fake.url, sleep=sleeps.append)
    with caplog.at_level(logging.WARNING, logger="hydronet.llm"), pytest.raises(LLMUnavailable) as caught:
        list(stream(provider, api_key=odd_key))
    assert odd_key not in str(caught.value.to_dict())
    assert "InvalidParameter" in caplog.text and odd_key not in caplog.text


def test_throttling_is_retried_then_succeeds(fake, qwen, sleeps):
    fake.script(FakeError(429, "Throttling.RateQuota"), FakeReply(text="ok"))
    completion = list(stream(qwen))[-1]
    assert completion.content == "ok" and len(fake.requests) == 2
    assert len(sleeps) == 1 and 0.025 <= sleeps[0] <= 0.075  # backoff_base_s * jitter


def test_throttling_exhausted_is_busy_with_retry_after(fake, qwen, sleeps):
    fake.script(*[FakeError(429, "Throttling.AllocationQuota", retry_after=7)] * 3)
    with pytest.raises(LLMBusy) as caught:
        list(stream(qwen))
    err = caught.value
    assert err.status == 503 and err.code == "llm_busy"
    assert err.headers == {"Retry-After": "7"} and err.to_dict()["error"]["retry_after"] == 7
    assert len(fake.requests) == 3 and sleeps == [7.0, 7.0]  # the upstream's Retry-After paces retries


def test_a_long_upstream_retry_after_is_left_to_the_client(fake, qwen, sleeps):
    fake.script(FakeError(429, "Throttling.RateQuota", retry_after=60), FakeReply(text="not now"))
    with pytest.raises(LLMBusy) as caught:
        list(stream(qwen))
    assert caught.value.headers == {"Retry-After": "60"} and sleeps == [] and len(fake.requests) == 1


def test_busy_without_upstream_hint_uses_the_default_retry_after(fake, sleeps):
    fake.script(FakeError(429, "Throttling.RateQuota"))
    provider = QwenProvider(base_url=fake.url, max_retries=0, retry_after_s=9, sleep=sleeps.append)
    with pytest.raises(LLMBusy) as caught:
        provider.complete(model="qwen-turbo", messages=user("x"), api_key=API_KEY)
    assert caught.value.headers["Retry-After"] == "9" and len(fake.requests) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(fake, qwen, sleeps, status):
    fake.script(FakeError(status, "InternalError"), FakeError(status, "InternalError"), FakeReply(text="back"))
    assert list(stream(qwen))[-1].content == "back"
    assert len(fake.requests) == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.3


def test_server_errors_exhausted_are_unavailable(fake, qwen):
    fake.script(*[FakeError(500, "InternalError")] * 3)
    with pytest.raises(LLMUnavailable):
        qwen.complete(model="qwen-turbo", messages=user("x"), api_key=API_KEY)
    assert len(fake.requests) == 3


def test_error_event_before_any_text_is_retried(fake, qwen):
    fake.script(FakeError(500, "InternalError", after_chunks=0), FakeReply(text="fine"))
    assert list(stream(qwen))[-1].content == "fine" and len(fake.requests) == 2


@pytest.mark.parametrize(
    "error, expected",
    [
        (FakeError(500, "InternalError", after_chunks=2), LLMUnavailable),
        (FakeError(429, "Throttling.RateQuota", after_chunks=2), LLMBusy),
        (FakeError(400, "DataInspectionFailed", after_chunks=2), ContentRejected),
        (FakeDrop(after_chunks=2), LLMUnavailable),
    ],
)
def test_mid_stream_failure_raises_after_the_deltas_and_is_not_retried(fake, qwen, error, expected):
    fake.script(error, FakeReply(text="must not be reached"))
    received = []
    with pytest.raises(expected):
        for event in stream(qwen):
            received.append(event)
    assert [e.text for e in received] == ["partial ", "answer "]
    assert len(fake.requests) == 1


def test_silence_between_chunks_times_out(fake, sleeps):
    fake.script(FakeReply(text="slow answer here", chunks=3, chunk_interval_s=3))
    provider = QwenProvider(base_url=fake.url, read_timeout_s=0.4, sleep=sleeps.append)
    received, started = [], time.monotonic()
    with pytest.raises(LLMTimeout) as caught:
        for event in stream(provider):
            received.append(event)
    assert len(received) == 1 and time.monotonic() - started < 2
    assert caught.value.status == 504 and caught.value.code == "llm_timeout"
    assert len(fake.requests) == 1


def test_total_timeout_is_enforced_between_chunks(fake, sleeps):
    fake.script(FakeReply(text="x" * 40, chunks=20, chunk_interval_s=0.1))
    provider = QwenProvider(base_url=fake.url, read_timeout_s=2, total_timeout_s=0.5, sleep=sleeps.append)
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        list(stream(provider))
    assert 0.4 < time.monotonic() - started < 1.5


def test_unreachable_service_is_retried_then_unavailable(sleeps):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = QwenProvider(base_url=f"http://127.0.0.1:{port}/api/v1", connect_timeout_s=1, sleep=sleeps.append)
    with pytest.raises(LLMUnavailable) as caught:
        list(stream(provider))
    assert caught.value.status == 502 and len(sleeps) == 2


def test_missing_usage_is_counted_locally(fake, qwen):
    fake.script(FakeReply(text="你好，管网", usage=False))
    completion = list(stream(qwen))[-1]
    assert completion.usage_estimated
    assert completion.usage["output_tokens"] == count_tokens("你好，管网")
    assert completion.usage["input_tokens"] > 0


def test_no_api_key_fails_fast_without_calling(fake, qwen):
    with pytest.raises(LLMUnavailable):
        list(stream(qwen, api_key=""))
    assert fake.requests == []


def test_every_llm_error_is_an_api_error():
    from hydronet.kernel.errors import ApiError

    assert all(issubclass(c, ApiError) for c in (LLMError, LLMBusy, LLMUnavailable, ContentRejected, LLMTimeout))
