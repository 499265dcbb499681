"""Compiler passes on the NIR paper's graphs: node counts through -O0/-O1/-O2, and how well the
quantized graphs agree with the float ones on random spike inputs.

    python benchmarks/passes_report.py [--samples 64] [--steps 200] [--rates 0.05 0.2]

Agreement is measured on the output layer: exact spikes (the fraction of (step, sample, neuron)
entries that match) and output classes (the most active output neuron per sample). Random inputs
give undecided outputs (the margin column: the median gap between the two most active outputs,
relative to the top one), where any perturbation can swap the class; denser inputs decide more.
Quantization is post-training.
"""

from __future__ import annotations

import argparse
import datetime
import os
from pathlib import Path

import numpy as np

import snnx
from snnx.passes import optimize
from snnx.sim import simulate

PAPER = (
    Path(
        os.environ.get(
            "SNNX_CONFORMANCE",
            Path(__file__).resolve().parents[1].parent / "shared" / "conformance",
        )
    )
    / "nir-paper"
)
GRAPHS = {
    "cnn_sinabs": ("cnn_sinabs.nir", "sinabs"),
    "braille": ("braille_noDelay_bias_zero.nir", "snntorch"),
}
QUANTIZATIONS = {
    "8-bit per tensor": {"bits": 8},
    "8-bit per channel": {"bits": 8, "per": "channel"},
    "6-bit per tensor": {"bits": 6},
    "4-bit per tensor": {"bits": 4},
    "loihi preset": {"preset": "loihi"},
    "xylo preset": {"preset": "xylo"},
    "bss2 preset": {"preset": "bss2"},
    "lynxi preset (float16)": {"preset": "lynxi"},
}


def nodes(graph) -> int:
    return sum(1 for _, node in graph.walk() if node.type != "NIRGraph")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.2])
    args = parser.parse_args()
    print(
        f"snnx {snnx.__version__}, {datetime.date.today()}, {args.samples} samples x {args.steps} steps"
    )
    print("\n| graph | O0 | O1 | O2 |\n|---|---|---|---|")
    for name, (file, profile) in GRAPHS.items():
        graph = snnx.read(PAPER / file)
        semantics = snnx.Semantics.profile(profile)
        counts = [
            nodes(optimize(graph, level=level, semantics=semantics)[0])
            for level in ("O0", "O1", "O2")
        ]
        print(f"| {name} | {' | '.join(map(str, counts))} |")
    print("\n| graph | input rate | margin | quantization | spike agreement | class agreement |")
    print("|---|---|---|---|---|---|")
    for name, (file, profile) in GRAPHS.items():
        graph = snnx.read(PAPER / file)
        semantics = snnx.Semantics.profile(profile)
        shape = graph.check()[graph.inputs[0]].output
        for rate in args.rates:
            rng = np.random.default_rng(0)
            x = (rng.uniform(size=(args.steps, args.samples, *shape)) < rate).astype(np.float32)
            reference = simulate(graph, x, semantics).outputs["output"]
            counts = np.sort(reference.sum(0), axis=-1)
            margin = np.median((counts[:, -1] - counts[:, -2]) / np.maximum(counts[:, -1], 1))
            for label, options in QUANTIZATIONS.items():
                quantized, _ = optimize(graph, ["quantize"], semantics=semantics, options=options)
                out = simulate(quantized, x, semantics).outputs["output"]
                spikes = (out == reference).mean()
                classes = (out.sum(0).argmax(-1) == reference.sum(0).argmax(-1)).mean()
                print(
                    f"| {name} | {rate} | {margin:.1%} | {label} | {spikes:.2%} | {classes:.2%} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
