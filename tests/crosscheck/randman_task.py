"""A recurrent CubaLIF network trained here on Randman (`snnx.datasets.randman`), the float
reference for the adaptation tiers (Lava, XyloSim) and for ``benchmarks/randman.py``.

``trained(seed)`` builds the Randman task of that seed (5 classes, 16 channels: the inputs Xylo
has; manifolds of dimension 2; spikes in the first ``WINDOW`` of ``STEPS`` steps), trains a
16-40(recurrent)-5 CubaLIF network on its training samples with snnx's differentiable simulator
(surrogate gradients, the output's spike counts as logits, penalties on silent or saturated
outputs and on busy hidden neurons) and returns the trained graph with its data, in some 10 s.
The network is trained under snnTorch's semantics (reset by subtraction, exact integration),
which Loihi cannot express.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import snnx
from snnx.adaptation import Adapted, Settings, adam, adapt
from snnx.datasets import randman
from snnx.ir.graph import Graph, Node
from snnx.sim import Simulator

CLASSES, CHANNELS, HIDDEN = 5, 16, 40
WINDOW, STEPS = 48, 64
DIM = 2
TRAIN, TEST = 1024, 512
DT = 1e-3
SEMANTICS = snnx.Semantics(dt=DT, integrator="exact", reset="subtract")
TRAINED = ("fc1", "w_rec", "fc2")
#: Weight in the loss of the squared output counts above CEILING (outputs that saturate) and of
#: the correct output's count below FLOOR (silent outputs decide nothing).
REGULARIZE, CEILING, FLOOR = 1e-2, 16.0, 8.0
#: Spikes per sample above which a hidden neuron is penalised: a busy neuron's voltage runs
#: past twice its threshold, where Xylo's hidden neurons emit several spikes in one step.
HIDDEN_CEILING = 4.0
LEARNING_RATE = 1e-2
#: Output counts per unit of logit: margins of several spikes between classes.
TEMPERATURE = 3.0


@dataclasses.dataclass
class Task:
    """The trained graph, its semantics, and the data: ``(STEPS, B, CHANNELS)`` rasters."""

    graph: Graph
    semantics: snnx.Semantics
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Randman of ``seed``, padded with silence to ``STEPS``: train and test splits."""
    x, y = randman(CLASSES, CHANNELS, TRAIN + TEST, WINDOW, seed=seed, dim=DIM)
    x = np.concatenate([x, np.zeros((STEPS - WINDOW, *x.shape[1:]), np.float32)])
    return x[:, :TRAIN], y[:TRAIN], x[:, TRAIN:], y[TRAIN:]


def cuba(n: int, tau_mem: float, tau_syn: float) -> Node:
    """CubaLIF scaled as snnTorch's exports are (``r = tau_mem / dt``, ``w_in = tau_syn / dt``,
    as in the NIR paper's Braille network): a weight of 1 is about one threshold."""
    full = np.full
    return Node(
        "CubaLIF",
        tau_mem=full(n, tau_mem),
        tau_syn=full(n, tau_syn),
        r=full(n, tau_mem / DT),
        w_in=full(n, tau_syn / DT),
        v_leak=np.zeros(n),
        v_threshold=np.ones(n),
    )


def untrained(seed: int) -> Graph:
    """The 16-40(rec)-5 network with random weights of ``seed``, biases zero."""
    rng = np.random.default_rng(seed)
    nodes: dict[str, Any] = {
        "input": Node("Input", shape=np.array([CHANNELS])),
        "fc1": Node(
            "Affine",
            weight=rng.normal(0, 1.5 / CHANNELS**0.5, (HIDDEN, CHANNELS)),
            bias=np.zeros(HIDDEN),
        ),
        "lif1": cuba(HIDDEN, 2e-2, 1e-2),
        "w_rec": Node(
            "Affine",
            weight=rng.normal(0, 0.3 / HIDDEN**0.5, (HIDDEN, HIDDEN)),
            bias=np.zeros(HIDDEN),
        ),
        "fc2": Node(
            "Affine",
            weight=rng.normal(0, 1.0 / HIDDEN**0.5, (CLASSES, HIDDEN)),
            bias=np.zeros(CLASSES),
        ),
        "lif2": cuba(CLASSES, 2e-2, 1e-2),
        "output": Node("Output", shape=np.array([CLASSES])),
    }
    edges = [
        ("input", "fc1"),
        ("fc1", "lif1"),
        ("lif1", "w_rec"),
        ("w_rec", "lif1"),
        ("lif1", "fc2"),
        ("fc2", "lif2"),
        ("lif2", "output"),
    ]
    return Graph(nodes, edges)


def trained(seed: int, epochs: int = 40, batch: int = 64) -> Task:
    """Train the network of ``seed`` on the Randman task of ``seed`` (module docstring)."""
    x_train, y_train, x_test, y_test = data(seed)
    sim = Simulator(untrained(seed), SEMANTICS, record=["lif1"])
    weights = {k: {"weight": v["weight"]} for k, v in sim.params.items() if k in TRAINED}

    def counts(w: Mapping[str, Any], x: jax.Array) -> tuple[jax.Array, jax.Array]:
        params = {**sim.params, **{k: {**sim.params[k], **v} for k, v in w.items()}}
        outputs, records = sim.run(x, params)
        return outputs["output"].sum(0), records["lif1.out"].sum(0)

    def loss(w: Mapping[str, Any], x: jax.Array, y: jax.Array) -> jax.Array:
        c, hidden = counts(w, x)
        logits = jax.nn.log_softmax(c / TEMPERATURE, axis=-1)
        ce = -jnp.take_along_axis(logits, y[:, None], axis=-1).mean()
        own = jnp.take_along_axis(c, y[:, None], axis=-1)
        above = jnp.mean(jax.nn.relu(c - CEILING) ** 2)
        below = jnp.mean(jax.nn.relu(FLOOR - own) ** 2)
        busy = jnp.mean(jax.nn.relu(hidden - HIDDEN_CEILING) ** 2)
        return ce + REGULARIZE * (above + below + busy)

    state = adam.init(weights)
    total = epochs * -(-TRAIN // batch)

    @jax.jit
    def update(w: Any, s: Any, x: jax.Array, y: jax.Array) -> tuple[Any, Any]:
        grads = jax.grad(loss)(w, x, y)
        return adam.update(w, grads, s, LEARNING_RATE, total)

    order = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = order.permutation(TRAIN)
        for start in range(0, TRAIN, batch):
            idx = perm[start : start + batch]
            weights, state = update(
                weights, state, jnp.asarray(x_train[:, idx]), jnp.asarray(y_train[idx])
            )
    params = {
        **sim.params,
        **{
            k: {**sim.params[k], **jax.tree_util.tree_map(np.asarray, v)}
            for k, v in weights.items()
        },
    }
    return Task(sim.graph(params), SEMANTICS, x_train, y_train, x_test, y_test)


def float_counts(task: Task, x: np.ndarray) -> np.ndarray:
    """The float reference's output spike counts ``(B, CLASSES)`` on ``x``."""
    return np.asarray(Simulator(task.graph, task.semantics)(x).outputs["output"], np.float32).sum(0)


def accuracy(counts: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose most active output (the first, on ties) is the label."""
    return float((counts.argmax(-1) == labels).mean())


def adapted(
    task: Task, target: str, iterations: int = 400, learning_rate: float | None = None
) -> Adapted:
    """``task``'s network adapted for ``target`` on its training samples, verified on its test
    samples (``learning_rate``: None for the adapter's own)."""
    return adapt(
        task.graph,
        target,
        task.semantics,
        calibration=task.x_train,
        held_out=task.x_test,
        settings=Settings(iterations=iterations, learning_rate=learning_rate),
    )
