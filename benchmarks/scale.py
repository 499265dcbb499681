"""Time against node count: an ``N``-node chain (Input, then Linear and LIF in turn, then Output)
written to a file, inspected (read, checked, summarized, rendered), simulated for 20 steps and
compiled for Loihi (netx files written).

    PYTHONPATH=src .venv/bin/python benchmarks/scale.py --nodes 1000 2000 10000

Targets (issue 17, this 2-core machine): 10,000 nodes inspect in under 2 s and simulate 20 steps
in under 30 s; time grows at most as ``n log n``. ``--profile N`` prints the top of a cProfile of
all three at ``N`` nodes instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np

import snnx
from snnx.inspection import render_text, summarize
from snnx.ir import Graph, Node


def chain(n: int, width: int = 4) -> Graph:
    """Input, ``n - 2`` nodes alternating Linear and LIF, Output."""
    nodes: dict[str, Node] = {"input": Node("Input", shape=[width])}
    lif = Node(
        "LIF",
        tau=np.full(width, 1e-3),
        r=np.ones(width),
        v_leak=np.zeros(width),
        v_threshold=np.ones(width),
    )
    for i in range(n - 2):
        nodes[f"n{i}"] = lif if i % 2 else Node("Linear", weight=np.eye(width) * 2.0)
    nodes["output"] = Node("Output", shape=[width])
    return Graph.sequential(nodes)


def measure(n: int, folder: Path) -> list[tuple[float, float]]:
    """Seconds (wall clock, and CPU of all the process's threads: what a shared machine's load
    does not inflate) to inspect, to simulate 20 steps and to compile for Loihi an ``n``-node
    chain file."""
    path = folder / f"chain{n}.nir"
    snnx.write(chain(n), path)
    graph = snnx.read(path)
    stages = [
        lambda: render_text(summarize(snnx.read(path), file=str(path))),
        lambda: snnx.simulate(graph, np.ones((20, 1, 4)), "nir-reference"),
        lambda: snnx.compile(graph, "loihi", "nir-reference", output=folder / f"loihi{n}"),
    ]
    times = []
    for stage in stages:
        wall, cpu = time.perf_counter(), time.process_time()
        stage()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 2000, 10000])
    parser.add_argument("--profile", type=int, help="profile at this many nodes instead")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(measure, args.profile, folder)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    measure(10, folder)  # imports and first-call costs, outside the timings
    print("nodes   inspect s (cpu)   simulate s (cpu)   loihi s (cpu)", flush=True)
    for n in args.nodes:
        cells = [f"{wall:7.2f} ({cpu:6.2f})" for wall, cpu in measure(n, folder)]
        print(f"{n:5d}  " + "   ".join(cells), flush=True)


if __name__ == "__main__":
    main()
