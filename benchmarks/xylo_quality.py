"""How well the Braille graph survives lowering to Xylo: output-class agreement with the float
reference (snnTorch semantics, as it was trained) on random inputs, and where the agreement goes.

    .venv/bin/python benchmarks/xylo_quality.py [--batch 256] [--steps 256] [--rates 0.02 0.05 0.1 0.2]
    .venvs/xylo/bin/python benchmarks/xylo_quality.py --speed   # also time Rockpool's XyloSim

For each input rate (probability of an event per channel and step) the same random inputs run
through:

- ``reference``: snnx's simulator under the snnTorch profile (the graph's own semantics);
- ``subtract``: the same, but reset by subtracting the threshold and firing at v >= threshold
  (Xylo's rule; still one spike per step);
- ``multi-spike``: and up to 31 spikes per step (Xylo's hidden neurons; its outputs keep 1);
- ``xylo-float``: Xylo's equations in floating point: the chip's bit-shift decays, the lowered
  weights, biases in the voltage, caps 31 / 1 (what lowering builds, before integers);
- ``xylo``: Xylo's integer numerics on the lowered program (what the chip computes: the
  cross-check tier shows it equals Rockpool's XyloSim spike for spike).

Each line gives the output-class agreement with ``reference`` (same most active output neuron
per sample) and the correlation of per-(sample, output) spike counts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import snnx
from snnx.sim import Simulator
from snnx.targets import get_target
from snnx.targets.xylo.decay import chip_decay

BRAILLE = (
    Path(__file__).resolve().parents[2]
    / "shared/conformance/nir-paper/braille_noDelay_bias_zero.nir"
)


def agreement(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Class agreement and spike-count correlation of two output rasters ``(T, B, N)``."""
    a, b = reference.sum(0), other.sum(0)
    same = float(np.mean(a.argmax(-1) == b.argmax(-1)))
    r = float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) if a.std() and b.std() else float("nan")
    return same, r


def float_xylo(form, inputs: np.ndarray, latency: int) -> np.ndarray:
    """Xylo's step in float64 (no rounding, no saturation): output spikes ``(T, B, Nout)``,
    shifted back by the output's latency."""
    steps, batch = inputs.shape[:2]
    a_syn = chip_decay(form.dash_syn[:, : form.w_in.shape[2]])
    a_mem, a_syn_o, a_mem_o = (
        chip_decay(d) for d in (form.dash_mem, form.dash_syn_out, form.dash_mem_out)
    )
    i = np.zeros((batch, *a_syn.shape))
    v = np.zeros((batch, form.w_rec.shape[0]))
    i_o = np.zeros((batch, form.w_out.shape[1]))
    v_o = np.zeros_like(i_o)
    s = np.zeros_like(v)
    out = []
    for t in range(steps + latency):
        x = inputs[t] if t < steps else np.zeros_like(inputs[0])
        i = a_syn * (
            i + np.einsum("bc,cns->bns", x, form.w_in) + np.einsum("bk,kns->bns", s, form.w_rec)
        )
        i_o = a_syn_o * (i_o + s @ form.w_out)
        v = a_mem * v + i.sum(-1) + form.bias
        n = np.clip(np.floor(v / form.threshold), 0, 31)
        v = v - n * form.threshold
        v_o = a_mem_o * v_o + i_o + form.bias_out
        m = (v_o >= form.threshold_out).astype(float)
        v_o = v_o - m * form.threshold_out
        s = n
        out.append(m)
    return np.array(out)[latency:]


def run(batch: int, steps: int, rates: list[float], speed: bool) -> None:
    graph = snnx.read(BRAILLE)
    flat = graph.flatten()
    snntorch = snnx.Semantics.profile("snntorch")
    variants = {
        "subtract": snntorch.replace(reset="subtract", threshold=">="),
        "multi-spike": snntorch.replace(reset="subtract", threshold=">=", max_spikes=31),
    }
    target = get_target("xylo")
    lowered = target.lower(graph, snntorch)
    out = lowered.output
    print(f"Braille -> {target.name}: {batch} samples x {steps} steps per rate")
    for note in lowered.notes:
        print(f"  note: {note}")
    header = f"{'rate':>5}  {'variant':<12} {'class agreement':>16} {'count corr':>11}"
    print(header)
    rng = np.random.default_rng(0)
    for rate in rates:
        inputs = (rng.uniform(size=(steps, batch, 12)) < rate).astype(np.float32)
        ref = Simulator(flat, snntorch, record=["lif2"])(inputs).records["lif2.out"]
        rows = {}
        for name, semantics in variants.items():
            rows[name] = Simulator(flat, semantics, record=["lif2"])(inputs).records["lif2.out"]
            if name == "multi-spike":  # Xylo's outputs fire at most once per step
                rows[name] = np.minimum(rows[name], 1)
        rows["xylo-float"] = float_xylo(lowered.program.float_form, inputs, out.latency)
        padded = np.concatenate([inputs, np.zeros((out.latency, *inputs.shape[1:]), np.float32)])
        rows["xylo"] = target.run(lowered, padded)[out.name][out.latency :]
        for name, spikes in rows.items():
            same, r = agreement(ref, spikes)
            print(f"{rate:>5}  {name:<12} {same:>16.1%} {r:>11.3f}")
    if speed:
        time_numerics(lowered, batch, steps)


def time_numerics(lowered, batch: int, steps: int) -> None:
    """Seconds per batch: snnx's JAX numerics against Rockpool's XyloSim (one sample at a time)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/crosscheck/xylo"))
    import rockpool_stub

    from snnx.targets.xylo.artifact import sim_spec
    from snnx.targets.xylo.numerics import simulate

    rng = np.random.default_rng(1)
    raster = (rng.uniform(size=(steps, batch, 12)) < 0.1).astype(np.int64)
    simulate(lowered.program, raster)  # compile
    start = time.perf_counter()
    simulate(lowered.program, raster)
    jax_s = time.perf_counter() - start
    sim = rockpool_stub.xylo_sims()["syns61201"].from_specification(**sim_spec(lowered.program))
    start = time.perf_counter()
    for b in range(batch):
        sim.reset_state()
        sim(raster[:, b])
    xylosim_s = time.perf_counter() - start
    print(
        f"speed, {batch} x {steps} steps: snnx JAX numerics {jax_s:.3f} s, XyloSim {xylosim_s:.3f} s "
        f"(XyloSim / JAX = {xylosim_s / jax_s:.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2])
    parser.add_argument("--speed", action="store_true", help="time XyloSim too (needs Rockpool)")
    args = parser.parse_args()
    run(args.batch, args.steps, args.rates, args.speed)
