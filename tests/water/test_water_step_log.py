"""The toolkit's solve loop reads EPANET through the C library the binding ships (ctypes, into a step log).

These tests break when that library changes under us: each compares what a sweep reads with what
the binding itself reports for the same run, value for value.
"""

from __future__ import annotations

import numpy as np
import pytest

from hydronet.water import toolkit
from tests.water.conftest import fresh_model
from tests.water.reference import requires_toolkit

tk = toolkit.tk


def binding_run(project: toolkit.Project, closed: str | None) -> dict[str, np.ndarray]:
    """Minimum junction pressure and summed delivered demand at report times, read through the binding."""
    ph, n = project.ph, len(project.node_names)
    buffer = tk.doubleArray(n)
    index = tk.getlinkindex(ph, closed) if closed else 0
    if closed:
        tk.setlinkvalue(ph, index, tk.INITSTATUS, 0)
    tk.openH(ph)
    tk.initH(ph, tk.NOSAVE)
    lowest, delivered = np.full(n, np.inf), np.zeros(n)
    while True:
        time_s = tk.runH(ph)
        if time_s % project.report_step_s == 0:
            tk.getnodevalues(ph, tk.PRESSURE, buffer)
            lowest = np.minimum(lowest, [buffer[i] for i in range(n)])
            tk.getnodevalues(ph, tk.DEMANDFLOW, buffer)
            delivered = delivered + [buffer[i] for i in range(n)]
        if tk.nextH(ph) <= 0:
            break
    tk.closeH(ph)
    if closed:
        tk.setlinkvalue(ph, index, tk.INITSTATUS, 1)
    junctions = project.junctions
    return {"min_pressure": lowest[junctions], "served": delivered[junctions] / toolkit.LPS}


@requires_toolkit
@pytest.mark.parametrize("closed", [None, "60", "101"])
def test_sweep_reads_equal_the_bindings_own(closed: str | None) -> None:
    wn = fresh_model("Net3")
    with toolkit.Project(wn, 24 * 3600, "PDD", 20.0, 0.0, "NONE") as project:
        expected = binding_run(project, closed)
        solution = project.solve(toolkit.Changes(close_links=(closed,) if closed else ()), full=False)
    assert np.array_equal(solution.min_pressure_m, expected["min_pressure"])
    assert np.array_equal(solution.served_m3_s, expected["served"])


@requires_toolkit
def test_a_long_run_grows_the_step_log_and_reads_the_same() -> None:
    """A week of Net3 has more hydraulic steps than the step log first holds."""
    wn = fresh_model("Net3")
    with toolkit.Project(wn, 7 * 24 * 3600, "PDD", 20.0, 0.0, "NONE") as project:
        expected = binding_run(project, None)
        solution = project.solve(full=False)
        assert project._log.capacity > 64
    assert np.array_equal(solution.min_pressure_m, expected["min_pressure"])
    assert np.array_equal(solution.served_m3_s, expected["served"])
