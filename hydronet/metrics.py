"""Prometheus metrics; multi-process aware when PROMETHEUS_MULTIPROC_DIR is set (gunicorn)."""
from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REQUEST_LATENCY = Histogram(
    "hydronet_http_request_duration_seconds", "HTTP request latency", ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MODEL_LATENCY = Histogram("hydronet_model_call_seconds", "Model call latency", ["model"],
                          buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
MODEL_TOKENS = Counter("hydronet_model_tokens_total", "Tokens used", ["model", "direction"])
MODEL_ERRORS = Counter("hydronet_model_errors_total", "Model call failures", ["model", "code"])
QUOTA_REJECTIONS = Counter("hydronet_quota_rejections_total", "Requests refused by a quota", ["quota"])
RATE_LIMIT_REJECTIONS = Counter("hydronet_rate_limit_rejections_total", "Requests refused by a rate limit")
WECHAT_DEADLINE_MISSES = Counter("hydronet_wechat_deadline_misses_total", "WeChat answers not ready within 5 s")
JOB_QUEUE_DEPTH = Gauge("hydronet_job_queue_depth", "Jobs waiting in the analysis queue", multiprocess_mode="max")


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Record one HTTP request."""
    REQUEST_LATENCY.labels(endpoint, method, str(status)).observe(seconds)
    if status == 429:
        RATE_LIMIT_REJECTIONS.inc()


def render() -> tuple[bytes, str]:
    """The metrics exposition (aggregated over workers in multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
