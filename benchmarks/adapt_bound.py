"""How much output class agreement weight quantization alone leaves on the NIR paper's Braille
network: the float network (its own semantics: subtractive reset, exact integration) against
the same float network with its weights and biases rounded to a target's integer grid, on the
held-out inputs of `benchmarks/adapt.py` (512 samples, seed 2, 256 steps) at each rate.

    PYTHONPATH=src .venv/bin/python benchmarks/adapt_bound.py [--rates 0.05 0.1 0.2]

No adapter is involved and nothing else changes (same float dynamics, reset, integrator, no
spike caps): only the weights move, to the nearest value on the grid. Rows:

- ``loihi grid``: per neuron population, every incoming weight and bias on one grid whose step
  is ``1 / (vThMant c)`` (what `snnx.targets.loihi.quantize` gives: the joint matrix's largest
  magnitude lands on about 254); the scale is read off the lowered program (least squares of its
  integers against the float weights), so the grid is the lowering's.
- ``xylo grid``: int8 weights per matrix (input, recurrent, readout; one power-of-two shift each,
  one integer threshold per population: `snnx.targets.xylo.quantize`), int16 biases; the scales
  are read off the lowered program the same way.
- ``N-bit``: per population, a symmetric grid whose step is ``max |w| / (2^(N-1) - 1)`` over the
  population's joint incoming weights and biases: how many bits the weights need.

Columns: agreement over the samples whose float output has one most active neuron (decided),
and the number of integers where re-rounding differs from the lowered program (a check that the
grid is the lowering's; ``-`` for the N-bit rows).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

import snnx
from snnx.adaptation import random_spikes
from snnx.adaptation.loop import chip_semantics
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.sim import Simulator, resolve_semantics
from snnx.targets import get_target
from snnx.verification import is_decided

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(os.environ.get("SNNX_CONFORMANCE", ROOT.parent / "shared" / "conformance"))

#: The Braille graph's neuron populations and the Affine nodes that feed each.
POPULATIONS = {"lif1.lif": ("fc1", "lif1.w_rec"), "lif2": ("fc2",)}

Rounding = dict[str, tuple[float, float]]  # Affine node -> (weight scale, bias scale)


def rounded(graph: Graph, scales: Rounding, low: float, high: float) -> Graph:
    """``graph`` with each listed Affine's weights as ``clip(round(s w), low, high) / s`` and its
    bias as ``round(s_b b) / s_b``."""
    out = graph.copy()
    for name, (s, s_bias) in scales.items():
        node = graph[name]
        weight = np.clip(np.round(node.weight * s), low, high) / s
        bias = np.round(node.bias * s_bias) / s_bias
        out.replace_node(name, node.replace(weight=weight.astype("f4"), bias=bias.astype("f4")))
    return out


def bits_scales(graph: Graph, bits: int) -> Rounding:
    """Per population one symmetric ``bits``-bit grid over its joint weights and biases."""
    scales: Rounding = {}
    levels = 2 ** (bits - 1) - 1
    for feeds in POPULATIONS.values():
        top = max(max(np.abs(graph[f].weight).max(), np.abs(graph[f].bias).max()) for f in feeds)
        scales.update({f: (levels / top, levels / top) for f in feeds})
    return scales


def _fit(ints: np.ndarray, floats: np.ndarray) -> float:
    """The least-squares factor ``a`` of ``ints ~ a floats``."""
    floats = np.asarray(floats, np.float64)
    return float(np.sum(ints * floats) / np.sum(floats * floats))


def loihi_scales(graph: Graph, semantics: Semantics) -> tuple[Rounding, int]:
    """The Loihi lowering's scale per population (and how many integers re-rounding misses).
    Layer 1's stored matrices: ``[fc1 | fc1 bias (bias channel)]`` and ``[w_rec | w_rec bias
    (relay)]``; layer 2's: ``[fc2 | fc2 bias (relay)]``."""
    lowered, _ = chip_semantics(graph, get_target("loihi"), semantics)
    first, second = lowered.program.layers
    n = first.size
    floats1 = np.hstack(
        [
            graph["fc1"].weight,
            graph["fc1"].bias[:, None],
            graph["lif1.w_rec"].weight,
            graph["lif1.w_rec"].bias[:, None],
        ]
    )
    assert first.weight_rec is not None
    ints1 = np.hstack([first.weight[:n], first.weight_rec[:n]])
    floats2 = np.hstack([graph["fc2"].weight, graph["fc2"].bias[:, None]])
    ints2 = second.weight[: second.size]
    a1, a2 = _fit(ints1, floats1), _fit(ints2, floats2)
    missed = int(np.sum(np.round(a1 * floats1) != ints1) + np.sum(np.round(a2 * floats2) != ints2))
    return {"fc1": (a1, a1), "lif1.w_rec": (a1, a1), "fc2": (a2, a2)}, missed


def xylo_scales(graph: Graph, semantics: Semantics) -> tuple[Rounding, int]:
    """The Xylo lowering's int8 scale per matrix and int16 scale per population's bias."""
    p = get_target("xylo").lower(graph, semantics).program
    pairs = {
        "fc1": (p.weights_in[:, :, 0], graph["fc1"].weight.T),
        "lif1.w_rec": (p.weights_rec[:, :, 0], graph["lif1.w_rec"].weight.T),
        "fc2": (p.weights_out, graph["fc2"].weight.T),
    }
    b_hidden = _fit(p.bias, graph["fc1"].bias + graph["lif1.w_rec"].bias)
    b_out = _fit(p.bias_out, graph["fc2"].bias)
    bias_scale = {"fc1": b_hidden, "lif1.w_rec": b_hidden, "fc2": b_out}
    scales, missed = {}, 0
    for name, (ints, floats) in pairs.items():
        a = _fit(ints, floats)
        missed += int(np.sum(np.clip(np.round(a * floats), -128, 127) != ints))
        scales[name] = (a, bias_scale[name])
    return scales, missed


def agreement(reference: np.ndarray, graph: Graph, semantics: Semantics, x: np.ndarray) -> float:
    """Class agreement of ``graph``'s output counts with ``reference`` counts, decided samples."""
    counts = np.asarray(Simulator(graph, semantics).forward(x)[0]["output"]).sum(0)
    keep = is_decided(reference)
    return float(np.mean((counts.argmax(-1) == reference.argmax(-1))[keep]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", nargs="+", type=float, default=[0.05, 0.1, 0.2])
    parser.add_argument("--held-out", type=int, default=512)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--bits", nargs="+", type=int, default=[6, 8, 9, 10, 12, 14, 16])
    args = parser.parse_args()
    graph = snnx.read(CONFORMANCE / "nir-paper" / "braille_noDelay_bias_zero.nir")
    semantics = resolve_semantics(graph, None)
    loihi, loihi_missed = loihi_scales(graph, semantics)
    xylo, xylo_missed = xylo_scales(graph, semantics)
    rows: list[tuple[str, Callable[[], Graph], str]] = [
        ("loihi grid", lambda: rounded(graph, loihi, -256, 254), str(loihi_missed)),
        ("xylo grid (int8)", lambda: rounded(graph, xylo, -128, 127), str(xylo_missed)),
    ]
    for bits in args.bits:
        top = 2 ** (bits - 1) - 1
        rows.append(
            (
                f"{bits}-bit",
                lambda bits=bits, top=top: rounded(graph, bits_scales(graph, bits), -top, top),
                "-",
            )
        )
    print("| weights | " + " | ".join(f"rate {r:g}" for r in args.rates) + " | integers off |")
    print("|---" * (len(args.rates) + 2) + "|")
    inputs = {r: random_spikes((12,), args.steps, args.held_out, r, 2) for r in args.rates}
    reference = {
        r: np.asarray(Simulator(graph, semantics).forward(x)[0]["output"]).sum(0)
        for r, x in inputs.items()
    }
    for label, build, missed in rows:
        variant = build()
        cells = [
            f"{agreement(reference[r], variant, semantics, inputs[r]):.1%}" for r in args.rates
        ]
        print(f"| {label} | " + " | ".join(cells) + f" | {missed} |", flush=True)


if __name__ == "__main__":
    main()
