"""Prometheus metrics; multi-process aware when PROMETHEUS_MULTIPROC_DIR is set (gunicorn).

gunicorn_config.py gives every app server its own, initially empty, directory
before the workers start, so each worker writes its samples there and
:func:`render` (served by ``/metrics``) adds up all workers of that server.
"""

from __future__ import annotations

import os

from flask import Flask, g, has_app_context
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from hydronet.kernel.jobs import queue_depth

REQUEST_LATENCY = Histogram(
    "hydronet_http_request_duration_seconds",
    "HTTP request latency",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MODEL_LATENCY = Histogram(
    "hydronet_model_call_seconds", "Model call latency", ["model"], buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
)
MODEL_TOKENS = Counter("hydronet_model_tokens_total", "Tokens used", ["model", "direction"])
MODEL_ERRORS = Counter("hydronet_model_errors_total", "Model call failures", ["model", "code"])
QUOTA_REJECTIONS = Counter("hydronet_quota_rejections_total", "Requests refused by a quota", ["quota"])
RATE_LIMIT_REJECTIONS = Counter(
    "hydronet_rate_limit_rejections_total", "Requests refused by a rate limit (429 other than quota_exceeded)", ["code"]
)
WECHAT_DEADLINE_MISSES = Counter("hydronet_wechat_deadline_misses_total", "WeChat answers not ready within 5 s")
SLOW_QUERIES = Counter("hydronet_slow_queries_total", "SQL statements slower than SLOW_QUERY_MS")
# Set by the worker answering the scrape; "mostrecent" keeps the latest value
# across workers (with "max", a dead worker's old reading would stick).
JOB_QUEUE_DEPTH = Gauge(
    "hydronet_job_queue_depth", "Jobs waiting in the queue (-1: queue unreachable)", multiprocess_mode="mostrecent"
)

_REJECTION = "_metrics_rejection_code"


def note_rejection(code: str, quota: str | None = None) -> None:
    """Remember why this request is refused with 429; count a quota rejection at once."""
    if quota is not None:
        QUOTA_REJECTIONS.labels(quota).inc()
    if has_app_context():
        setattr(g, _REJECTION, code)


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Record one HTTP request (a 429 also counts as a rate-limit rejection unless a quota refused it)."""
    REQUEST_LATENCY.labels(endpoint, method, str(status)).observe(seconds)
    if status == 429:
        # flask-limiter's refusals reach the HTTPException handler, which notes nothing: "rate_limited".
        code = g.get(_REJECTION, "rate_limited") if has_app_context() else "rate_limited"
        if code != "quota_exceeded":
            RATE_LIMIT_REJECTIONS.labels(code).inc()


def refresh_gauges(app: Flask) -> None:
    """Read the values sampled at scrape time (the job queue's depth)."""
    JOB_QUEUE_DEPTH.set(queue_depth(app))


def render() -> tuple[bytes, str]:
    """The metrics exposition (aggregated over workers in multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
