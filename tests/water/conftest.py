"""Fixtures for the water analysis tests: bundled networks loaded straight through WNTR."""
from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest
import wntr
from epanet import toolkit as tk
from wntr.network import WaterNetworkModel

LIBRARY = Path(wntr.__file__).resolve().parent / "library" / "networks"

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


def library_text(name: str) -> str:
    """The .inp text of a bundled network, read directly from the WNTR package."""
    return (LIBRARY / f"{name}.inp").read_text(encoding="utf-8")


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


class ToolkitResults:
    """Report-time results of a run straight through the EPANET 2.3 toolkit, in WNTR's shapes and SI units."""

    def __init__(self, node: dict[str, pd.DataFrame], link: dict[str, pd.DataFrame]) -> None:
        self.node = node
        self.link = link


def toolkit_run(wn: WaterNetworkModel, folder: Path, edit_project: Callable[[Any], None] | None = None,
                close_at: dict[str, int] | None = None) -> ToolkitResults:
    """Solve ``wn`` with EPANET 2.3 directly: WNTR writes the .inp, the toolkit runs it step by step.

    Independent of hydronet's engine code; flows come back in L/s (the file is written in LPS).
    ``close_at`` closes links when the run reaches the given time (seconds).
    """
    inp = str(folder / f"{uuid.uuid4().hex}.inp")
    wntr.network.io.write_inpfile(wn, inp, units="LPS")
    ph = tk.createproject()
    tk.open(ph, inp, inp[:-4] + ".rpt", "")
    if edit_project:
        edit_project(ph)
    nodes = [tk.getnodeid(ph, i) for i in range(1, tk.getcount(ph, tk.NODECOUNT) + 1)]
    links = [tk.getlinkid(ph, i) for i in range(1, tk.getcount(ph, tk.LINKCOUNT) + 1)]
    report = tk.gettimeparam(ph, tk.REPORTSTEP)
    quality = tk.getqualinfo(ph)[0]
    rows: dict[str, list[list[float]]] = {}
    times = []
    tk.openH(ph)
    tk.initH(ph, tk.NOSAVE)
    if quality:
        tk.openQ(ph)
        tk.initQ(ph, tk.NOSAVE)
    while True:
        t = tk.runH(ph)
        if quality:
            tk.runQ(ph)
        for name, when in (close_at or {}).items():
            if t >= when:
                tk.setlinkvalue(ph, tk.getlinkindex(ph, name), tk.STATUS, 0)
        if t % report == 0:
            times.append(t)
            for key, prop, scale in (("pressure", tk.PRESSURE, 1), ("head", tk.HEAD, 1), ("demand", tk.DEMAND, 1e-3),
                                     ("leak_demand", tk.EMITTERFLOW, 1e-3), ("full_demand", tk.FULLDEMAND, 1e-3),
                                     ("quality", tk.QUALITY, 3600.0 if quality == tk.AGE else 1e-3)):
                rows.setdefault(key, []).append([tk.getnodevalue(ph, i, prop) * scale for i in range(1, len(nodes) + 1)])
            for key, prop, scale in (("flowrate", tk.FLOW, 1e-3), ("velocity", tk.VELOCITY, 1),
                                     ("status", tk.STATUS, 1)):
                rows.setdefault(key, []).append([tk.getlinkvalue(ph, i, prop) * scale for i in range(1, len(links) + 1)])
        step = tk.nextH(ph)
        if quality:
            tk.nextQ(ph)
        if step <= 0:
            break
    if quality:
        tk.closeQ(ph)
    tk.closeH(ph)
    tk.close(ph)
    tk.deleteproject(ph)
    node = {key: pd.DataFrame(rows[key], index=times, columns=nodes)
            for key in ("pressure", "head", "demand", "leak_demand", "full_demand", "quality")}
    link = {key: pd.DataFrame(rows[key], index=times, columns=links) for key in ("flowrate", "velocity", "status")}
    return ToolkitResults(node, link)


@pytest.fixture
def direct(tmp_path: Path) -> Callable[..., Any]:
    """Run a simulation directly on a copy of a model, with options set like the analyses do.

    ``engine``: "epanet" = the EPANET 2.3 toolkit, "epanet22" = WNTR's EpanetSimulator, "wntr" = WNTRSimulator.
    """
    def run(wn: WaterNetworkModel, duration_h: float | None = None, demand_model: str = "DD",
            required_pressure_m: float = 20.0, quality: str | None = None, engine: str = "epanet",
            edit: Callable[[WaterNetworkModel], None] | None = None,
            edit_project: Callable[[Any], None] | None = None, close_at: dict[str, int] | None = None) -> Any:
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
