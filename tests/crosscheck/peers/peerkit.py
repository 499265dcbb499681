"""Shared parts of the peer cross-check tier: random graphs in each peer's conventions, the snnx
run, and a small numpy reference used where a peer's behaviour is documented rather than matched.

A random graph is a chain ``input -> dense -> neuron [-> dense -> neuron] -> dense -> neuron ->
output`` (dense: Affine or Linear) with one optional recurrence:

- ``ff``:   none;
- ``rec``:  a 2-cycle ``neuron <-> Affine/Linear`` on the first neuron (NIR's RNN pattern);
- ``self``: a self-loop on the first neuron (its spikes of the previous step added to its input);
- ``long``: a back edge from the last neuron through an Affine into the first one.

Nodes are named ``input`` and ``output`` (Spyx follows a chain between exactly those names).
Neuron fields come from a per-peer function that keeps to what the peer's importer accepts; each
graph is seeded, so every run builds the same graphs and inputs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable, Sequence

import numpy as np

import snnx
from snnx.ir import Graph, Node
from snnx.sim import simulate

TOPOLOGIES = ("ff", "rec", "self", "long")
F32 = np.float32

#: fields(kind, n, rng) -> dict of NIR fields for a neuron of ``n`` elements
FieldsFn = Callable[[str, int, np.random.Generator], dict]


def quiet():
    """Silence the peers' prints, warnings and log lines while importing or running."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    stack.callback(logging.disable, logging.NOTSET)
    return stack


def dense(rng: np.random.Generator, n_out: int, n_in: int, scale: float, kind: str) -> Node:
    """An Affine (with a small random bias) or a Linear of random weights; each row sums to a
    positive value, so that every neuron gets some drive from spiking inputs."""
    weight = rng.normal(0.2, 1.0, (n_out, n_in))
    weight = (weight * np.where(weight.sum(1, keepdims=True) < 0, -1, 1) * scale).astype(F32)
    if kind == "Linear":
        return Node("Linear", weight=weight)
    return Node("Affine", weight=weight, bias=(rng.normal(0.0, 0.2, n_out) * scale).astype(F32))


def random_graph(
    seed: int,
    fields: FieldsFn,
    *,
    kinds: Sequence[str],
    topology: str = "ff",
    dense_kinds: Sequence[str] = ("Affine", "Linear"),
    rec_kinds: Sequence[str] | None = None,
    scale: float = 1.0,
    rec_scale: float | None = None,
    layers: int | None = None,
    readout: str | None = None,
) -> Graph:
    """A seeded random graph (see the module docstring).

    Each layer's neuron type is drawn from ``kinds``; ``"LI+Threshold"`` stands for an ``LI``
    followed by a ``Threshold`` (``fields("Threshold", ...)`` gives its field). ``readout``
    (``"LI"``) makes the last layer a non-spiking one of that type. Weights are drawn at
    ``scale``, those of back edges at ``rec_scale`` (default: the same).
    """
    rng = np.random.default_rng(seed)
    n_layers = layers or int(rng.integers(2, 4))
    if topology == "long":
        n_layers = max(n_layers, 2)
    sizes = [int(rng.integers(3, 6)), *(int(rng.integers(3, 7)) for _ in range(n_layers))]
    nodes: dict[str, Node] = {"input": Node("Input", shape=[sizes[0]])}
    edges: list[tuple[str, str]] = []
    prev = "input"
    neurons = []
    for i in range(n_layers):
        n, fc, lif = sizes[i + 1], f"fc{i + 1}", f"lif{i + 1}"
        nodes[fc] = dense(rng, n, sizes[i], scale, str(rng.choice(dense_kinds)))
        kind = readout if readout and i == n_layers - 1 else str(rng.choice(kinds))
        edges += [(prev, fc), (fc, lif)]
        if kind == "LI+Threshold":
            nodes[lif] = Node("LI", fields("LI", n, rng))
            nodes[f"thr{i + 1}"] = Node("Threshold", fields("Threshold", n, rng))
            edges.append((lif, f"thr{i + 1}"))
            lif = f"thr{i + 1}"
        else:
            nodes[lif] = Node(kind, fields(kind, n, rng))
        prev = lif
        neurons.append(lif)
    nodes["output"] = Node("Output", shape=[sizes[-1]])
    edges.append((prev, "output"))
    first, last = neurons[0], neurons[-1]
    if topology == "rec":
        kind = str(rng.choice(rec_kinds or dense_kinds))
        nodes["rec1"] = dense(rng, sizes[1], sizes[1], rec_scale or scale, kind)
        edges += [(first, "rec1"), ("rec1", first)]
    elif topology == "self":
        edges.append((first, first))
    elif topology == "long":
        nodes["fb"] = dense(rng, sizes[1], sizes[-1], rec_scale or scale, "Affine")
        edges += [(last, "fb"), ("fb", first)]
    elif topology != "ff":
        raise ValueError(topology)
    return Graph(nodes, edges)


BACK_EDGE = {"rec": ("rec1", "lif1"), "self": ("lif1", "lif1"), "long": ("fb", "lif1")}


def spikes(seed: int, steps: int, batch: int, shape: Sequence[int], p: float = 0.3) -> np.ndarray:
    """Random 0/1 spike trains, time-major ``(steps, batch, *shape)``, float32."""
    rng = np.random.default_rng(10_000 + seed)
    return (rng.random((steps, batch, *shape)) < p).astype(F32)


def run_snnx(graph: Graph, x: np.ndarray, profile: str, **knobs) -> np.ndarray:
    """The graph's output spikes under a profile (knobs such as ``dt`` changed)."""
    semantics = snnx.Semantics.profile(profile, **knobs)
    (name,) = graph.outputs
    return np.asarray(simulate(graph, x, semantics).outputs[name])


def compare(ours: np.ndarray, theirs: np.ndarray) -> str:
    """'' when equal, else where they first differ and how many elements do."""
    ours = np.asarray(ours, np.float64)
    theirs = np.asarray(theirs, np.float64).reshape(ours.shape)
    bad = np.argwhere(ours != theirs)
    if not len(bad):
        return ""
    t = int(bad[0][0])
    return (
        f"{len(bad)}/{ours.size} outputs differ, first at step {t}: "
        f"snnx {ours[t].ravel().tolist()} vs peer {theirs[t].ravel().tolist()}"
    )


def activity(out: np.ndarray) -> float:
    """Fraction of output elements that carry a spike (to keep comparisons from being vacuous)."""
    return float(np.mean(np.asarray(out) != 0))


def with_edges(graph: Graph, drop=(), add=()) -> Graph:
    """A copy of ``graph`` with some edges removed and others added."""
    edges = [e for e in graph.edges if e not in set(drop)] + list(add)
    return Graph(graph.nodes, edges)


def bias_free(graph: Graph, name: str) -> Graph:
    """A copy of ``graph`` where the Affine ``name`` has a zero bias."""
    node = graph[name]
    nodes = dict(graph.nodes)
    nodes[name] = node.replace(bias=np.zeros_like(np.asarray(node.bias)))
    return Graph(nodes, graph.edges)


def step_by_step(net, x: np.ndarray, pick: Callable | None = None) -> np.ndarray:
    """Run a torch module from a NIR importer one step at a time, threading its state:
    ``out, state = net(x[t], state)``. ``pick(out, state)`` chooses what to record (default: out)."""
    import torch

    outs, state = [], None
    with torch.no_grad():
        for t in range(len(x)):
            out, state = net(torch.from_numpy(np.ascontiguousarray(x[t])), state)
            out = out if pick is None else pick(out, state)
            outs.append(np.array(out.detach().numpy(), dtype=np.float32))
    return np.stack(outs)


def paper_graph(folder, name: str) -> Graph:
    """One of the NIR paper's conformance graphs, read by snnx."""
    return snnx.read(folder / name)


def tie_graph(neuron: Node, weight: float = 0.25, dense_kind: str = "Linear") -> Graph:
    """``input(1) -> Linear(weight) -> neuron -> output`` (or an Affine with zero bias) for
    threshold ties: with inputs that are all ones and ``weight`` a sum of powers of two, an IF's
    voltage lands exactly on a threshold that is a multiple of it (``>`` versus ``>=`` decides)."""
    fc = Node("Linear", weight=np.full((1, 1), weight, F32))
    if dense_kind == "Affine":
        fc = Node("Affine", weight=fc.weight, bias=np.zeros(1, F32))
    return Graph.sequential(
        {
            "input": Node("Input", shape=[1]),
            "fc": fc,
            "neuron": neuron,
            "output": Node("Output", shape=[1]),
        }
    )
