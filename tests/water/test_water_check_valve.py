"""A pipe with a check valve closed by a sweep: EPANET refuses status changes on CV pipes (error 207), so the
closure must be modelled another way and must never abort the sweep. Net6's LINK-1828 is such a pipe."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from hydronet.water.criticality import pipe_criticality
from hydronet.water.scenarios import Sweep
from hydronet.water.simulation import make_settings
from hydronet.water.toolkit import Changes
from tests.water.reference import requires_toolkit, tk, toolkit_run

pytestmark = [requires_toolkit, pytest.mark.filterwarnings("ignore::scipy.optimize.OptimizeWarning")]
CV_PIPE = "LINK-1828"
HEAD_M = 28.0


def _removed(ph) -> None:
    """The reference: the pipe taken out of the network (a closed pipe carries nothing either way), PDD 0–28 m."""
    tk.settimeparam(ph, tk.DURATION, 24 * 3600)
    _model, pmin, _preq, pexp = tk.getdemandmodel(ph)
    tk.setdemandmodel(ph, tk.PDA, 0.0, HEAD_M, pexp)
    assert tk.getlinktype(ph, tk.getlinkindex(ph, CV_PIPE)) == tk.CVPIPE
    tk.deletelink(ph, tk.getlinkindex(ph, CV_PIPE), tk.UNCONDITIONAL)


def test_closing_a_check_valve_pipe_matches_the_pipe_removed(model: Callable, tmp_path) -> None:
    wn = model("Net6")
    assert wn.get_link(CV_PIPE).check_valve
    reference = toolkit_run(wn, tmp_path, edit_project=_removed)
    expected = reference.node["pressure"][wn.junction_name_list].min()
    settings = make_settings(wn, 24, "PDD", HEAD_M, 0.0, quality="NONE")
    with Sweep(wn, settings) as sweep:
        closed = sweep.solve(Changes(close_links=(CV_PIPE,)))
        again = sweep.solve(Changes(close_links=(CV_PIPE,)))  # the project was restored: same answer twice
        baseline = sweep.solve()
    # removing the pipe moves Net6's minimum pressures by about 1e-4 m: only a tight tolerance tells a closure
    # from a change that was silently ignored
    tolerance = 1e-5
    unchanged = np.abs(baseline.min_pressure.reindex(expected.index).to_numpy() - expected.to_numpy()).max()
    assert unchanged > 5 * tolerance, "the reference must differ from the unchanged network"
    assert closed.min_pressure.reindex(expected.index).to_numpy() == pytest.approx(expected.to_numpy(), abs=tolerance)
    assert np.array_equal(closed.min_pressure.to_numpy(), again.min_pressure.to_numpy())
    with Sweep(wn, settings) as fresh:
        assert np.array_equal(fresh.solve().min_pressure.to_numpy(), baseline.min_pressure.to_numpy())

    result = pipe_criticality(wn, duration_h=24, pipes=[CV_PIPE, "LINK-0"], demand_only=False)
    assert (result["analysed"], result["failed"], result["complete"]) == (2, [], True)
    row = next(r for r in result["ranking"] if r["pipe"] == CV_PIPE)
    assert row["junctions_below_threshold"] == int((expected < HEAD_M).sum())


def test_a_check_valve_closed_after_a_warm_up_fails_that_scenario_only(model: Callable) -> None:
    """EPANET cannot close a CV pipe mid-run: that scenario is a failed one, the sweep goes on."""
    result = pipe_criticality(model("Net6"), duration_h=48, closure_start_h=24, pipes=[CV_PIPE, "LINK-0"])
    assert result["analysed"] == 2 and [r["pipe"] for r in result["ranking"]] == ["LINK-0"]
    assert result["failed"][0]["name"] == CV_PIPE and "check valve" in result["failed"][0]["error"]
    assert any(w["code"] == "scenarios_failed" and CV_PIPE in w["elements"] for w in result["warnings"])
