"""Tutorial 2: the same network moved to Norse, to Equinox, trained on in JAX, and back.

The recurrent network of tutorial 1 (`task.py`), trained in snnTorch, goes through one `.nir`
file into Norse (through Norse's own NIR importer) and into an Equinox module; all three spike
exactly as snnTorch does. Training continues in JAX (`jax.grad` through the Equinox module,
surrogate gradients), and the fine-tuned network comes back out as a `.nir` file that Norse and
snnx run spike for spike as the Equinox module does.

    python examples/norse_equinox_round_trip.py --out build/tutorial2 [--figures docs/tutorials/figures]

Runs in the `peers` tier's environment (snnTorch, Norse, JAX, snnx; CI:
tests/crosscheck/peers/test_tutorial.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import task


def norse_run(graph, x: np.ndarray) -> np.ndarray:
    """The graph as Norse modules (Norse's own NIR importer, via `to_norse`), stepped over x."""
    import torch

    from snnx.exporters.peers import to_norse

    net, state, outs = to_norse(graph), None, []
    with torch.no_grad():
        for t in range(len(x)):
            out, state = net(torch.from_numpy(x[t]), state)
            outs.append(out.numpy())
    return np.stack(outs)


def differing(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.count_nonzero(np.asarray(a).reshape(b.shape) != b))


def fine_tune(model, iterations: int = 15):
    """A few steps of Adam in JAX on fresh samples, on the weights and biases only (time
    constants and thresholds stay as the chip and the frameworks expect them); the model and
    the losses."""
    import equinox as eqx
    import jax.numpy as jnp
    import optax

    def loss(model, x, y):
        counts = model(x)[0].sum(0)
        return optax.softmax_cross_entropy_with_integer_labels(counts, y).mean()

    optimiser = optax.adam(5e-3)
    state = optimiser.init(eqx.filter(model, eqx.is_array))
    step = eqx.filter_jit(eqx.filter_value_and_grad(loss))
    losses = []
    for i in range(iterations):
        x, y = task.make_task(64, seed=500 + i)
        value, grads = step(model, jnp.asarray(x), jnp.asarray(y))
        frozen = {
            node: {k: g if k in ("weight", "bias") else jnp.zeros_like(g) for k, g in f.items()}
            for node, f in grads.params.items()
        }
        grads = eqx.tree_at(lambda m: m.params, grads, frozen)
        updates, state = optimiser.update(grads, state)
        model = eqx.apply_updates(model, updates)
        losses.append(float(value))
    return model, losses


def main(out: Path, figures: Path | None) -> dict:
    import torch

    import snnx
    from snnx import from_torch, to_equinox

    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    net = task.build()
    task.train(net)
    x, labels = task.make_task(64, seed=7)
    with torch.no_grad():
        reference = task.run(net, x).numpy()
    print(
        f"1. trained in snnTorch (tutorial 1's network): accuracy {task.accuracy(reference, labels):.1%}"
    )

    snnx.write(from_torch(net, shape=(task.INPUTS,)), out / "model.nir")
    graph = snnx.read(out / "model.nir")
    in_norse = norse_run(graph, x)
    results = {"norse": differing(in_norse, reference)}
    print(f"2. Norse (its own NIR importer): {results['norse']} spikes differ from snnTorch")

    model = to_equinox(graph)
    before = np.asarray(model(x)[0])
    results["equinox"] = differing(before, reference)
    print(f"3. Equinox: {results['equinox']} spikes differ from snnTorch")

    model, losses = fine_tune(model)
    after = np.asarray(model(x)[0])
    tuned = model.graph
    snnx.write(tuned, out / "fine_tuned.nir")
    back = snnx.read(out / "fine_tuned.nir")
    results["changed_by_fine_tuning"] = differing(after, before)
    back_in_norse = norse_run(back, x)
    results["back_in_norse"] = differing(back_in_norse, after)
    results["back_in_snnx"] = differing(snnx.simulate(back, x).outputs["output"], after)
    accuracy = task.accuracy(after, labels)
    print(
        f"4. fine-tuned in JAX ({len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}): "
        f"{results['changed_by_fine_tuning']} output spikes changed, accuracy {accuracy:.1%}"
    )
    print(
        f"5. back as fine_tuned.nir: Norse differs from Equinox in {results['back_in_norse']} "
        f"spikes, snnx in {results['back_in_snnx']}"
    )
    for key in ("norse", "equinox", "back_in_norse", "back_in_snnx"):
        assert results[key] == 0, (key, results[key])
    assert results["changed_by_fine_tuning"] > 0 and accuracy >= 0.9

    if figures:
        figures.mkdir(parents=True, exist_ok=True)
        panels = {
            "snnTorch, Norse, Equinox": [(reference, "snnTorch"), (in_norse, "Norse"),
                                         (before, "Equinox")],
            "after fine-tuning in JAX": [(reference, "before"), (back_in_norse, "Norse"),
                                         (after, "Equinox")],
        }  # fmt: skip
        draw(figures / "t2_round_trip.png", panels, losses)
    results.update(accuracy_after=accuracy, losses=losses)
    (out / "summary.json").write_text(json.dumps(results, indent=2))
    return results


def draw(path: Path, panels: dict, losses: list[float], samples: int = 4) -> None:
    """Output rasters of a few samples side by side, one marker per framework (markers that
    coincide are spikes the frameworks agree on), and the fine-tuning loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 2.9), gridspec_kw={"width_ratios": [4, 4, 2]})
    styles = [("|", "#7f7f7f", 60), ("o", "#1f77b4", 22), ("x", "#d62728", 18)]
    for ax, (title, traces) in zip(axes[:2], panels.items(), strict=True):
        for (values, label), (marker, colour, size) in zip(traces, styles, strict=True):
            values = np.asarray(values).reshape(task.STEPS, -1, task.CLASSES)
            steps, batch, neurons = np.nonzero(values[:, :samples])
            face = "none" if marker == "o" else colour
            ax.scatter(steps + batch * task.STEPS, neurons, marker=marker, s=size, label=label,
                       facecolors=face, edgecolors=colour, linewidths=1)  # fmt: skip
        for b in range(1, samples):
            ax.axvline(b * task.STEPS, color="#ccc", lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"time step ({samples} samples)")
        ax.set_yticks(range(task.CLASSES))
        ax.set_ylim(-0.5, task.CLASSES - 0.5)
        ax.legend(fontsize=7, loc="upper right", ncol=3)
    axes[0].set_ylabel("output neuron")
    axes[2].plot(losses)
    axes[2].set_title("fine-tuning loss (JAX)", fontsize=9)
    axes[2].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for every file made")
    parser.add_argument("--figures", type=Path, help="also draw the tutorial's figure here")
    args = parser.parse_args()
    print(json.dumps(main(args.out, args.figures), indent=2))
