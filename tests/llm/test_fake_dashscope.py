"""The fake DashScope itself: script mode, request validation, concurrent streams."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hydronet.llm.base import TextDelta
from hydronet.llm.errors import LLMUnavailable
from hydronet.llm.qwen import QwenProvider
from tests.llm.support import API_KEY, user

SCRIPT = Path(__file__).resolve().parents[1] / "fakes" / "fake_dashscope.py"


def test_runs_as_a_script_and_answers_the_sdk():
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0", "--chunks", "3", "--latency-ms", "10"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1")
        events = list(
            QwenProvider(base_url=url).stream(model="qwen-turbo", messages=user("ping"), tools=None, api_key="any")
        )
        assert sum(isinstance(e, TextDelta) for e in events) == 3
        assert events[-1].content.startswith("Echo: ping")
    finally:
        proc.terminate()
        proc.wait(10)


def test_rejects_tool_results_without_their_call_like_dashscope(fake, qwen):
    bad = user("x") + [{"role": "tool", "tool_call_id": "c9", "content": "{}"}]
    with pytest.raises(LLMUnavailable) as caught:
        qwen.complete(model="qwen-turbo", messages=bad, api_key=API_KEY)
    assert caught.value.upstream_code == "InvalidParameter" and len(fake.requests) == 1


def test_serves_concurrent_streams(fake, qwen):
    fake.chunk_interval_s = 0.05
    results: list[str] = []

    def worker(i: int) -> None:
        events = list(qwen.stream(model="qwen-turbo", messages=user(f"q{i}"), tools=None, api_key=API_KEY))
        results.append(events[-1].content)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(r.split()[1] for r in results) == sorted(f"q{i}" for i in range(30))
