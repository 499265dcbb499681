"""Tutorial 3: a small CNN trained in snnx, deployed to SynSense Xylo and BrainScaleS-2, with
BrainScaleS-2's mismatch analysis.

A convolutional spiking network (`Conv2d -> CubaLIF -> Flatten -> Linear -> CubaLIF`) learns
to tell bars in 4x4 images apart, trained by gradient descent through snnx's own simulator
(JAX). Neither chip has a convolution engine, so the convolution is unrolled into the dense
matrix it computes (exactly: the same spikes). Then:

- Xylo Audio 2: `snnx.compile` writes Rockpool's specification, `snnx.verify` compares Xylo's
  integer numerics with the reference, and Rockpool's own XyloSim, loaded from the file, spikes
  exactly as snnx's Xylo numerics do;
- BrainScaleS-2: `snnx.compile` writes the experiment, `snnx.verify` compares the chip's
  continuous-time dynamics with the reference, and 20 chip instances of the analog mismatch
  model (`--mismatch 20`) show how robust the decisions are.

    python examples/cnn_xylo_bss2.py --out build/tutorial3 [--figures docs/tutorials/figures]

Runs in the `xylo` tier's environment (Rockpool 3.1, XyloSim, snnx; CI:
tests/crosscheck/xylo/test_tutorial.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIDE, CHANNELS, CLASSES, STEPS = 4, 4, 3, 30
SEMANTICS = dict(dt=1e-3, integrator="exact", reset="subtract")


def make_task(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """4x4 images of a horizontal bar, a vertical bar or a diagonal, as spike trains
    ``(STEPS, samples, 1, 4, 4)``: lit pixels fire with probability 0.5 per step, others 0.03."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, samples)
    images = np.zeros((samples, SIDE, SIDE))
    for i, label in enumerate(labels):
        k = rng.integers(0, SIDE)
        if label == 0:
            images[i, k, :] = 1
        elif label == 1:
            images[i, :, k] = 1
        else:
            images[i] = np.eye(SIDE)[:, :: rng.choice([1, -1])]
    rates = np.where(images > 0, 0.5, 0.03)[None, :, None]
    x = (rng.random((STEPS, samples, 1, SIDE, SIDE)) < rates).astype(np.float32)
    return x, labels


def neurons(shape) -> dict:
    """CubaLIF fields: tau_mem 8 ms, tau_syn 4 ms (inside BrainScaleS-2's calibrated ranges at
    its 1000-fold speed-up), threshold 1."""
    full = lambda v: np.full(shape, v)  # noqa: E731
    return dict(tau_syn=full(4e-3), tau_mem=full(8e-3), r=full(1.0), v_leak=full(0.0),
                v_threshold=full(1.0), v_reset=full(0.0), w_in=full(1.0))  # fmt: skip


def cnn(conv: np.ndarray, fc: np.ndarray):
    """The convolutional network with these weights."""
    from snnx.ir import Graph, Node

    hidden = (CHANNELS, SIDE, SIDE)
    return Graph.sequential(
        {
            "input": Node("Input", shape=[1, SIDE, SIDE]),
            "conv": Node(
                "Conv2d",
                weight=conv,
                bias=np.zeros(CHANNELS),
                stride=1,
                padding=1,
                dilation=1,
                groups=1,
                input_shape=np.array([SIDE, SIDE]),
            ),
            "lif1": Node("CubaLIF", **neurons(hidden)),
            "flat": Node("Flatten", start_dim=0, end_dim=-1),
            "fc": Node("Linear", weight=fc),
            "lif2": Node("CubaLIF", **neurons((CLASSES,))),
            "output": Node("Output", shape=[CLASSES]),
        }
    )


def unrolled(graph):
    """The same network with its convolution as the dense matrix it computes: column ``j`` is
    the convolution of the ``j``-th unit image (snnx's own convolution op, so nothing is
    re-derived). Inputs and hidden neurons are flattened in C order."""
    import jax.numpy as jnp

    from snnx.ir import Graph, Node
    from snnx.sim.ops.conv import CONV

    conv = graph["conv"]
    basis = jnp.eye(SIDE * SIDE).reshape(-1, 1, SIDE, SIDE)
    ctx = type("Ctx", (), {"node": conv, "channels_last": False})
    params = {"weight": jnp.asarray(conv.weight), "bias": jnp.zeros(CHANNELS)}
    dense = np.asarray(CONV.apply(params, basis, ctx), np.float64).reshape(SIDE * SIDE, -1).T
    hidden = CHANNELS * SIDE * SIDE
    return Graph.sequential(
        {
            "input": Node("Input", shape=[SIDE * SIDE]),
            "conv": Node("Linear", weight=dense),
            "lif1": Node("CubaLIF", **neurons((hidden,))),
            "fc": Node("Linear", weight=np.asarray(graph["fc"].weight)),
            "lif2": Node("CubaLIF", **neurons((CLASSES,))),
            "output": Node("Output", shape=[CLASSES]),
        }
    )


def train(iterations: int = 60) -> tuple:
    """Adam (written out: six lines) on the cross-entropy of the output spike counts, through
    snnx's differentiable simulator; only the weights learn."""
    import jax
    import jax.numpy as jnp

    from snnx import Semantics
    from snnx.sim import Simulator

    rng = np.random.default_rng(0)
    graph = cnn(rng.normal(0, 2.0, (CHANNELS, 1, 3, 3)), rng.normal(0, 1.0, (CLASSES, 64)))
    sim = Simulator(graph, Semantics(**SEMANTICS))
    weights = {"conv": sim.params["conv"]["weight"], "fc": sim.params["fc"]["weight"]}

    def loss(w, x, y):
        params = {**sim.params, "conv": {**sim.params["conv"], "weight": w["conv"]},
                  "fc": {**sim.params["fc"], "weight": w["fc"]}}  # fmt: skip
        counts = sim.run(x, params)[0]["output"].sum(0)
        return -jnp.mean(jax.nn.log_softmax(counts)[jnp.arange(len(y)), y])

    grad = jax.jit(jax.value_and_grad(loss))
    m = jax.tree.map(jnp.zeros_like, weights)
    v = jax.tree.map(jnp.zeros_like, weights)
    losses = []
    for step in range(1, iterations + 1):
        x, y = make_task(32, seed=1000 + step)
        value, g = grad(weights, jnp.asarray(x), jnp.asarray(y))
        m = jax.tree.map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = jax.tree.map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
        first, second = 1 - 0.9**step, 1 - 0.999**step  # Adam's bias corrections
        weights = jax.tree.map(
            lambda w, a, b, c=first, d=second: w - 0.05 * (a / c) / (jnp.sqrt(b / d) + 1e-8),
            weights, m, v,
        )  # fmt: skip
        losses.append(float(value))
    trained = cnn(np.asarray(weights["conv"], np.float64), np.asarray(weights["fc"], np.float64))
    trained.semantics = Semantics(**SEMANTICS)
    return trained, losses


def xylosim_outputs(spec_file: Path, x: np.ndarray) -> np.ndarray:
    """Rockpool's XyloSim, loaded from the compiled file, on each sample's input events."""
    sys.path.insert(0, str(ROOT / "tests" / "crosscheck" / "xylo"))
    # Rockpool 3.1 imports samna (SynSense's hardware library, not installable here) unguarded
    # in two modules; rockpool_stub stands in for exactly those two, with Rockpool's own shims.
    from rockpool_stub import xylo_sims

    with np.load(spec_file, allow_pickle=False) as data:
        spec = {k: data[k] for k in data.files}
    sim = xylo_sims()["syns61201"].from_specification(**spec)
    outputs = []
    for b in range(x.shape[1]):
        sim.reset_state()
        out, _, _ = sim(x[:, b].reshape(len(x), -1).astype(int), record=False)
        outputs.append(np.asarray(out))
    return np.stack(outputs, axis=1)


def main(out: Path, figures: Path | None) -> dict:
    import snnx
    from snnx.targets import get_target
    from snnx.targets.xylo.numerics import simulate

    out.mkdir(parents=True, exist_ok=True)
    graph, losses = train()
    snnx.write(graph, out / "cnn.nir")
    x, labels = make_task(48, seed=7)
    reference = snnx.simulate(graph, x).outputs["output"]
    accuracy = float(np.mean(reference.sum(0).argmax(-1) == labels))
    print(
        f"1. trained in snnx (JAX): accuracy {accuracy:.1%}, loss {losses[0]:.2f} -> {losses[-1]:.2f}"
    )
    assert accuracy >= 0.85, accuracy

    dense = unrolled(graph)
    dense.semantics = graph.semantics
    snnx.write(dense, out / "dense.nir")
    flat_x = x.reshape(STEPS, x.shape[1], -1)
    same = int(np.count_nonzero(snnx.simulate(dense, flat_x).outputs["output"] != reference))
    print(f"2. convolution unrolled into a 64x16 matrix: {same} output spikes differ")
    assert same == 0

    results = {"accuracy": accuracy, "unrolled_differing": same}
    xylo = snnx.compile(dense, "xylo", output=out / "xylo")
    checked = snnx.verify(dense, get_target("xylo"), flat_x, lowered=xylo.lowered)
    ours = simulate(xylo.lowered.program, flat_x)["out_spikes"]
    theirs = xylosim_outputs(out / "xylo" / "xylo_spec.npz", flat_x)
    results.update(
        xylo_class_agreement=checked.class_agreement,
        xylosim_differing=int(np.count_nonzero(ours != theirs)),
    )
    print(
        f"3. Xylo Audio 2: class agreement with the reference {checked.class_agreement:.1%}; "
        f"Rockpool's XyloSim differs from snnx's Xylo numerics in {results['xylosim_differing']} "
        f"of {theirs.size} output entries"
    )
    assert results["xylosim_differing"] == 0 and checked.class_agreement >= 0.8

    bss2 = get_target("bss2")
    lowered = snnx.compile(dense, bss2, output=out / "bss2").lowered
    chip = snnx.verify(dense, bss2, flat_x, lowered=lowered)
    reference_out = chip.reference[lowered.output.name]
    spread = bss2.robustness(lowered, flat_x, 20, reference=reference_out)
    summary = spread.to_dict()
    results.update(
        bss2_class_agreement=chip.class_agreement,
        mismatch_class_agreement_mean=summary["class_agreement_vs_nominal"]["mean"],
        mismatch_class_agreement_min=summary["class_agreement_vs_nominal"]["min"],
    )
    print(
        f"4. BrainScaleS-2: class agreement with the reference {chip.class_agreement:.1%}; over "
        f"20 mismatched chip instances {summary['class_agreement_vs_nominal']['mean']:.1%} on "
        f"average agree with the nominal chip (worst {summary['class_agreement_vs_nominal']['min']:.1%})"
    )
    assert chip.class_agreement >= 0.8
    assert results["mismatch_class_agreement_mean"] >= 0.7

    if figures:
        figures.mkdir(parents=True, exist_ok=True)
        draw(figures, graph, x, labels, losses, spread)
    (out / "summary.json").write_text(json.dumps(results, indent=2))
    return results


def draw(figures: Path, graph, x, labels, losses, spread) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnx.reports.drawing import draw as draw_graph

    draw_graph(graph, figures / "t3_graph.png")
    fig, axes = plt.subplots(1, 5, figsize=(11, 2.4))
    for i, ax in enumerate(axes[:4]):
        ax.imshow(x[:, i, 0].mean(0), cmap="Greys", vmin=0, vmax=0.6)
        ax.set_title(f"class {labels[i]} (spike rate)", fontsize=8)
        ax.axis("off")
    axes[4].plot(losses)
    axes[4].set_title("training loss (snnx, JAX)", fontsize=8)
    fig.tight_layout()
    fig.savefig(figures / "t3_task.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.hist(np.asarray(spread.class_vs_nominal) * 100, bins=10, range=(0, 100), color="#4c72b0")
    ax.set_xlabel("output classes equal to the nominal chip's (%)")
    ax.set_ylabel("chip instances")
    ax.set_title("BrainScaleS-2: 20 mismatched instances", fontsize=9)
    fig.tight_layout()
    fig.savefig(figures / "t3_mismatch.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for every file made")
    parser.add_argument("--figures", type=Path, help="also draw the tutorial's figures here")
    args = parser.parse_args()
    print(json.dumps(main(args.out, args.figures), indent=2))
