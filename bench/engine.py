"""Engine bench (g): pipe criticality per scenario against the bare EPANET 2.3 toolkit solve (Net3, 24 h, PDD).

    .venv/bin/python -m bench.engine [--rounds 9] [--network Net3]

The bare solve is the least a closure scenario can cost with the project kept open: close the
pipe, EN_openH + EN_initH, EN_runH/EN_nextH to the end reading at report times only what
criticality needs — the minimum pressure of every junction, the delivered demand and the tank
levels — then reopen the pipe. (The hydraulic solver is opened per scenario as the analysis does:
left open between runs, EPANET carries solver state from one run into the next and the results
change.) The criticality figure is ``pipe_criticality`` over every pipe divided by the pipe count:
everything the analysis does — its baseline, the water-balance integration over every hydraulic
step, warnings, impacts, the ranking — on a model whose open project and prepared copy an earlier
call left in the process, as in a server answering requests on a stored network. The first call
on a fresh model ("cold", opening the project and computing populations) is reported beside it.

Both are timed in alternating rounds and the best round of each is kept, in process CPU time
(steadier than wall time on a shared machine) and in wall time.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import wntr

from hydronet.water.criticality import pipe_criticality
from hydronet.water.toolkit import Project, tk

LIBRARY = Path(wntr.__file__).resolve().parent / "library" / "networks"
REQUIRED_M = 28.0  # pipe_criticality's default (GB 50013-2018, six storeys), PDD with minimum 0 m


def model(network: str) -> wntr.network.WaterNetworkModel:
    """A bundled network, freshly parsed."""
    return wntr.network.WaterNetworkModel(str(LIBRARY / f"{network}.inp"))


def bare_scenarios(project: Project, pipes: list[str]) -> None:
    """Close each pipe in turn and solve through the binding, reading only what criticality needs."""
    ph, n = project.ph, len(project.node_names)
    pressure_buffer, demand_buffer = tk.doubleArray(n), tk.doubleArray(n)
    # numpy views of the binding's C arrays (reading them element by element through SWIG is slow)
    pressure, demand = (
        np.ctypeslib.as_array((ctypes.c_double * n).from_address(int(buffer.this)))
        for buffer in (pressure_buffer, demand_buffer)
    )
    junctions, tanks, report = project.junctions, project.tanks, project.report_step_s
    for name in pipes:
        index = tk.getlinkindex(ph, name)
        tk.setlinkvalue(ph, index, tk.INITSTATUS, 0)
        tk.openH(ph)
        tk.initH(ph, tk.NOSAVE)
        lowest = np.full(len(junctions), np.inf)
        delivered = np.zeros(len(junctions))
        levels = []
        while True:
            if tk.runH(ph) % report == 0:
                tk.getnodevalues(ph, tk.PRESSURE, pressure_buffer)
                tk.getnodevalues(ph, tk.DEMANDFLOW, demand_buffer)
                np.minimum(lowest, pressure[junctions], out=lowest)
                delivered += demand[junctions]
                levels.append(pressure[tanks])  # a tank's pressure is its level
            if tk.nextH(ph) <= 0:
                break
        tk.closeH(ph)
        tk.setlinkvalue(ph, index, tk.INITSTATUS, 1)


def measure(network: str = "Net3", rounds: int = 9) -> dict[str, Any]:
    """Per-scenario seconds of the bare solve and of pipe_criticality, alternating rounds, best of each."""
    wn = model(network)
    pipes = list(wn.pipe_name_list)
    started = time.perf_counter()
    pipe_criticality(model(network), duration_h=24, pipes=pipes)
    cold_wall = (time.perf_counter() - started) / len(pipes)
    pipe_criticality(wn, duration_h=24, pipes=pipes)  # warm: this model's project and prepared copy stay open
    times: dict[str, dict[str, list[float]]] = {"bare": {"cpu": [], "wall": []}, "criticality": {"cpu": [], "wall": []}}
    with Project(wn, 24 * 3600, "PDD", REQUIRED_M, 0.0, "NONE") as project:
        bare_scenarios(project, pipes)  # warm-up
        runs = {
            "bare": lambda: bare_scenarios(project, pipes),
            "criticality": lambda: pipe_criticality(wn, duration_h=24, pipes=pipes),
        }
        for i in range(rounds):
            for name in ("bare", "criticality") if i % 2 == 0 else ("criticality", "bare"):
                cpu, wall = time.process_time(), time.perf_counter()
                runs[name]()
                times[name]["cpu"].append((time.process_time() - cpu) / len(pipes))
                times[name]["wall"].append((time.perf_counter() - wall) / len(pipes))
    best = {name: {kind: min(values) for kind, values in kinds.items()} for name, kinds in times.items()}
    median = {
        name: {kind: sorted(values)[len(values) // 2] for kind, values in kinds.items()}
        for name, kinds in times.items()
    }
    ms = lambda seconds: round(seconds * 1000, 3)  # noqa: E731
    return {
        "network": network,
        "pipes": len(pipes),
        "rounds": rounds,
        "duration_h": 24,
        "bare_ms": {"cpu": ms(best["bare"]["cpu"]), "wall": ms(best["bare"]["wall"])},
        "criticality_ms": {"cpu": ms(best["criticality"]["cpu"]), "wall": ms(best["criticality"]["wall"])},
        "ratio": round(best["criticality"]["cpu"] / best["bare"]["cpu"], 3),
        "ratio_wall": round(best["criticality"]["wall"] / best["bare"]["wall"], 3),
        "ratio_median_cpu": round(median["criticality"]["cpu"] / median["bare"]["cpu"], 3),
        "criticality_cold_ms": ms(cold_wall),
        "target_ratio": 1.5,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--network", default="Net3")
    args = parser.parse_args()
    print(json.dumps(measure(args.network, args.rounds), indent=2))


if __name__ == "__main__":
    main()
