"""/metrics: who may read it, and that the issue's metrics are recorded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from hydronet.config import ConfigError
from hydronet.web.metrics import address_allowed
from tests.support.constants import ROOT

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def sample(name: str, **labels: str) -> float:
    """Current value of one sample in this process's registry (0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    resp = client.get("/metrics", **{"environ_base": LOCAL, **kwargs})
    assert resp.status_code == 200, resp.data[:300]
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.get_data(as_text=True))
        for s in family.samples
    }


@pytest.mark.parametrize(
    "environ, headers, token, allow, expected",
    [
        (LOCAL, {}, "", ["127.0.0.1", "::1"], 200),
        (OUTSIDE, {}, "", ["127.0.0.1", "::1"], 403),
        # through nginx: the peer is loopback, ProxyFix makes the forwarded client the address
        (LOCAL, {"X-Forwarded-For": "203.0.113.7"}, "", ["127.0.0.1"], 403),
        (OUTSIDE, {}, "", ["203.0.113.0/24"], 200),
        (OUTSIDE, {"Authorization": "Bearer scrape-token-0123456789"}, "scrape-token-0123456789", ["127.0.0.1"], 200),
        (OUTSIDE, {"Authorization": "Bearer wrong-token"}, "scrape-token-0123456789", ["127.0.0.1"], 403),
        (OUTSIDE, {"Authorization": "Bearer "}, "", ["127.0.0.1"], 403),  # no token configured: none accepted
    ],
)
def test_who_may_scrape(app, client, monkeypatch, environ, headers, token, allow, expected):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", token)
    monkeypatch.setitem(app.config, "METRICS_ALLOW", allow)
    resp = client.get("/metrics", environ_base=environ, headers=headers)
    assert resp.status_code == expected
    if expected == 200:
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        assert b"hydronet_http_request_duration_seconds" in resp.data


def test_disabled_metrics_are_not_found(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ENABLED", False)
    assert client.get("/metrics", environ_base=LOCAL).status_code == 404


def test_ipv4_mapped_addresses_and_bad_entries():
    assert address_allowed("::ffff:127.0.0.1", ["127.0.0.1"])
    assert not address_allowed("not-an-ip", ["0.0.0.0/0"])
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        address_allowed("127.0.0.1", ["localhost"])


def test_request_latency_by_endpoint_method_and_status(client):
    labels = {"endpoint": "/api/tenant/info", "method": "GET", "status": "401"}
    before = sample("hydronet_http_request_duration_seconds_count", **labels)
    for _ in range(3):
        assert client.get("/api/tenant/info").status_code == 401
    assert scrape(client)[("hydronet_http_request_duration_seconds_count", tuple(sorted(labels.items())))] == before + 3


def test_quota_and_rate_limit_rejections_are_told_apart(app, client, factory, monkeypatch):
    tenant = factory.tenant(plan="basic", quota_overrides={"messages_per_day": 1})
    headers = factory.headers(factory.user(tenant, role="member"))
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    quota = sample("hydronet_quota_rejections_total", quota="messages_per_day")
    limited = sample("hydronet_rate_limit_rejections_total", code="rate_limited")
    sent = [
        client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "hi"})
        for _ in range(2)
    ]
    assert [r.status_code for r in sent] == [200, 429]
    assert sent[1].get_json()["error"]["code"] == "quota_exceeded"
    assert sample("hydronet_quota_rejections_total", quota="messages_per_day") == quota + 1
    assert sample("hydronet_rate_limit_rejections_total", code="rate_limited") == limited

    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    codes = [
        client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x-y-z-123"}).status_code
        for _ in range(3)
    ]
    assert codes[-1] == 429
    assert sample("hydronet_rate_limit_rejections_total", code="rate_limited") == limited + codes.count(429)
    assert sample("hydronet_quota_rejections_total", quota="messages_per_day") == quota + 1


def test_model_metrics_by_model_and_queue_depth(client, factory):
    headers = factory.headers(factory.user(factory.tenant(plan="pro")))
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    reply = client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": "你好"})
    model = reply.get_json()["reply"]["model"]
    exposed = scrape(client)
    assert exposed[("hydronet_model_call_seconds_count", (("model", model),))] >= 1
    assert (("hydronet_model_tokens_total", (("direction", "output"), ("model", model)))) in exposed
    assert exposed[("hydronet_job_queue_depth", ())] == 0  # thread mode (JOBS_INLINE) has no queue


def test_workers_are_added_up_in_multiprocess_mode(tmp_path):
    """Three processes share a PROMETHEUS_MULTIPROC_DIR; render() in a fourth sums their samples."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    work = (
        "from hydronet.kernel import metrics\n"
        "for _ in range(5): metrics.observe_request('/api/health', 'GET', 200, 0.01)\n"
        "metrics.observe_request('/api/auth/login', 'POST', 429, 0.01)\n"
    )
    for _ in range(3):
        subprocess.run([sys.executable, "-c", work], env=env, check=True, timeout=60)
    out = subprocess.run(
        [sys.executable, "-c", "from hydronet.kernel import metrics; print(metrics.render()[0].decode())"],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    health = (("endpoint", "/api/health"), ("method", "GET"), ("status", "200"))
    assert values[("hydronet_http_request_duration_seconds_count", health)] == 15
    assert values[("hydronet_rate_limit_rejections_total", (("code", "rate_limited"),))] == 3
