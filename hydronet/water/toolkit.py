"""EPANET 2.3 through its toolkit (PyPI ``owa-epanet``): one open project, many in-memory solves.

WNTR stays the model: a :class:`Project` writes the WNTR model once as an .inp (WNTR's writer,
LPS units so that every toolkit value is SI up to a factor 1000 on flows), opens it with the
toolkit and keeps it open. Each :meth:`Project.solve` applies what one scenario changes (link
closures, extra demands, emitters, demand multiplier, initial tank levels), re-initialises the
hydraulics, steps through the run in memory and restores the project, so a sweep pays neither an
.inp rewrite nor a binary output file per scenario. A project handle is not thread-safe: one
project belongs to one thread (a lock guards it all the same).

Besides the report-time frames an analysis reads, a solve integrates over every hydraulic step
the volumes the water-balance check needs (see :mod:`hydronet.water.diagnostics`).
"""

from __future__ import annotations

import ctypes
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import wntr
from wntr.network import WaterNetworkModel

from hydronet.water.errors import SimulationError
from hydronet.water.memo import PerModel

try:  # heavy optional dependency: owa-epanet has no wheel pinned for Python 3.10
    from epanet import toolkit as tk
except ImportError:  # pragma: no cover - exercised on Python 3.10 only
    tk = None

AVAILABLE = tk is not None
_LIBRARY: ctypes.CDLL | None = None
VERSION = "2.3.5"
LPS = 1000.0  # the project is written in LPS: flows come back in L/s
TANK_EPS_M = 0.001


@dataclass(frozen=True)
class Timed:
    """A value applied between ``start_s`` (inclusive) and ``end_s`` (exclusive; None = end of run)."""

    value: float
    start_s: int = 0
    end_s: int | None = None

    def at(self, time_s: int) -> float:
        """The value in force at ``time_s`` (0 outside the window)."""
        return self.value if self.start_s <= time_s and (self.end_s is None or time_s < self.end_s) else 0.0


@dataclass(frozen=True)
class Changes:
    """What one scenario changes; everything else is the prepared project as opened.

    ``close_links`` close at ``closure_start_s`` (a timer control, so the solver takes a step
    there) and every control or rule acting on those links is disabled for the run, as it is
    for ``open_links``. ``extra_demand_m3_s`` adds a demand category per junction (on inside its
    window, through a 0/1 pattern); ``emitters`` sets an emitter coefficient in m3/s per m^exponent
    for the whole run (EPANET 2.3 does not take emitter changes between steps cleanly: open and
    close a link to an emitter node with controls for a leak that starts or ends mid-run).
    """

    close_links: tuple[str, ...] = ()
    closure_start_s: int = 0
    open_links: tuple[str, ...] = ()
    extra_demand_m3_s: Mapping[str, Timed] = field(default_factory=dict)
    emitters: Mapping[str, float] = field(default_factory=dict)
    demand_multiplier: float | None = None
    tank_init_level_m: Mapping[str, float] = field(default_factory=dict)


@dataclass
class Solution:
    """What a solve returns: report-time frames (full) or per-junction extremes (summary), plus balance data."""

    times_s: list[int]
    node: dict[str, pd.DataFrame]
    link: dict[str, pd.DataFrame]
    junctions: pd.Index
    min_pressure_m: np.ndarray  # per junction, in ``junctions`` order (so are the two below)
    served_m3: float
    expected_m3: float
    served_m3_s: np.ndarray
    expected_m3_s: np.ndarray
    balance: dict[str, Any]
    epanet_warnings: dict[int, list[int]] = field(default_factory=dict)

    @property
    def min_pressure(self) -> pd.Series:
        """Minimum pressure of each junction over the window (m)."""
        return pd.Series(self.min_pressure_m, index=self.junctions, copy=False)

    @property
    def served_by_junction(self) -> pd.Series:
        """Delivered demand of each junction summed at report times in the window (m3/s)."""
        return pd.Series(self.served_m3_s, index=self.junctions, copy=False)

    @property
    def expected_by_junction(self) -> pd.Series:
        """Full demand of each junction summed at report times in the window (m3/s)."""
        return pd.Series(self.expected_m3_s, index=self.junctions, copy=False)


class Project:
    """An EPANET 2.3 project opened from a WNTR model with simulation options applied."""

    def __init__(
        self,
        wn: WaterNetworkModel,
        duration_s: int | None = None,
        demand_model: str | None = None,
        required_pressure_m: float | None = None,
        minimum_pressure_m: float | None = None,
        quality: str | None = None,
        emitter_exponent: float | None = None,
    ) -> None:
        if tk is None:
            raise SimulationError("the EPANET 2.3 toolkit (owa-epanet) is not installed")
        self._lock = threading.Lock()
        self.ph = tk.createproject()
        with tempfile.TemporaryDirectory(prefix="hydronet-epanet-") as tmp:
            inp = os.path.join(tmp, "model.inp")
            try:
                wntr.network.io.write_inpfile(wn, inp, units="LPS")
                tk.open(self.ph, inp, os.path.join(tmp, "model.rpt"), "")
            except Exception as exc:  # EPANET errors arrive as RuntimeError from the binding
                tk.deleteproject(self.ph)
                raise SimulationError(f"EPANET could not open the network: {exc}") from exc
        try:
            self._setup(duration_s, demand_model, required_pressure_m, minimum_pressure_m, quality, emitter_exponent)
        except RuntimeError as exc:
            tk.close(self.ph)
            tk.deleteproject(self.ph)
            raise SimulationError(f"EPANET rejected the simulation options: {exc}") from exc

    def _setup(
        self,
        duration_s: int | None,
        demand_model: str | None,
        required_pressure_m: float | None,
        minimum_pressure_m: float | None,
        quality: str | None,
        emitter_exponent: float | None,
    ) -> None:
        """Apply the options and read what every solve needs (names, types, buffers, controls)."""
        if duration_s is not None:
            tk.settimeparam(self.ph, tk.DURATION, int(duration_s))
        if demand_model is not None:
            _, pmin, preq, pexp = tk.getdemandmodel(self.ph)
            model = tk.PDA if demand_model.upper() == "PDD" else tk.DDA
            pmin = pmin if minimum_pressure_m is None else minimum_pressure_m
            preq = preq if required_pressure_m is None else required_pressure_m
            tk.setdemandmodel(self.ph, model, pmin, max(preq, pmin + 0.01), pexp)
        if quality is not None:
            if quality.upper() in ("NONE", "AGE"):
                tk.setqualtype(self.ph, tk.NONE if quality.upper() == "NONE" else tk.AGE, "", "", "")
        if emitter_exponent is not None:
            tk.setoption(self.ph, tk.EMITEXPON, emitter_exponent)
        self.quality_type = tk.getqualinfo(self.ph)[0]
        self.duration_s = int(tk.gettimeparam(self.ph, tk.DURATION))
        self.report_step_s = int(tk.gettimeparam(self.ph, tk.REPORTSTEP)) or 3600
        self.report_start_s = int(tk.gettimeparam(self.ph, tk.REPORTSTART))
        n_nodes = tk.getcount(self.ph, tk.NODECOUNT)
        n_links = tk.getcount(self.ph, tk.LINKCOUNT)
        self.node_names = [tk.getnodeid(self.ph, i) for i in range(1, n_nodes + 1)]
        self.link_names = [tk.getlinkid(self.ph, i) for i in range(1, n_links + 1)]
        self.node_type = np.array([tk.getnodetype(self.ph, i) for i in range(1, n_nodes + 1)])
        self.link_type = np.array([tk.getlinktype(self.ph, i) for i in range(1, n_links + 1)])
        self._node_index = {name: i for i, name in enumerate(self.node_names)}
        self._link_index = {name: i for i, name in enumerate(self.link_names)}
        self.junctions = np.flatnonzero(self.node_type == tk.JUNCTION)
        self.tanks = np.flatnonzero(self.node_type == tk.TANK)
        self.reservoirs = np.flatnonzero(self.node_type == tk.RESERVOIR)
        self.pumps = np.flatnonzero(self.link_type == tk.PUMP)
        self.junction_names = [self.node_names[i] for i in self.junctions]
        self.junction_index = pd.Index(self.junction_names)
        self.tank_min_volume_m3 = np.array([tk.getnodevalue(self.ph, int(i) + 1, tk.MINVOLUME) for i in self.tanks])
        self.tank_min_level_m = np.array([tk.getnodevalue(self.ph, int(i) + 1, tk.MINLEVEL) for i in self.tanks])
        self._node_buf = tk.doubleArray(max(n_nodes, 1))
        self._link_buf = tk.doubleArray(max(n_links, 1))
        # numpy views of the toolkit's C arrays: reading element by element through SWIG is slow
        self._node_view = _view(self._node_buf, n_nodes)
        self._link_view = _view(self._link_buf, n_links)
        self._pump_indices = [(int(i) + 1, self.link_names[i]) for i in self.pumps]
        self._log = _StepLog(n_nodes, (tk.PRESSURE, tk.DEMAND, tk.EMITTERFLOW, tk.DEMANDFLOW, tk.FULLDEMAND))
        self._controls = self._control_targets()
        # runH/nextH through the C library itself: the binding turns EPANET's warning codes into a bare
        # Python warning without the code, and an engineer needs to know which warning it was
        self._lib = _library()
        self._ptr = ctypes.c_void_p(int(self.ph))
        self._clock = ctypes.c_long()
        self.demand_multiplier = tk.getoption(self.ph, tk.DEMANDMULT)
        self.has_emitters = bool(np.any(self._values(tk.EMITTER)[self.junctions] > 0))
        self.closed = False

    # ------------------------------------------------------------------ helpers
    def node_index(self, name: str) -> int:
        """0-based index of a node (KeyError if unknown)."""
        return self._node_index[name]

    def link_index(self, name: str) -> int:
        """0-based index of a link (KeyError if unknown)."""
        return self._link_index[name]

    def _control_targets(self) -> dict[str, list[tuple[str, int]]]:
        """Link name → the simple controls and rules that act on it (kind, 1-based index)."""
        targets: dict[str, list[tuple[str, int]]] = {}
        for index in range(1, tk.getcount(self.ph, tk.CONTROLCOUNT) + 1):
            link = tk.getcontrol(self.ph, index)[1]
            if link > 0:
                targets.setdefault(self.link_names[link - 1], []).append(("control", index))
        for index in range(1, tk.getcount(self.ph, tk.RULECOUNT) + 1):
            _, n_then, n_else, _ = tk.getrule(self.ph, index)
            for count, getter in ((n_then, tk.getthenaction), (n_else, tk.getelseaction)):
                for action in range(1, count + 1):
                    link = getter(self.ph, index, action)[0]
                    targets.setdefault(self.link_names[link - 1], []).append(("rule", index))
        return targets

    def _values(self, prop: int, links: bool = False) -> np.ndarray:
        """One property of every node (or link) at the current time."""
        if links:
            tk.getlinkvalues(self.ph, prop, self._link_buf)
            return self._link_view.copy()
        tk.getnodevalues(self.ph, prop, self._node_buf)
        return self._node_view.copy()

    def _set_controls(self, links: list[str], enabled: bool) -> None:
        for link in links:
            for kind, index in self._controls.get(link, ()):
                if kind == "control":
                    tk.setcontrolenabled(self.ph, index, int(enabled))
                else:
                    tk.setruleenabled(self.ph, index, int(enabled))

    # ------------------------------------------------------------------ solving
    def solve(
        self,
        changes: Changes | None = None,
        full: bool = True,
        window_start_s: int = 0,
        window_end_s: int | None = None,
    ) -> Solution:
        """Solve the run with ``changes`` applied; ``full`` keeps report-time frames of every variable.

        Minimum pressures and served/expected demand (summed at report times) cover the report
        times from ``window_start_s`` to ``window_end_s`` (inclusive; None = the end); the balance
        always covers the whole run.
        """
        with self._lock:
            if self.closed:
                raise SimulationError("the EPANET project is closed")
            undo: list[tuple[Any, ...]] = []
            try:
                # inside the try: a change EPANET refuses fails this scenario, not the sweep
                self._apply(changes or Changes(), undo)
                return self._run(changes or Changes(), full, window_start_s, window_end_s)
            except RuntimeError as exc:
                raise SimulationError(f"EPANET failed: {exc}") from exc
            finally:
                self._restore(undo)

    def _apply(self, changes: Changes, undo: list[tuple[Any, ...]]) -> None:
        """Apply the scenario, appending to ``undo`` what restores the project (most recent last)."""
        forced = list(changes.close_links) + list(changes.open_links)
        self._set_controls(forced, False)
        undo.append(("controls", forced))
        for name in changes.open_links:
            index = self._link_index[name] + 1
            undo.append(("link", index, tk.INITSTATUS, tk.getlinkvalue(self.ph, index, tk.INITSTATUS)))
            tk.setlinkvalue(self.ph, index, tk.INITSTATUS, 1)
        for name in changes.close_links:
            index = self._link_index[name] + 1
            if self.link_type[index - 1] == tk.CVPIPE:
                self._close_check_valve(name, index, changes.closure_start_s, undo)
            elif changes.closure_start_s <= 0:
                undo.append(("link", index, tk.INITSTATUS, tk.getlinkvalue(self.ph, index, tk.INITSTATUS)))
                tk.setlinkvalue(self.ph, index, tk.INITSTATUS, 0)
            else:
                control = tk.addcontrol(self.ph, tk.TIMER, index, 0.0, 0, float(changes.closure_start_s))
                undo.append(("control", control))
        for name, level in changes.tank_init_level_m.items():
            index = self._node_index[name] + 1
            undo.append(("node", index, tk.TANKLEVEL, tk.getnodevalue(self.ph, index, tk.TANKLEVEL)))
            tk.setnodevalue(self.ph, index, tk.TANKLEVEL, float(level))
        if changes.demand_multiplier is not None:
            undo.append(("option", tk.DEMANDMULT, self.demand_multiplier))
            tk.setoption(self.ph, tk.DEMANDMULT, self.demand_multiplier * changes.demand_multiplier)
        for number, (name, timed) in enumerate(changes.extra_demand_m3_s.items()):
            # a pattern, not base-demand edits between steps: EPANET 2.3's pressure-driven solve does not
            # reduce a demand whose base changes mid-run
            pattern = f"hydronet-window-{number}"
            tk.addpattern(self.ph, pattern)
            undo.append(("pattern", pattern))
            self._window_pattern(tk.getpatternindex(self.ph, pattern), timed)
            index = self._node_index[name] + 1
            tk.adddemand(self.ph, index, timed.value * LPS, pattern, "hydronet-scenario")
            undo.append(("demand", index, tk.getnumdemands(self.ph, index)))
        for name, coefficient in changes.emitters.items():
            index = self._node_index[name] + 1
            undo.append(("node", index, tk.EMITTER, tk.getnodevalue(self.ph, index, tk.EMITTER)))
            tk.setnodevalue(self.ph, index, tk.EMITTER, float(coefficient) * LPS)

    def _close_check_valve(self, name: str, index: int, start_s: int, undo: list[tuple[Any, ...]]) -> None:
        """Close a pipe with a check valve for the whole run.

        EPANET refuses any status change or control on a CV pipe (error 207). A closed pipe passes
        no flow either way, so for a closure from the start the link becomes an ordinary pipe
        (``EN_setlinktype``, which keeps its index and data) with a closed initial status. A closure
        after a warm-up cannot be expressed: the valve must keep acting until then.
        """
        if start_s > 0:
            raise SimulationError(
                f"pipe {name} has a check valve: EPANET 2.3 cannot close it after a warm-up "
                "(error 207); analyse it with closure_start_h 0"
            )
        tk.setlinktype(self.ph, index, tk.PIPE, tk.UNCONDITIONAL)
        undo.append(("link_type", index, tk.CVPIPE))
        tk.setlinkvalue(self.ph, index, tk.INITSTATUS, 0)

    def _restore(self, undo: list[tuple[Any, ...]]) -> None:
        for entry in reversed(undo):
            kind = entry[0]
            if kind == "controls":
                self._set_controls(entry[1], True)
            elif kind == "link":
                tk.setlinkvalue(self.ph, *entry[1:])
            elif kind == "link_type":  # back to a CV pipe, open (its initial status before the closure)
                tk.setlinkvalue(self.ph, entry[1], tk.INITSTATUS, 1)
                tk.setlinktype(self.ph, entry[1], entry[2], tk.UNCONDITIONAL)
            elif kind == "node":
                tk.setnodevalue(self.ph, *entry[1:])
            elif kind == "control":
                tk.deletecontrol(self.ph, entry[1])
            elif kind == "option":
                tk.setoption(self.ph, entry[1], entry[2])
            elif kind == "demand":
                tk.deletedemand(self.ph, entry[1], entry[2])
            elif kind == "pattern":
                tk.deletepattern(self.ph, tk.getpatternindex(self.ph, entry[1]))

    @staticmethod
    def _record_code(code: int, codes: dict[int, list[int]], time_s: int) -> None:
        """An EN_runH / EN_nextH return code: warnings recorded with the step's time, errors raised."""
        if code > 100:
            raise RuntimeError(tk.geterror(code, 255))
        codes.setdefault(int(code), []).append(time_s)

    def _window_pattern(self, index: int, timed: Timed) -> None:
        """Make pattern ``index`` 1 inside the window and 0 outside, at the pattern step, over the whole run."""
        step = int(tk.gettimeparam(self.ph, tk.PATTERNSTEP)) or 3600
        start = int(tk.gettimeparam(self.ph, tk.PATTERNSTART))
        count = max(math.ceil((self.duration_s + start) / step) + 1, 1)
        values = tk.doubleArray(count)
        for k in range(count):
            values[k] = 1.0 if timed.at(k * step - start) else 0.0
        tk.setpattern(self.ph, index, values, count)

    def _run(self, changes: Changes, full: bool, window_start_s: int, window_end_s: int | None) -> Solution:
        ph = self.ph
        quality = full and self.quality_type != tk.NONE
        tk.openH(ph)
        if quality:
            tk.openQ(ph)
        try:
            return self._loop(changes, full, quality, window_start_s, window_end_s)
        finally:
            if quality:
                tk.closeQ(ph)
            tk.closeH(ph)

    def _loop(
        self, changes: Changes, full: bool, quality: bool, window_start_s: int, window_end_s: int | None
    ) -> Solution:
        ph, junctions, tanks, reservoirs = self.ph, self.junctions, self.tanks, self.reservoirs
        tk.initH(ph, tk.NOSAVE)
        if quality:
            tk.initQ(ph, tk.NOSAVE)
        volume0 = np.array([tk.getnodevalue(ph, int(i) + 1, tk.TANKVOLUME) for i in tanks])
        rows: dict[str, list[np.ndarray]] = {}
        times: list[int] = []
        steps: list[int] = []
        pump_short: dict[str, int] = {}
        codes: dict[int, list[int]] = {}
        emitters = self.has_emitters or bool(changes.emitters)
        # every step: pressure and demand (a junction's demand is its delivered demand plus its emitter
        # flow); delivered and full demand separately only at report times in the window. EPANET writes
        # each step's values straight into a row of the step log; the sums, minima and the tank checks
        # are reduced over the rows after the run, in step order
        step_properties: tuple[int, ...] = (tk.PRESSURE, tk.DEMAND) + ((tk.EMITTERFLOW,) if emitters else ())
        window_properties = (tk.DEMANDFLOW, tk.FULLDEMAND)
        log = self._log
        # the C entry points and their arguments bound once: this loop runs at every hydraulic step of
        # every scenario of a sweep, where Python-level overhead is what a scenario costs beyond the solve
        lib, handle, clock = self._lib, self._ptr, self._clock
        run_h, next_h, node_values, link_value = lib.EN_runH, lib.EN_nextH, lib.EN_getnodevalues, lib.EN_getlinkvalue
        at = ctypes.byref(clock)
        pump_state = ctypes.c_double()
        pump_at = ctypes.byref(pump_state)
        pumps = self._pump_indices
        report_start, report_step, row_bytes = self.report_start_s, self.report_step_s, log.row_bytes
        row = reported = 0
        step_at, window_at = log.addresses(step_properties), log.addresses(window_properties)
        while True:
            if row == log.capacity:
                log.reserve(row + 1)
                step_at, window_at = log.addresses(step_properties), log.addresses(window_properties)
            code = run_h(handle, at)
            time_s = clock.value
            if code:
                self._record_code(code, codes, time_s)
            if quality:
                tk.runQ(ph)
            offset = row * row_bytes
            for prop, address in step_at:
                node_values(handle, prop, address + offset)
            if time_s >= report_start and (time_s - report_start) % report_step == 0:
                times.append(time_s)
                if time_s >= window_start_s and (window_end_s is None or time_s <= window_end_s):
                    offset = reported * row_bytes
                    for prop, address in window_at:
                        node_values(handle, prop, address + offset)
                    log.window_rows[reported] = row
                    reported += 1
                if full:
                    self._record(
                        rows,
                        log.row(tk.PRESSURE, row),
                        log.row(tk.DEMAND, row),
                        log.row(tk.EMITTERFLOW, row)[junctions] if emitters else np.zeros(len(junctions)),
                        quality,
                    )
            # a pump that cannot deliver the head (XHEAD) makes EN_runH return a warning (4, or a later
            # code of the same step): a step without one needs no look at the pumps
            for index, name in pumps if code else ():
                link_value(handle, index, tk.PUMP_STATE, pump_at)
                if pump_state.value == tk.PUMP_XHEAD:
                    pump_short[name] = pump_short.get(name, 0) + 1
            code = next_h(handle, at)
            step = clock.value
            if code:
                self._record_code(code, codes, time_s)
            if quality:
                tk.nextQ(ph)
            if step <= 0:
                break
            steps.append(step)
            row += 1
        n, integrated = len(self.node_names), len(steps)
        durations = np.array(steps, dtype=float)[:, None]
        pressure, demand = log.rows(tk.PRESSURE, integrated), log.rows(tk.DEMAND, integrated)
        demand_volume = _sum_rows(demand * durations, n)
        leak = _sum_rows(log.rows(tk.EMITTERFLOW, integrated) * durations, n) if emitters else np.zeros(n)
        tank_flow = demand[:, tanks]
        empty = (pressure[:, tanks] <= self.tank_min_level_m + TANK_EPS_M) & (tank_flow < 0)
        tank_at_min_out = 0.0 - _sum_rows(np.where(empty, tank_flow * durations, 0.0), len(tanks))
        in_window = log.window_rows[:reported]
        min_pressure = np.minimum.reduce(log.rows(tk.PRESSURE, row + 1)[in_window], axis=0, initial=np.inf)
        served = _sum_rows(log.rows(tk.DEMANDFLOW, reported), n)
        expected = _sum_rows(log.rows(tk.FULLDEMAND, reported), n)
        tank_in = demand_volume[tanks]
        source_out = float(-demand_volume[reservoirs].sum())
        leak = float(leak[junctions].sum())
        delivered = float(demand_volume[junctions].sum()) - leak
        min_pressure, served, expected = min_pressure[junctions], served[junctions], expected[junctions]
        volume1 = np.array([tk.getnodevalue(ph, int(i) + 1, tk.TANKVOLUME) for i in tanks])
        balance = {
            "tanks": [self.node_names[i] for i in tanks],
            "tank_inflow_m3": tank_in / LPS,
            "tank_volume_change_m3": volume1 - volume0,
            "tank_out_at_minimum_m3": tank_at_min_out / LPS,
            "sources_m3": source_out / LPS,
            "delivered_m3": delivered / LPS,
            "leak_m3": leak / LPS,
            "pumps_short": pump_short,
            "integrated_over": "every hydraulic step",
        }
        node, link = self._frames(rows, times) if full else ({}, {})
        return Solution(
            times,
            node,
            link,
            self.junction_index,
            min_pressure,
            float(served.sum()) / LPS,
            float(expected.sum()) / LPS,
            served / LPS,
            expected / LPS,
            balance,
            codes,
        )

    def _record(
        self,
        rows: dict[str, list[np.ndarray]],
        pressure: np.ndarray,
        demand: np.ndarray,
        emitter: np.ndarray,
        quality: bool,
    ) -> None:
        """Keep the report-time values of every node and link variable."""
        leak = np.zeros(len(self.node_names))
        leak[self.junctions] = emitter
        out = {
            "pressure": pressure,
            "demand": demand / LPS,
            "head": self._values(tk.HEAD),
            "leak_demand": leak / LPS,
            "flowrate": self._values(tk.FLOW, True) / LPS,
            "velocity": self._values(tk.VELOCITY, True),
            "headloss": self._values(tk.HEADLOSS, True),
            "status": self._values(tk.STATUS, True),
            "setting": self._values(tk.SETTING, True),
        }
        if quality:
            out["quality"] = self._values(tk.QUALITY)
        for key, values in out.items():
            rows.setdefault(key, []).append(values)

    def _frames(self, rows: dict[str, list[np.ndarray]], times: list[int]) -> tuple[dict, dict]:
        """Report-time frames in WNTR's shapes and units (SI; pipe headloss per metre; age in s)."""
        node: dict[str, pd.DataFrame] = {}
        link: dict[str, pd.DataFrame] = {}
        pipes = self.link_type <= tk.PIPE
        fcv = self.link_type == tk.FCV
        for key, values in rows.items():
            data = np.vstack(values) if values else np.empty((0, 0))
            if key == "headloss":
                data[:, pipes] /= 1000.0
            elif key == "setting":
                data[:, fcv] /= LPS
            elif key == "quality" and self.quality_type == tk.AGE:
                data = data * 3600.0  # the toolkit reports age in hours
            elif key == "quality" and self.quality_type == tk.CHEM:
                data = data / 1000.0  # mg/L to kg/m3, as WNTR reports
            is_link = key in ("flowrate", "velocity", "headloss", "status", "setting")
            names = self.link_names if is_link else self.node_names
            frame = pd.DataFrame(data, index=pd.Index(times, dtype="int64"), columns=names)
            (link if is_link else node)[key] = frame
        return node, link

    def close(self) -> None:
        """Release the project (idempotent)."""
        with self._lock:
            if not self.closed:
                self.closed = True
                tk.close(self.ph)
                tk.deleteproject(self.ph)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # a project that never opened, or interpreter shutdown
            pass

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StepLog:
    """Per-step node values of a solve, one row per hydraulic step, kept by a project between its solves.

    EN_getnodevalues writes a step's values straight into the next row (by address), so the solve
    loop copies nothing; rows grow by doubling, which moves them (ask :meth:`addresses` again).
    """

    def __init__(self, n_nodes: int, properties: tuple[int, ...]) -> None:
        self.width = max(n_nodes, 1)
        self.row_bytes = self.width * 8
        self.capacity = 0
        self.arrays: dict[int, np.ndarray] = {prop: np.empty((0, self.width)) for prop in properties}
        self.window_rows = np.empty(0, dtype=np.intp)
        self._address: dict[int, int] = {}
        self.reserve(64)

    def reserve(self, rows: int) -> None:
        """Room for at least ``rows`` rows, keeping those already written."""
        if rows <= self.capacity:
            return
        capacity = max(rows, 2 * self.capacity)
        for prop, old in self.arrays.items():
            grown = np.zeros((capacity, self.width))
            grown[: self.capacity] = old
            self.arrays[prop] = grown
        window_rows = np.zeros(capacity, dtype=np.intp)
        window_rows[: self.capacity] = self.window_rows
        self.window_rows, self.capacity = window_rows, capacity
        self._address = {prop: array.ctypes.data for prop, array in self.arrays.items()}

    def addresses(self, properties: tuple[int, ...]) -> list[tuple[int, int]]:
        """``(property, address of row 0)`` for EN_getnodevalues."""
        return [(prop, self._address[prop]) for prop in properties]

    def rows(self, prop: int, count: int) -> np.ndarray:
        """The first ``count`` rows of ``prop`` (a view, only the nodes)."""
        return self.arrays[prop][:count]

    def row(self, prop: int, index: int) -> np.ndarray:
        """A copy of one row of ``prop``."""
        return self.arrays[prop][index].copy()


def _sum_rows(values: np.ndarray, width: int) -> np.ndarray:
    """Column sums of ``values`` added row by row from zero (the order a running sum per step has)."""
    return np.add.reduce(values[:, :width], axis=0, initial=0.0) if len(values) else np.zeros(width)


OPEN_PER_MODEL = 4
_OPEN: PerModel[Project] = PerModel(OPEN_PER_MODEL, drop=Project.close, usable=lambda project: not project.closed)


def shared_project(owner: Any, key: str, model: WaterNetworkModel) -> Project:
    """The open project of ``model`` kept for ``owner`` (the caller's parsed model) under ``key``.

    Sweeps on the same network in the same process reuse it instead of writing and opening the
    .inp again; every solve restores what it changed, so the project stays as opened. At most
    :data:`OPEN_PER_MODEL` projects (settings) are kept per model, least recently used dropped;
    they go when the owner model is garbage-collected.
    """
    return _OPEN.get(owner, key, lambda: Project(model))


def warning_text(code: int) -> str:
    """EPANET's own text for a warning code."""
    return tk.geterror(code, 255) if tk is not None else f"EPANET warning {code}"


def _library() -> ctypes.CDLL:
    """The EPANET shared library the binding ships (loaded once)."""
    global _LIBRARY
    if _LIBRARY is None:
        folder = os.path.dirname(os.path.abspath(tk.__file__))
        _LIBRARY = ctypes.CDLL(os.path.join(folder, "libepanet2.so"))
        for name in ("EN_runH", "EN_nextH"):
            getattr(_LIBRARY, name).argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_long)]
        # EN_getnodevalues(project, property, double *values) into numpy buffers (passed by address)
        _LIBRARY.EN_getnodevalues.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        _LIBRARY.EN_getlinkvalue.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_double),
        ]
        for name in ("EN_runH", "EN_nextH", "EN_getnodevalues", "EN_getlinkvalue"):
            getattr(_LIBRARY, name).restype = ctypes.c_int
    return _LIBRARY


def _view(buffer: Any, size: int) -> np.ndarray:
    """A numpy array sharing memory with a SWIG ``doubleArray`` (kept alive by its owner)."""
    return np.ctypeslib.as_array((ctypes.c_double * max(size, 1)).from_address(int(buffer.this)))[:size]


def emitter_coefficient(area_m2: float, discharge_coeff: float) -> float:
    """Orifice leak as an emitter: q = Cd·A·√(2 g p), so C = Cd·A·√(2 g) in m3/s per √m (exponent 0.5)."""
    return discharge_coeff * area_m2 * math.sqrt(2 * 9.80665)
