"""Fixtures for the water analysis tests: bundled networks loaded straight through WNTR."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wntr
from wntr.network import WaterNetworkModel

from tests.support.networks import LIBRARY
from tests.water.reference import toolkit_run

TINY_INP = """\
[TITLE]
Tiny network: a reservoir feeding two parallel pipes, then a single pipe and a spur

[JUNCTIONS]
;ID  Elev  Demand
 J1   10    0
 J2   12    5
 J3   11    2

[RESERVOIRS]
 R1   80

[PIPES]
;ID  Node1 Node2 Length Diameter Roughness MinorLoss Status
 P1   R1   J1    100    300      100       0         Open
 P2   R1   J1    100    300      100       0         Open
 P3   J1   J2    500    200      100       0         Open
 P4   J2   J3    200    150      100       0         Open

[OPTIONS]
 Units  LPS

[COORDINATES]
 J1  10  0
 J2  20  0
 J3  30  5
 R1   0  0

[END]
"""


def fresh_model(name: str) -> WaterNetworkModel:
    """A model parsed directly by WNTR (independent of hydronet's loader)."""
    return WaterNetworkModel(str(LIBRARY / f"{name}.inp"))


_MODELS: dict[str, WaterNetworkModel] = {}


@pytest.fixture
def model() -> Callable[[str], WaterNetworkModel]:
    """Factory of shared, parsed bundled models (tests must not mutate them)."""

    def get(name: str) -> WaterNetworkModel:
        if name not in _MODELS:
            _MODELS[name] = fresh_model(name)
        return _MODELS[name]

    return get


@pytest.fixture
def direct(tmp_path: Path) -> Callable[..., Any]:
    """Run a simulation directly on a copy of a model, with options set like the analyses do.

    ``engine``: "epanet" = the EPANET 2.3 toolkit, "epanet22" = WNTR's EpanetSimulator, "wntr" = WNTRSimulator.
    """

    def run(
        wn: WaterNetworkModel,
        duration_h: float | None = None,
        demand_model: str = "DD",
        required_pressure_m: float = 28.0,
        quality: str | None = None,
        engine: str = "epanet",
        edit: Callable[[WaterNetworkModel], None] | None = None,
        edit_project: Callable[[Any], None] | None = None,
        close_at: dict[str, int] | None = None,
    ) -> Any:
        m = copy.deepcopy(wn)
        if duration_h is not None:
            m.options.time.duration = int(duration_h * 3600)
        m.options.hydraulic.demand_model = demand_model
        m.options.hydraulic.required_pressure = required_pressure_m
        m.options.hydraulic.minimum_pressure = 0.0
        if quality:
            m.options.quality.parameter = quality
        if edit:
            edit(m)
        if engine == "wntr":
            return m, wntr.sim.WNTRSimulator(m).run_sim(convergence_error=True)
        if engine == "epanet22":
            return m, wntr.sim.EpanetSimulator(m).run_sim(file_prefix=str(tmp_path / uuid.uuid4().hex))
        return m, toolkit_run(m, tmp_path, edit_project, close_at)

    return run
