"""Shrinking full analysis results into small, rounded dicts for the LLM."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hydronet.water.jsonify import round_sig

MAX_ITEMS = 10
DIGITS = 3
MAX_CHARS = 4000

# Full-result keys meant for maps and charts in the UI; the model never needs them.
_UI_ONLY: dict[str, tuple[str, ...]] = {
    "hydraulic": ("node_min_pressure_m", "link_max_velocity_m_s"),
    "timeseries": ("points",),
    "water_age": ("node_mean_age_h",),
    "pipe_criticality": ("link_junctions_impacted",),
    "segment_criticality": ("link_segment",),
    "fire_flow": ("node_hydrant_min_pressure_m",),
    "leak_scenario": ("leak_flow_series", "node_pressure_change_m"),
    "what_if": ("node_pressure_change_m",),
}


def compact(
    result: Mapping[str, Any], kind: str, max_items: int = MAX_ITEMS, digits: int = DIGITS, max_chars: int = MAX_CHARS
) -> dict[str, Any]:
    """``result`` without UI-only maps/series, lists cut to ``max_items`` and floats to ``digits`` significant digits.

    A cut list ``key`` gains a sibling ``key_total`` with its original length; names and
    unit-suffixed keys are kept. Lists are cut shorter while the JSON exceeds ``max_chars``.
    """
    dropped = set(_UI_ONLY.get(kind, ()))
    trimmed = {key: value for key, value in result.items() if key not in dropped}
    for limit in sorted({max_items, 5, 3, 1}, reverse=True):
        if limit > max_items:
            continue
        small = _shrink(trimmed, limit, digits)
        if len(json.dumps(small, ensure_ascii=False, default=str)) <= max_chars:
            break
    return small


def _shrink(value: Any, max_items: int, digits: int) -> Any:
    """Recursively round floats and cut lists."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, list) and len(item) > max_items:
                out[key] = [_shrink(element, max_items, digits) for element in item[:max_items]]
                out[f"{key}_total"] = len(item)
            else:
                out[key] = _shrink(item, max_items, digits)
        return out
    if isinstance(value, list):
        return [_shrink(element, max_items, digits) for element in value[:max_items]]
    if isinstance(value, float):
        return round_sig(value, digits)
    return value
