"""BrainScaleS-2 adaptation (`snnx compile --target bss2 --adapt`) on the NIR paper's Braille
network: class agreement with the float reference before and after, on the nominal chip and
over chip instances of the mismatch model (`snnx.targets.bss2.mismatch`, default `Spread`).

    PYTHONPATH=src .venv/bin/python benchmarks/adapt_bss2.py [--rates 0.05 0.1] [--chips 16]

Calibration: ``--calibration`` random spike trains (seed 1) at the rate, ``--steps`` steps;
report: ``--held-out`` others (seed 2). Training draws a fresh chip per step; candidates are
judged on the exact event-based numerics over 4 other chips; the report's ``--chips`` chips are
others again, the same before and after. Columns: agreement of decided samples on the nominal
chip, then over the chips: mean and 10th percentile, before -> after; seconds of adaptation.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import snnx
from snnx.adaptation import Settings, random_spikes
from snnx.adaptation.bss2 import Bss2Adapter
from snnx.targets import get_target

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(os.environ.get("SNNX_CONFORMANCE", ROOT.parent / "shared" / "conformance"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.05, 0.1])
    parser.add_argument("--calibration", type=int, default=256)
    parser.add_argument("--held-out", type=int, default=128)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--chips", type=int, default=12)
    args = parser.parse_args()
    graph = snnx.read(CONFORMANCE / "nir-paper" / "braille_noDelay_bias_zero.nir")
    adapter = Bss2Adapter(chips=args.chips)
    print(
        "| rate | nominal chip before -> after | chips mean before -> after | "
        "chips 10th pct before -> after | chips worst before -> after | seconds |"
    )
    print("|---|---|---|---|---|---|")
    for rate in args.rates:
        done = adapter.run_adaptation(
            graph,
            get_target("bss2"),
            None,
            random_spikes((12,), args.steps, args.calibration, rate, 1),
            random_spikes((12,), args.steps, args.held_out, rate, 2),
            Settings(iterations=args.iterations),
        )
        b, a = done.chips_before, done.chips_after
        print(
            f"| {rate:g} | {done.before.decided_agreement:.1%} -> "
            f"{done.after.decided_agreement:.1%} | {b.mean():.1%} -> {a.mean():.1%} | "
            f"{np.percentile(b, 10):.1%} -> {np.percentile(a, 10):.1%} | "
            f"{b.min():.1%} -> {a.min():.1%} | {done.seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
