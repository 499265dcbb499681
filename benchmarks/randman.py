"""Target-aware adaptation on recurrent networks trained on Randman: output class agreement with
the float network and test accuracy, before and after adaptation, for several seeds.

    PYTHONPATH=src .venv/bin/python benchmarks/randman.py [--seeds 0 1 2 3 4] [--iterations 400]
        [--targets loihi xylo] [--hidden-ceiling 4]

Per seed (``tests/crosscheck/randman_task.py``): the Randman task of that seed (5 classes, 16
channels, manifolds of dimension 2, 1024 training and 512 test samples of 64 steps), a 16-40-5
recurrent CubaLIF network trained on it under snnTorch's semantics (reset by subtraction, exact
integration), then adapted for each target on the training samples and judged on the test
samples through the target's exact numerics (which the Lava and Xylo tiers show equal to real
Lava and XyloSim). Columns: float test accuracy, the target's before and after, agreement with
the float network's classes over the decided samples before and after, undecided samples,
seconds of adaptation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "crosscheck"))

import randman_task as rt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", default=["loihi", "xylo"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument(
        "--hidden-ceiling",
        type=float,
        default=rt.HIDDEN_CEILING,
        help="spikes per sample above which training penalises a hidden neuron (1e9: never)",
    )
    args = parser.parse_args()
    rt.HIDDEN_CEILING = args.hidden_ceiling
    print(
        "| seed | target | float accuracy | target accuracy before | after | "
        "agreement before | after | undecided | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        task = rt.trained(seed)
        for target in args.targets:
            done = rt.adapted(task, target, args.iterations)
            b, a = done.before, done.after
            last = b.layers[-1].layer
            floating = rt.accuracy(b.reference[last].sum(0), task.y_test)
            before = rt.accuracy(b.target_traces[last].sum(0), task.y_test)
            after = rt.accuracy(a.target_traces[last].sum(0), task.y_test)
            print(
                f"| {seed} | {target} | {floating:.1%} | {before:.1%} | {after:.1%} | "
                f"{b.decided_agreement:.1%} | {a.decided_agreement:.1%} | {a.undecided} | "
                f"{done.seconds:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
