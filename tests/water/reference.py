"""EPANET 2.3 reference runs for the tests, straight through the toolkit (nothing of hydronet in between)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import wntr
from wntr.network import WaterNetworkModel

try:  # owa-epanet has no wheel pinned for Python 3.10: references from it are skipped there
    from epanet import toolkit as tk
except ImportError:  # pragma: no cover - Python 3.10 only
    tk = None

requires_toolkit = pytest.mark.skipif(tk is None, reason="the EPANET 2.3 toolkit (owa-epanet) is not installed")


class ToolkitResults:
    """Report-time results of a run straight through the EPANET 2.3 toolkit, in WNTR's shapes and SI units."""

    def __init__(self, node: dict[str, pd.DataFrame], link: dict[str, pd.DataFrame]) -> None:
        self.node = node
        self.link = link


def toolkit_run(
    wn: WaterNetworkModel,
    folder: Path,
    edit_project: Callable[[Any], None] | None = None,
    close_at: dict[str, int] | None = None,
) -> ToolkitResults:
    """Solve ``wn`` with EPANET 2.3 directly: WNTR writes the .inp, the toolkit runs it step by step.

    Independent of hydronet's engine code; flows come back in L/s (the file is written in LPS).
    ``close_at`` closes links when the run reaches the given time (seconds).
    """
    if tk is None:
        pytest.skip("the EPANET 2.3 toolkit (owa-epanet) is not installed")
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
            for key, prop, scale in (
                ("pressure", tk.PRESSURE, 1),
                ("head", tk.HEAD, 1),
                ("demand", tk.DEMAND, 1e-3),
                ("leak_demand", tk.EMITTERFLOW, 1e-3),
                ("full_demand", tk.FULLDEMAND, 1e-3),
                ("quality", tk.QUALITY, 3600.0 if quality == tk.AGE else 1e-3),
            ):
                values = [tk.getnodevalue(ph, i, prop) * scale for i in range(1, len(nodes) + 1)]
                rows.setdefault(key, []).append(values)
            for key, prop, scale in (
                ("flowrate", tk.FLOW, 1e-3),
                ("velocity", tk.VELOCITY, 1),
                ("status", tk.STATUS, 1),
            ):
                values = [tk.getlinkvalue(ph, i, prop) * scale for i in range(1, len(links) + 1)]
                rows.setdefault(key, []).append(values)
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
    node = {
        key: pd.DataFrame(rows[key], index=times, columns=nodes)
        for key in ("pressure", "head", "demand", "leak_demand", "full_demand", "quality")
    }
    link = {key: pd.DataFrame(rows[key], index=times, columns=links) for key in ("flowrate", "velocity", "status")}
    return ToolkitResults(node, link)
