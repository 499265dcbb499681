"""How well the NIR paper's CNN and Braille graphs survive float16 (the Lynxi KA200's precision):
output-class agreement with the float32 reference on random inputs, and where the spikes part.

    .venv/bin/python benchmarks/lynxi_quality.py [--batch 128] [--cnn-steps 100]
        [--braille-steps 256] [--cnn-rates 0.05 0.1 0.2] [--braille-rates 0.1 0.2 0.3] [--seed 0]

Each graph runs under the semantics it was trained with (the CNN: Sinabs; Braille: snnTorch).
For each input rate (probability of an event per input channel and step) the same random inputs
run through:

- ``float32``: snnx's reference simulator (the comparison's reference);
- ``lynxi``: the lynxi target's float16 numerics (what the TorchScript artifact computes, bit for
  bit: coefficients rounded once from float64, products summed in float32, every operation
  rounded to float16);
- ``sim-f16``: the reference simulator with ``dtype="float16"`` (coefficients computed in
  float16, XLA's own float16 arithmetic): a second, naive float16 model, for scale.

Reported per graph and rate: output-class agreement (same most active output neuron; ties go to
the lower index, as in ``snnx verify``), the same over the samples whose float32 winner is unique
(``decisive``), the fraction of exactly equal output entries, the spike-count correlation, the
exact agreement of the first hidden layer, the median step at which a sample's spikes first differ
anywhere, and seconds per run (lynxi numerics and the float32 reference, warm).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import snnx
from snnx.sim import Simulator
from snnx.targets import get_target

PAPER = Path(__file__).resolve().parents[2] / "shared/conformance/nir-paper"
GRAPHS = {
    "cnn": ("cnn_sinabs.nir", "sinabs"),
    "braille": ("braille_noDelay_bias_zero.nir", "snntorch"),
}


def classes(raster: np.ndarray) -> np.ndarray:
    """Most active output neuron per sample of ``(T, B, N)``."""
    return raster.sum(0).argmax(-1)


def decisive(raster: np.ndarray) -> np.ndarray:
    """Samples whose most active output neuron is unique (no tie at the top)."""
    counts = np.sort(raster.sum(0), axis=-1)
    return counts[:, -1] > counts[:, -2]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.sum(0).ravel().astype(np.float64), b.sum(0).ravel().astype(np.float64)
    return float(np.corrcoef(a, b)[0, 1]) if a.std() and b.std() else float("nan")


def first_flip(reference: dict, other: dict, steps: int, batch: int) -> np.ndarray:
    """Per sample: the first step at which any layer differs (``steps`` if none)."""
    differs = np.zeros((steps, batch), bool)
    for name in other:
        differs |= (reference[name] != other[name]).any(-1)
    return np.where(differs.any(0), differs.argmax(0), steps)


def timed(fn, *args):
    fn(*args)  # compile
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def measure(key: str, steps: int, batch: int, rate: float, seed: int) -> dict:
    file, profile = GRAPHS[key]
    graph = snnx.read(PAPER / file)
    semantics = snnx.Semantics.profile(profile)
    lynxi = get_target("lynxi")
    lowered = lynxi.lower(graph, semantics, steps=steps, batch=batch)
    shape = lowered.program.input_shape
    x = (np.random.default_rng(seed).uniform(size=(steps, batch, *shape)) < rate).astype(np.float32)
    nodes = [m.node for m in lowered.layers]
    reference_sim = Simulator(lowered.graph, semantics, record=nodes)
    half_sim = Simulator(lowered.graph, semantics, record=nodes, dtype="float16")
    chip, t_chip = timed(lynxi.run, lowered, x)
    ref_records, t_ref = timed(lambda v: reference_sim(v).records, x)
    half_records = half_sim(x).records
    ref = {m.name: ref_records[f"{m.node}.out"].reshape(steps, batch, -1) for m in lowered.layers}
    half = {
        m.name: half_records[f"{m.node}.out"].astype(np.float32).reshape(steps, batch, -1)
        for m in lowered.layers
    }
    out, first = lowered.output.name, lowered.layers[0].name
    sure = decisive(ref[out])
    row = {"graph": key, "rate": rate, "steps": steps, "batch": batch, "decisive": sure.mean()}
    for label, got in (("lynxi", chip), ("sim-f16", half)):
        same = classes(ref[out]) == classes(got[out])
        row[label] = {
            "class": same.mean(),
            "class_decisive": same[sure].mean() if sure.any() else float("nan"),
            "out_exact": float(np.mean(ref[out] == got[out])),
            "corr": correlation(ref[out], got[out]),
            "first_exact": float(np.mean(ref[first] == got[first])),
            "flip_median": float(np.median(first_flip(ref, got, steps, batch))),
            "ref_spikes": float(ref[out].sum()),
            "spikes": float(got[out].sum()),
        }
    row["seconds"] = {"lynxi": t_chip, "float32": t_ref}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--cnn-steps", type=int, default=100)
    parser.add_argument("--braille-steps", type=int, default=256)
    parser.add_argument("--cnn-rates", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    parser.add_argument("--braille-rates", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = [
        measure("cnn", args.cnn_steps, args.batch, rate, args.seed) for rate in args.cnn_rates
    ] + [
        measure("braille", args.braille_steps, args.batch, rate, args.seed)
        for rate in args.braille_rates
    ]
    print(
        "| graph | rate | T x B | model | class agreement | decisive samples: agreement "
        "| output exact | count corr | 1st layer exact | median first flip | output spikes "
        "(f32 / f16) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        for label in ("lynxi", "sim-f16"):
            r = row[label]
            print(
                f"| {row['graph']} | {row['rate']:g} | {row['steps']} x {row['batch']} | {label} "
                f"| {r['class']:.1%} | {row['decisive']:.0%}: {r['class_decisive']:.1%} "
                f"| {r['out_exact']:.2%} | {r['corr']:.4f} | {r['first_exact']:.4%} "
                f"| {r['flip_median']:g} | {r['ref_spikes']:g} / {r['spikes']:g} |"
            )
    print()
    print("| graph | rate | lynxi numerics (s) | float32 reference (s) |")
    print("|---|---|---|---|")
    for row in rows:
        s = row["seconds"]
        print(f"| {row['graph']} | {row['rate']:g} | {s['lynxi']:.2f} | {s['float32']:.2f} |")


if __name__ == "__main__":
    main()
