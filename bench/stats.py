"""Percentiles and summaries of latency samples (milliseconds)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(samples: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0–100) by linear interpolation; None without samples."""
    values = sorted(samples)
    if not values:
        return None
    rank = (len(values) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


def summary(samples_ms: Iterable[float]) -> dict[str, float | int | None]:
    """Count, mean, p50, p90, p99 and max of samples in milliseconds, rounded to 0.01 ms."""
    values = sorted(samples_ms)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 2)

    return {
        "n": len(values),
        "mean": r(sum(values) / len(values)) if values else None,
        "p50": r(percentile(values, 50)),
        "p90": r(percentile(values, 90)),
        "p99": r(percentile(values, 99)),
        "max": r(values[-1]) if values else None,
    }
