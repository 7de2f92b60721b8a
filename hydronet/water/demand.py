"""Expected (full) junction demand from base demands, patterns and the multiplier."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from wntr.network import WaterNetworkModel

__all__ = ["expected_demand"]


def expected_demand(wn: WaterNetworkModel, times_s: Iterable[int], junctions: list[str] | None = None) -> pd.DataFrame:
    """Expected junction demand (m3/s: base × pattern × multiplier) at the given times.

    Each pattern is evaluated once per time step and shared by every demand that uses it
    (evaluating every junction's demand list at every step took most of a hydraulic analysis).
    """
    times = [int(t) for t in times_s]
    multiplier = wn.options.hydraulic.demand_multiplier
    names = wn.junction_name_list if junctions is None else junctions
    factors: dict[int, np.ndarray] = {}
    ones = np.ones(len(times))
    columns = []
    for name in names:
        total = np.zeros(len(times))
        for entry in wn.get_node(name).demand_timeseries_list:
            pattern = entry.pattern
            if pattern is None:
                total += entry.base_value * ones
                continue
            key = id(pattern)
            if key not in factors:
                factors[key] = np.array([pattern.at(t) for t in times], dtype=float)
            total += entry.base_value * factors[key]
        columns.append(total * multiplier)
    data = np.column_stack(columns) if columns else np.empty((len(times), 0))
    return pd.DataFrame(data, index=times, columns=names, dtype=float)
