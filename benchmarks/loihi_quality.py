"""Conversion quality of the Loihi build: how often it picks the float reference's output class.

    .venv/bin/python benchmarks/loihi_quality.py [--batch 512] [--steps 256]

The NIR paper's Braille network (``braille_noDelay_bias_zero.nir``, CubaLIF 12-38-7 with
recurrence) under the ``snntorch`` profile (dt = 1e-4), on random spike inputs at several rates:
the reference simulator (float32) against snnx's bit-exact Loihi numerics of the compiled
``model.net``. Per rate: class agreement (the most active output neuron is the same), the
share of samples whose reference top two outputs are within one spike (where any
perturbation can flip the class), exact spike agreement per layer and spike-count correlation
of the output layer. Then the conformance LIF's spike steps, and the output biases in units of
the 8-bit grid, which explain the low-rate figures.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import snnx
from snnx.targets import get_target
from snnx.verification import verify

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(os.environ.get("SNNX_CONFORMANCE", ROOT.parent / "shared" / "conformance"))
RATES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also rerun rates 0.05 and 0.1 with hypothetical wider weights (not Loihi)",
    )
    args = parser.parse_args()

    path = CONFORMANCE / "nir-paper" / "braille_noDelay_bias_zero.nir"
    graph = snnx.read(path)
    semantics = snnx.Semantics.profile("snntorch")
    target = get_target("loihi")
    lowered = target.lower(graph, semantics)
    print(
        f"{path.name}, snntorch profile (dt={semantics.dt:g} s), {args.batch} samples x "
        f"{args.steps} steps per rate, seed {args.seed}"
    )
    print(
        f"{'rate':>5} {'class agreement':>16} {'near ties':>10} {'exact L1':>9} "
        f"{'exact L2':>9} {'count corr L2':>14} {'seconds':>8}"
    )
    for rate in RATES:
        rng = np.random.default_rng(args.seed)
        x = (rng.uniform(size=(args.steps, args.batch, 12)) < rate).astype(np.float32)
        start = time.perf_counter()
        result = verify(graph, target, x, semantics, lowered=lowered)
        seconds = time.perf_counter() - start
        counts = np.sort(result.reference[lowered.output.name].sum(axis=0), axis=1)
        near = float(np.mean(counts[:, -1] - counts[:, -2] <= 1))
        first, second = result.layers
        print(
            f"{rate:>5.2f} {result.class_agreement:>16.2%} {near:>10.1%} {first.exact:>9.2%} "
            f"{second.exact:>9.2%} {second.count_correlation:>14.3f} {seconds:>8.1f}"
        )

    lif = snnx.read(CONFORMANCE / "nir-paper" / "lif_norse.nir")
    lif_lowered = target.lower(lif, semantics)
    column = np.loadtxt(CONFORMANCE / "nir-paper" / "lif_norse.csv", delimiter=",")[:, 0]
    out = target.run(lif_lowered, column.reshape(-1, 1, 1))
    layer = lif_lowered.layers[0]
    steps = (np.flatnonzero(out[layer.name][:, 0, 0]) - layer.latency).tolist()
    print(
        f"\nconformance LIF (lif_norse.nir): Loihi spikes at reference steps {steps} "
        "(paper: 460, 510, 710, 760)"
    )

    fc2 = np.asarray(graph["fc2"].bias, np.float64)
    threshold = lowered.program.layers[1].threshold
    order = np.argsort(fc2)[::-1]
    print(
        f"\noutput biases (fc2) on lif2's grid (vThMant={threshold}: one step = 1/{threshold} "
        "of the threshold):"
    )
    for k in order:
        print(f"  output {k}: bias {fc2[k]:.4f} = {fc2[k] * threshold:6.2f} steps")
    for note in lowered.notes:
        print(f"note: {note}")
    if args.what_if:
        what_if(graph, semantics, args)


def what_if(graph, semantics, args) -> None:
    """The same comparison if Loihi's weights had more bits (a diagnostic: such files would not
    run on Loihi): the quantizer's range widened, netx's weight path taken as exact."""
    from snnx.targets.loihi import lower as lowering
    from snnx.targets.loihi import quantize, weights

    original = (quantize.weight_range, weights.effective_dense, weights.effective_dense_rec)
    print("\nwhat if the weights had more bits (hypothetical, not Loihi):")
    try:
        weights.effective_dense = lambda w: np.asarray(w).astype(np.int64)
        weights.effective_dense_rec = lambda w, r: (
            np.asarray(w).astype(np.int64),
            np.asarray(r).astype(np.int64),
        )
        for bits in (8, 10, 12, 14):
            top = (1 << bits) - 2
            quantize.weight_range = lambda q, top=top, **_: (top, top, 1)
            lowering.quantize = quantize.quantize
            lowered = get_target("loihi").lower(graph, semantics)
            line = []
            for rate in (0.05, 0.1):
                rng = np.random.default_rng(args.seed)
                x = (rng.uniform(size=(args.steps, args.batch, 12)) < rate).astype(np.float32)
                result = verify(graph, get_target("loihi"), x, semantics, lowered=lowered)
                line.append(f"rate {rate}: {result.class_agreement:.2%}")
            thresholds = [layer.threshold for layer in lowered.program.layers]
            print(f"  {bits:>2}-bit weights (vThMant {thresholds}): {', '.join(line)}")
    finally:
        quantize.weight_range, weights.effective_dense, weights.effective_dense_rec = original


if __name__ == "__main__":
    main()
