"""Parameter validation shared by the analyses; failures raise AnalysisInputError."""

from __future__ import annotations

import math
from collections.abc import Iterable

from wntr.network import WaterNetworkModel

from hydronet.water.errors import AnalysisInputError

MAX_DURATION_H = 24 * 31

_ELEMENT_LISTS = {
    "junction": "junction_name_list",
    "tank": "tank_name_list",
    "reservoir": "reservoir_name_list",
    "node": "node_name_list",
    "pipe": "pipe_name_list",
    "pump": "pump_name_list",
    "valve": "valve_name_list",
    "link": "link_name_list",
}


def number(name: str, value: float, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a float within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AnalysisInputError(f"{name} must be a finite number, got {value!r}")
    if low is not None and value < low:
        raise AnalysisInputError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise AnalysisInputError(f"{name} must be <= {high}, got {value}")
    return float(value)


def count(name: str, value: int, low: int = 1, high: int = 100000) -> int:
    """``value`` as an int within ``[low, high]`` (10.0 is accepted as 10)."""
    number(name, value, low, high)
    if int(value) != value:
        raise AnalysisInputError(f"{name} must be a whole number, got {value}")
    return int(value)


def duration_s(wn: WaterNetworkModel, duration_h: float | None, minimum_h: float | None = None) -> int:
    """Simulation duration in whole seconds: ``duration_h`` or the model's own (at least ``minimum_h``)."""
    if duration_h is None:
        seconds = int(wn.options.time.duration)
        if minimum_h is not None:
            seconds = max(seconds, int(minimum_h * 3600))
        return seconds
    hours = number("duration_h", duration_h, 0, MAX_DURATION_H)
    return int(round(hours * 3600))


def choice(name: str, value: str, options: Iterable[str]) -> str:
    """``value`` upper-cased, if it is one of ``options``."""
    allowed = [option.upper() for option in options]
    if not isinstance(value, str) or value.upper() not in allowed:
        raise AnalysisInputError(f"{name} must be one of {allowed}, got {value!r}")
    return value.upper()


def element(wn: WaterNetworkModel, name: str, kind: str) -> str:
    """``name`` if the model has an element of ``kind`` (junction, tank, pipe, pump, node, link, ...)."""
    names = getattr(wn, _ELEMENT_LISTS[kind])
    if isinstance(name, str) and name in names:
        return name
    examples = ", ".join(list(names)[:5])
    hint = f" (e.g. {examples})" if examples else f" (the network has no {kind}s)"
    raise AnalysisInputError(f"unknown {kind} {name!r}{hint}")


def elements(wn: WaterNetworkModel, names: Iterable[str] | None, kind: str) -> list[str]:
    """Every name in ``names`` checked with :func:`element`, duplicates removed, order kept."""
    return list(dict.fromkeys(element(wn, name, kind) for name in names or []))
