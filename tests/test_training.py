"""Training through the simulator: gradients for every surrogate, checkpointing, and a tiny
network learning synthetic Randman data (Zenke & Vogels 2021) to over 90 % held-out accuracy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import snnx
from snnx.ir import Graph, Node
from snnx.sim import Simulator
from snnx.sim.surrogate import SURROGATES, spike_function


def randman(classes, neurons, samples, steps, manifold_seed, sample_seed, order=3):
    """Each class a random smooth 1-d manifold in neuron space: neuron i of class c fires once, at
    time f_ci(u) = sum_k a_cik sin(2 pi (k b_cik u + p_cik)) / k, for a latent u ~ U(0, 1)."""
    rng = np.random.default_rng(manifold_seed)
    amp = rng.uniform(size=(classes, neurons, order)) / np.arange(1, order + 1)
    freq = rng.uniform(size=(classes, neurons, order))
    phase = rng.uniform(size=(classes, neurons, order))
    draw = np.random.default_rng(sample_seed)
    labels = draw.integers(0, classes, samples)
    u = draw.uniform(size=samples)
    k = np.arange(1, order + 1)
    value = (
        amp[labels] * np.sin(2 * np.pi * (k * freq[labels] * u[:, None, None] + phase[labels]))
    ).sum(-1)
    bound = amp.sum(-1)[labels]
    times = ((value + bound) / (2 * bound) * (steps - 1)).round().astype(int)
    raster = np.zeros((steps, samples, neurons), np.float32)
    raster[times, np.arange(samples)[:, None], np.arange(neurons)] = 1.0
    return raster, labels


def classifier(n_in, hidden, classes, seed=1) -> Graph:
    rng = np.random.default_rng(seed)
    full = np.full
    return Graph.sequential(
        {
            "in": Node("Input", shape=[n_in]),
            "fc1": Node(
                "Affine", weight=rng.normal(0, n_in**-0.5, (hidden, n_in)), bias=np.zeros(hidden)
            ),
            "lif": Node(
                "LIF",
                tau=full(hidden, 1e-2),
                r=full(hidden, 10.0),
                v_leak=full(hidden, 0.0),
                v_threshold=full(hidden, 1.0),
            ),
            "fc2": Node(
                "Affine",
                weight=rng.normal(0, hidden**-0.5, (classes, hidden)),
                bias=np.zeros(classes),
            ),
            "li": Node(
                "LI", tau=full(classes, 2e-2), r=full(classes, 20.0), v_leak=full(classes, 0.0)
            ),
            "out": Node("Output", shape=[classes]),
        }
    )


def test_network_learns_randman(tmp_path):
    classes, neurons, steps = 4, 20, 60
    x_train, y_train = randman(classes, neurons, 1024, steps, manifold_seed=0, sample_seed=1)
    x_test, y_test = randman(classes, neurons, 512, steps, manifold_seed=0, sample_seed=2)
    sim = Simulator(classifier(neurons, 64, classes), snnx.Semantics(dt=1e-3))
    weights = {k: v for k, v in sim.params.items() if k in ("fc1", "fc2")}

    def logits(p, x):
        outputs, _ = sim.run(x, {**sim.params, **p})
        return outputs["out"].max(axis=0)  # the readout's peak voltage per class

    def loss(p, x, y):
        return optax.softmax_cross_entropy_with_integer_labels(logits(p, x), y).mean()

    optimizer = optax.adam(5e-3)
    state = optimizer.init(weights)

    @jax.jit
    def update(p, s, x, y):
        grads = jax.grad(loss)(p, x, y)
        changes, s = optimizer.update(grads, s)
        return optax.apply_updates(p, changes), s

    before = (np.asarray(logits(weights, x_test)).argmax(-1) == y_test).mean()
    for _ in range(8):
        for start in range(0, len(y_train), 64):
            weights, state = update(
                weights, state, x_train[:, start : start + 64], y_train[start : start + 64]
            )
    accuracy = (np.asarray(logits(weights, x_test)).argmax(-1) == y_test).mean()
    assert before < 0.6 and accuracy > 0.9, (before, accuracy)
    snnx.write(sim.graph({**sim.params, **weights}), tmp_path / "trained.nir")
    reloaded = Simulator(snnx.read(tmp_path / "trained.nir"), snnx.Semantics(dt=1e-3))
    again = reloaded(x_test).outputs["out"].max(axis=0).argmax(-1)
    assert (again == y_test).mean() == accuracy


@pytest.mark.parametrize("kind", sorted(SURROGATES))
def test_surrogate_gradient_shapes(kind):
    spike = spike_function(kind, slope=4.0)
    x = jnp.linspace(-1, 1, 9)
    grads = jax.vmap(jax.grad(spike))(x)
    expected = {
        "fast-sigmoid": 1 / (1 + 4 * jnp.abs(x)) ** 2,
        "arctan": 1 / (1 + (jnp.pi * 4 * x / 2) ** 2),
        "triangle": jnp.maximum(0, 1 - 4 * jnp.abs(x)),
    }[kind]
    np.testing.assert_allclose(grads, expected, rtol=1e-6)
    assert spike(x).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]


@pytest.mark.parametrize("kind", sorted(SURROGATES))
def test_gradients_reach_every_parameter_and_checkpointing_keeps_them(kind, nir_paper):
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    x = (np.random.default_rng(0).uniform(size=(60, 4, 12)) < 0.3).astype(np.float32)
    grads = []
    for checkpoint in (False, True):
        sim = Simulator(braille, "snntorch-nir", surrogate=kind, checkpoint=checkpoint)

        def loss(p, sim=sim):
            outputs, _ = sim.run(x, p)
            return jnp.mean((outputs["output"].sum(0) - 3.0) ** 2)

        grads.append(jax.grad(loss)(sim.params))
    for node in ("fc1", "lif1.w_rec", "fc2"):
        assert float(jnp.abs(grads[0][node]["weight"]).sum()) > 0
    assert float(jnp.abs(grads[0]["lif1.lif"]["tau_mem"]).sum()) > 0
    # The same gradients up to float32 rounding, whose error scales with the largest terms of a
    # parameter's gradient sum, not with the (sometimes nearly cancelling) result.
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(
            a, b, rtol=1e-4, atol=1e-6 + 1e-5 * float(jnp.abs(b).max())
        ),
        *grads,
    )


def test_gradients_flow_through_convolutions_and_pooling(nir_paper):
    """The N-MNIST CNN (Conv2d, IF, SumPool2d, Flatten, Affine) under Sinabs' multi-spike rule."""
    cnn = snnx.read(nir_paper / "cnn_sinabs.nir")
    x = (np.random.default_rng(1).uniform(size=(8, 2, 2, 34, 34)) < 0.2).astype(np.float32)
    sim = Simulator(cnn, "sinabs-nir")

    def loss(p):
        outputs, _ = sim.run(x, p)
        return sum(jnp.sum(v**2) for v in outputs.values())

    grads = jax.grad(loss)(sim.params)
    weighted = [n for n, p in sim.params.items() if "weight" in p]
    assert len(weighted) == 5
    for node in weighted:
        assert np.isfinite(grads[node]["weight"]).all()
        assert float(jnp.abs(grads[node]["weight"]).sum()) > 0, node


@pytest.mark.parametrize("pool", ["SumPool2d", "AvgPool2d"])
def test_pooling_gradient_counts_the_windows_covering_each_pixel(pool):
    """d/dx sum(pool(x)) at a pixel is the number of windows holding it (over their size, avg)."""
    graph = Graph()
    graph.add_node("in", Node("Input", shape=np.array([1, 4, 4])))
    graph.add_node(
        "pool",
        Node(pool, kernel_size=np.array([3, 3]), stride=np.array([1, 1]), padding=np.array([1, 1])),
    )
    graph.add_node("out", Node("Output", shape=np.array([1, 4, 4])))
    graph.add_edge("in", "pool")
    graph.add_edge("pool", "out")
    sim = Simulator(graph, snnx.Semantics(dt=1.0))
    grad = jax.grad(lambda x: sim.run(x)[0]["out"].sum())(jnp.ones((1, 1, 1, 4, 4)))
    per_axis = np.array([2, 3, 3, 2])  # windows of 3 at stride 1, padding 1, over 4 pixels
    expected = np.outer(per_axis, per_axis) / (9 if pool == "AvgPool2d" else 1)
    np.testing.assert_allclose(grad[0, 0, 0], expected, rtol=1e-6)
