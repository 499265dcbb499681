"""The semantics fitter's speed: `snnx semantics fit` on each of the NIR paper's recorded traces,
one fresh process per trace (so each pays JAX's start-up and its own compilations, as the
command does), timed from the command's start to its answer. Target: under 30 s per trace on
the 2-core development machine.

    python benchmarks/fit_speed.py [--traces norse spyx ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PAPER = (
    Path(
        os.environ.get(
            "SNNX_CONFORMANCE",
            Path(__file__).resolve().parents[1].parent / "shared" / "conformance",
        )
    )
    / "nir-paper"
)
TRACES = ("norse", "snntorch", "spyx", "sinabs", "rockpool", "exact")
TARGET_S = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", nargs="+", default=list(TRACES), choices=TRACES)
    args = parser.parse_args()
    print(f"{'trace':<10} {'seconds':>8} {'simulations':>12} {'mismatches':>11}  determined")
    slow = 0
    for name in args.traces:
        graph = PAPER / ("lif_rockpool.nir" if name == "rockpool" else "lif_norse.nir")
        command = [sys.executable, "-m", "snnx", "semantics", "fit", str(graph)]
        command += ["--trace", str(PAPER / f"lif_{name}.csv"), "--json"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - start
        fit = json.loads(done.stdout)
        slow += seconds > TARGET_S
        knobs = ", ".join(f"{k}={v}" for k, v in fit["determined"].items() if k != "dt")
        print(
            f"{name:<10} {seconds:>8.1f} {fit['simulations']:>12} "
            f"{fit['residual']['spike_mismatches']:>11}  {knobs}"
        )
    print(f"target: {TARGET_S:g} s per trace; {slow} over")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
