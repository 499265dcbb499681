"""BrainScaleS-2 target on the NIR paper's Braille network: how the exact event-based numerics
agree with the discrete-time reference (nir-reference, exact integrator, dt = 0.1 ms), and how
robust the result is to fixed-pattern mismatch.

    .venv/bin/python benchmarks/bss2_agreement.py                 # tables as markdown
    .venv/bin/python benchmarks/bss2_agreement.py --batch 16 --instances 5 --json out.json

Part 1 lowers the graph under several options and reports, per layer, what `snnx verify`
reports (exact per-step agreement, spike-count correlation, spike totals) plus the output-class
agreement, spike coincidence within one step (chip spike times against the end of the
reference's step) and the share of (sample, neuron) spike counts within 20 %. Part 2 runs the
default chip program over Monte-Carlo instances of the mismatch model. Part 3 times the
simulator. Inputs: Bernoulli spikes (rate 0.1 per channel and step), a fixed seed.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import snnx
from snnx.errors import SnnxWarning
from snnx.sim import Simulator
from snnx.targets import get_target
from snnx.targets.bss2.agreement import event_trains, grid_trains, spike_agreement
from snnx.targets.bss2.mismatch import Spread, robustness
from snnx.targets.bss2.numerics import run_grid
from snnx.verification import verify

CONFIGS = {
    "ideal neuron (float weights, no refractory time)": dict(quantize=False, refractory=0.0),
    "float weights, chip's minimum refractory (40 ns)": dict(quantize=False),
    "chip: 6-bit, scale per population, 40 ns (default)": dict(),
    "chip: 6-bit, scale per projection, 40 ns": dict(scale_per="projection"),
    "chip: 6-bit per population, refractory = 1 step (0.1 us)": dict(refractory=1e-4),
}


def agreement_table(graph, x, semantics):
    target = get_target("bss2")
    rows = []
    for label, options in CONFIGS.items():
        lowered = target.lower(graph, semantics, **options)
        start = time.perf_counter()
        result = verify(graph, target, x, semantics, lowered=lowered)
        seconds = time.perf_counter() - start
        net = lowered.program.network
        chip = run_grid(net, x, capacity=None)
        ref_trains, chip_trains = [], []
        for layer in result.layers:
            pop = lowered.program.population(layer.layer)
            ref_trains += grid_trains(result.reference[layer.layer], semantics.dt)
            chip_trains += event_trains(chip["times"], chip["neurons"], pop.start, pop.size)
        spikes = spike_agreement(ref_trains, chip_trains, tolerance=semantics.dt)
        rows.append(
            {
                "config": label,
                "options": options,
                "class_agreement": result.class_agreement,
                "layers": [
                    {
                        "layer": a.layer,
                        "exact": a.exact,
                        "count_correlation": a.count_correlation,
                        "reference_spikes": a.reference_spikes,
                        "target_spikes": a.target_spikes,
                    }
                    for a in result.layers
                ],
                "spike_agreement": spikes.to_dict(),
                "verify_seconds": seconds,
            }
        )
    return rows


def robustness_table(graph, x, semantics, instances, seed):
    lowered = get_target("bss2").lower(graph, semantics)
    reference = Simulator(lowered.graph, semantics, record=["lif2"])(x).records["lif2.out"]
    rows = []
    for label, spread in [
        ("default spread (assumed: 5 % tau, 5 % weight, 3 % gain, 2 LSB)", Spread()),
        ("uniform 2 %", Spread.uniform(0.02)),
        ("uniform 5 %", Spread.uniform(0.05)),
        ("uniform 10 %", Spread.uniform(0.10)),
    ]:
        start = time.perf_counter()
        result = robustness(lowered, x, instances, spread, seed=seed, reference=reference)
        rows.append({**result.to_dict(), "spread": label, "seconds": time.perf_counter() - start})
    return rows


def speed(graph, semantics, steps, repeats=3):
    lowered = get_target("bss2").lower(graph, semantics)
    out = []
    for batch in (1, 16, 64):
        x = (np.random.default_rng(1).uniform(size=(steps, batch, 12)) < 0.1).astype(np.float32)
        run_grid(lowered.program.network, x)  # compile
        best = min(_timed(run_grid, lowered.program.network, x) for _ in range(repeats))
        out.append(
            {"batch": batch, "steps": steps, "seconds": best, "per_sample_ms": 1e3 * best / batch}
        )
    return out


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def pct(v):
    return f"{100 * v:.1f} %"


def markdown(results):
    lines = ["### Agreement with the discrete-time reference", ""]
    lines.append(
        "| configuration | class agr. | lif1 exact / corr / spikes (ref -> chip) | "
        "lif2 exact / corr / spikes (ref -> chip) | coincidence +-dt | counts within 20 % |"
    )
    lines.append("|---|---|---|---|---|---|")
    for row in results["agreement"]:
        cells = [
            f"{pct(a['exact'])} / {a['count_correlation']:.3f} / "
            f"{a['reference_spikes']:.0f} -> {a['target_spikes']:.0f}"
            for a in row["layers"]
        ]
        s = row["spike_agreement"]
        lines.append(
            f"| {row['config']} | {pct(row['class_agreement'])} | {cells[0]} | {cells[1]} | "
            f"{pct(s['coincidence'])} | {pct(s['rates_within'])} |"
        )
    lines += ["", "### Robustness under fixed-pattern mismatch (default chip program)", ""]
    lines.append(
        "| spread | class = nominal chip | class = reference | coincidence with nominal "
        "(+-dt) | counts within 20 % | output spikes |"
    )
    lines.append("|---|---|---|---|---|---|")
    for row in results["robustness"]:
        c, r = row["class_agreement_vs_nominal"], row["class_agreement_vs_reference"]
        co, ra, sp = row["coincidence_vs_nominal"], row["rates_within_margin"], row["output_spikes"]
        lines.append(
            f"| {row['spread']} | {pct(c['mean'])} +- {pct(c['std'])} | {pct(r['mean'])} +- "
            f"{pct(r['std'])} (nominal {pct(row['nominal_class_agreement_vs_reference'])}) | "
            f"{pct(co['mean'])} +- {pct(co['std'])} | {pct(ra['mean'])} | "
            f"{sp['mean']:.0f} +- {sp['std']:.0f} (nominal {row['nominal_output_spikes']}) |"
        )
    lines += ["", "### Simulator speed (event-based, float64, CPU)", ""]
    lines.append("| batch | steps | seconds per run | ms per sample |")
    lines.append("|---|---|---|---|")
    for row in results["speed"]:
        lines.append(
            f"| {row['batch']} | {row['steps']} | {row['seconds']:.2f} | {row['per_sample_ms']:.1f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="input samples (default 64)")
    parser.add_argument("--steps", type=int, default=100, help="time steps (default 100)")
    parser.add_argument("--instances", type=int, default=20, help="mismatch instances")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = parser.parse_args()
    warnings.simplefilter("ignore", SnnxWarning)
    graph = snnx.read(snnx.example_path("braille"))
    semantics = snnx.Semantics.profile("nir-reference")
    rng = np.random.default_rng(args.seed)
    x = (rng.uniform(size=(args.steps, args.batch, 12)) < 0.1).astype(np.float32)
    results = {
        "batch": args.batch,
        "steps": args.steps,
        "seed": args.seed,
        "agreement": agreement_table(graph, x, semantics),
        "robustness": robustness_table(graph, x, semantics, args.instances, args.seed),
        "speed": speed(graph, semantics, args.steps),
    }
    print(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
