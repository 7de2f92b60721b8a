"""Engine bench: pipe criticality per scenario against the bare EPANET 2.3 toolkit solve (Net3, 24 h, PDD).

    .venv/bin/python -m bench.engine [--rounds 3] [--network Net3]

The bare solve is the least a scenario can cost: set one pipe closed, initH, runH/nextH to the end
reading junction pressures at report times, reopen it. The criticality figure is
``pipe_criticality`` over every pipe divided by the pipe count (it also reads delivered and full
demand, tank volumes, EPANET's warning codes and pump states, and ranks the results). The best of
``--rounds`` rounds is kept for both, so that other load on the machine weighs less.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import wntr

from hydronet.water.criticality import pipe_criticality
from hydronet.water.toolkit import Project, tk

LIBRARY = Path(wntr.__file__).resolve().parent / "library" / "networks"


def bare_per_scenario(wn: wntr.network.WaterNetworkModel, pipes: list[str]) -> float:
    """Seconds per closure solved straight through the toolkit with the project kept open."""
    with Project(wn, 24 * 3600, "PDD", 28.0, 0.0, "NONE") as project:
        ph, buffer = project.ph, tk.doubleArray(len(project.node_names))
        report = project.report_step_s
        start = time.perf_counter()
        for name in pipes:
            index = tk.getlinkindex(ph, name)
            tk.setlinkvalue(ph, index, tk.INITSTATUS, 0)
            tk.openH(ph)
            tk.initH(ph, 0)
            while True:
                if tk.runH(ph) % report == 0:
                    tk.getnodevalues(ph, tk.PRESSURE, buffer)
                if tk.nextH(ph) <= 0:
                    break
            tk.closeH(ph)
            tk.setlinkvalue(ph, index, tk.INITSTATUS, 1)
        return (time.perf_counter() - start) / len(pipes)


def criticality_per_scenario(wn: wntr.network.WaterNetworkModel, pipes: list[str]) -> float:
    """Seconds per pipe of the full pipe_criticality analysis (opening the project included)."""
    start = time.perf_counter()
    pipe_criticality(wn, duration_h=24, pipes=pipes)
    return (time.perf_counter() - start) / len(pipes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--network", default="Net3")
    args = parser.parse_args()
    wn = wntr.network.WaterNetworkModel(str(LIBRARY / f"{args.network}.inp"))
    pipes = list(wn.pipe_name_list)
    bare = min(bare_per_scenario(wn, pipes) for _ in range(args.rounds))
    analysis = min(criticality_per_scenario(wn, pipes) for _ in range(args.rounds))
    print(json.dumps({
        "network": args.network, "pipes": len(pipes), "rounds": args.rounds,
        "bare_toolkit_ms": round(bare * 1000, 3), "criticality_ms": round(analysis * 1000, 3),
        "ratio": round(analysis / bare, 3), "target_ratio": 1.5,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
