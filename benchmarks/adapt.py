"""Target-aware adaptation (`snnx compile --adapt`) on the NIR paper's Braille network: output
class agreement with the float reference before and after, on held-out random inputs.

    PYTHONPATH=src .venv/bin/python benchmarks/adapt.py [--targets loihi xylo] [--rates 0.05 0.1 0.2]

The network (``braille_noDelay_bias_zero.nir``, CubaLIF 12-38-7 with recurrence) runs under its
own semantics, the model as trained (NIR before 1.0.6: reset by subtraction, exact integration).
Loihi cannot reset by subtraction nor integrate exactly, so it is lowered under reset to zero and
exponential decay; Xylo keeps the semantics and rounds its time constants to bit shifts. Per
target and input rate: calibration on ``--calibration`` samples (seed 1), the report on
``--held-out`` others (seed 2), ``--steps`` steps each. Columns: class agreement over all
samples and over the *decided* ones (whose reference output has one most active neuron), the
undecided count, the share of the reference's most frequent class (what a constant answer
would score), the share of samples whose reference top two outputs are within 2 spikes (where
any departure can flip the class), the output layer's spike-count correlation, the seconds adaptation took,
and the start the kept program was fitted from (`snnx.adaptation.loihi.LoihiAdapter.starts`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import snnx
from snnx.adaptation import Settings, adapt, random_spikes

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(os.environ.get("SNNX_CONFORMANCE", ROOT.parent / "shared" / "conformance"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", default=["loihi", "xylo"])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.05, 0.1, 0.2])
    parser.add_argument("--calibration", type=int, default=1024)
    parser.add_argument("--held-out", type=int, default=512)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument(
        "--all-starts",
        action="store_true",
        help="fit from every start the adapter offers (Loihi: also emulated subtractive reset)",
    )
    args = parser.parse_args()
    graph = snnx.read(CONFORMANCE / "nir-paper" / "braille_noDelay_bias_zero.nir")
    print(
        "| target | rate | agreement before | after | decided before | decided after | "
        "undecided | majority class | top two within 2 | output corr before / after | seconds | "
        "fitted from |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for target in args.targets:
        for rate in args.rates:
            calibration = random_spikes((12,), args.steps, args.calibration, rate, 1)
            held_out = random_spikes((12,), args.steps, args.held_out, rate, 2)
            done = adapt(
                graph,
                target,
                calibration=calibration,
                held_out=held_out,
                settings=Settings(
                    iterations=args.iterations, starts=None if args.all_starts else ("lowered",)
                ),
            )
            b, a = done.before, done.after
            classes = b.reference[b.layers[-1].layer].sum(0).argmax(-1)
            majority = np.bincount(classes).max() / len(classes)
            top = np.sort(b.reference[b.layers[-1].layer].sum(0), axis=-1)
            close = np.mean(top[:, -1] - top[:, -2] <= 2)
            print(
                f"| {target} | {rate:g} | {b.class_agreement:.1%} | {a.class_agreement:.1%} | "
                f"{b.decided_agreement:.1%} | {a.decided_agreement:.1%} | {a.undecided} | "
                f"{majority:.0%} | {close:.0%} | {b.layers[-1].count_correlation:.3f} / "
                f"{a.layers[-1].count_correlation:.3f} | {done.seconds:.0f} | {done.start} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
