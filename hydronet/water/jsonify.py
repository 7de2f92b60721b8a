"""Turning numpy/pandas values into plain JSON types, and number rounding."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def num(value: Any) -> float | None:
    """A finite Python float (7 significant digits, the solver's float32 precision), or None."""
    if value is None:
        return None
    out = float(value)
    return round_sig(out, 7) if math.isfinite(out) else None


def at_time(time_s: Any) -> dict[str, float | int]:
    """``{"time_s": .., "time_h": ..}`` for a simulation time in seconds."""
    seconds = int(time_s)
    return {"time_s": seconds, "time_h": round(seconds / 3600.0, 4)}


def round_sig(value: float, digits: int = 3) -> float:
    """Round to ``digits`` significant digits without ever dropping integer digits."""
    if value == 0 or not math.isfinite(value):
        return value
    decimals = digits - int(math.floor(math.log10(abs(value)))) - 1
    return round(value, max(decimals, 0))


def series_map(series: pd.Series, digits: int = 6) -> dict[str, float | None]:
    """A name→value dict from a pandas Series, rounded to ``digits`` decimals."""
    out: dict[str, float | None] = {}
    for key, value in series.items():
        val = num(value)
        out[str(key)] = None if val is None else round(val, digits)
    return out
