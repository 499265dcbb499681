"""NeuroBench's metrics of a spiking network, computed on a snnx graph and a simulation of it.

NeuroBench (Yik et al., "The neurobench framework for benchmarking neuromorphic computing
algorithms and systems", Nature Communications 16, 1545, 2025; the ``neurobench`` package 2.3)
defines its metrics on PyTorch modules through forward hooks. snnx computes the same
definitions on the graph itself, so they hold for any framework a graph came from and for the
graph a target runs (`snnx verify`, `snnx compile`). A *connection layer* is a node with a
weight matrix or kernel (``Affine``, ``Linear``, ``Conv1d``, ``Conv2d``: NeuroBench's Linear and
Conv layers); an *activation* is the output of a spiking node (NeuroBench's spiking-neuron
layers); a *membrane* is the ``v`` of a neuron node.

Static (the graph alone):

- ``footprint_bytes``: bytes of every parameter array at its stored dtype (NeuroBench:
  parameters and buffers, ``numel * element_size``), also per node;
- ``parameters``: how many numbers those arrays hold;
- ``connection_sparsity``: zero weights / all weights of the connection layers (biases not
  counted).

Workload (per sample, from a simulation over ``T`` steps):

- ``activation_sparsity``: ``1 - nonzero / all`` over every spiking node's output at every step;
- synaptic operations: at each step a connection layer's input ``x`` (the sum of its incoming
  edges) meets its weights ``W``; ``effective = sum_out (W != 0) @ (x != 0)`` counts the pairs of
  a nonzero weight and a nonzero input (biases excluded); they are *ACs* where ``x`` holds only
  -1, 0 and 1 (spikes), else *MACs*; ``dense`` counts every pair, as if weights and inputs were
  all nonzero (a convolution's zero padding stays zero);
- ``membrane_updates``: every neuron's first step, then each step where its ``v`` changed.

Each count is summed over samples and steps, then divided by the number of samples, as
NeuroBench reports them. `WorkloadCounts` holds integers, so batches and processes add up exactly
in any order. The cross-check against the ``neurobench`` package itself on snnTorch models is
``tests/crosscheck/peers/test_neurobench.py``.

>>> import numpy as np, snnx
>>> from snnx.ir import Node
>>> g = snnx.Graph.sequential({
...     "in": Node("Input", shape=[2]),
...     "fc": Node("Linear", weight=np.array([[1.0, 0.0], [2.0, 3.0]])),
...     "lif": Node("LIF", tau=[1e-3] * 2, r=[1.0] * 2, v_leak=[0.0] * 2, v_threshold=[0.5] * 2),
...     "out": Node("Output", shape=[2])})
>>> static_metrics(g)["connection_sparsity"]
0.25
>>> x = np.array([[[1.0, 0.0]], [[1.0, 1.0]]])  # (T=2, B=1, 2)
>>> m = measure(g, x, "nir-reference")
>>> ops = m["synaptic_operations"]  # step 0: 1 input x 2 weights; step 1: 2 + 1
>>> float(ops["effective_acs"]), float(ops["effective_macs"]), float(ops["dense"])
(5.0, 0.0, 8.0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.schema import SCHEMA

#: Node types NeuroBench counts synaptic operations of (its Linear and Conv layers).
CONNECTION_TYPES = tuple(
    t for t, p in SCHEMA.items() if p.category == "synapse" and "weight" in p.fields
)


def is_connection(node: Any) -> bool:
    """A layer with a weight matrix or kernel (NeuroBench's connection layers)."""
    return not isinstance(node, Graph) and node.type in CONNECTION_TYPES


def static_metrics(graph: Graph) -> dict[str, Any]:
    """Footprint, parameter count and connection sparsity of ``graph`` (subgraphs included).

    >>> import snnx
    >>> m = static_metrics(snnx.read(snnx.example_path("braille")))
    >>> m["connection_weights"] == 12 * 38 + 38 * 38 + 38 * 7  # input, recurrent, output
    True
    """
    flat = graph.flatten()
    arrays = {
        name: [np.asarray(node.fields[k]) for k in SCHEMA[node.type].params if k in node.fields]
        for name, node in flat.primitives.items()
    }
    weights = [np.asarray(n.weight) for n in flat.primitives.values() if is_connection(n)]
    total = int(sum(w.size for w in weights))
    zeros = int(sum(w.size - np.count_nonzero(w) for w in weights))
    by_node = {name: int(sum(a.nbytes for a in found)) for name, found in arrays.items() if found}
    return {
        "footprint_bytes": sum(by_node.values()),
        "footprint_bytes_by_node": by_node,
        "parameters": int(sum(a.size for found in arrays.values() for a in found)),
        "connection_weights": total,
        "connection_sparsity": zeros / total if total else 0.0,
    }


@dataclasses.dataclass
class WorkloadCounts:
    """The integers behind the workload metrics, summed over samples (add them with ``+``)."""

    samples: int = 0
    activations: int = 0
    active: int = 0
    effective_macs: int = 0
    effective_acs: int = 0
    dense: int = 0
    membrane_updates: int = 0

    def __add__(self, other: WorkloadCounts) -> WorkloadCounts:
        return WorkloadCounts(
            *(int(a + b) for a, b in zip(self.as_array(), other.as_array(), strict=True))
        )

    def as_array(self) -> np.ndarray:
        """The counts in field order (int64), to sum across processes."""
        return np.array(dataclasses.astuple(self), np.int64)

    def metrics(self) -> dict[str, Any]:
        """Activation sparsity, synaptic operations and membrane updates per sample."""
        per = max(self.samples, 1)
        return {
            "samples": self.samples,
            "activation_sparsity": 1.0 - self.active / self.activations
            if self.activations
            else 0.0,
            "synaptic_operations": {
                "effective_macs": float(self.effective_macs / per),
                "effective_acs": float(self.effective_acs / per),
                "dense": float(self.dense / per),
            },
            "membrane_updates": float(self.membrane_updates / per),
        }


def recorded_nodes(graph: Graph) -> list[str]:
    """The nodes of the flat ``graph`` whose records `count_workload` reads: every neuron and
    spiking node, and whatever feeds a connection layer (Inputs excepted: their values are the
    inputs)."""
    flat = graph.flatten()
    wanted = {n for n, node in flat.nodes.items() if _spiking(node) or _membrane(node)}
    for name, node in flat.nodes.items():
        if is_connection(node):
            wanted.update(p for p in flat.predecessors(name) if flat[p].type != "Input")
    return [n for n in flat.nodes if n in wanted]


def count_workload(
    graph: Graph, inputs: Mapping[str, np.ndarray], records: Mapping[str, np.ndarray]
) -> WorkloadCounts:
    """The workload counts of one run of the flat ``graph``: ``inputs`` (Input name ->
    ``(T, B, *shape)``) and the simulator's ``records`` of `recorded_nodes` (``NODE.out``,
    ``NODE.v``)."""
    flat = graph.flatten()
    batch = int(np.shape(next(iter(inputs.values())))[1])
    counts = WorkloadCounts(samples=batch)

    def out(name: str) -> np.ndarray:
        return np.asarray(inputs[name] if flat[name].type == "Input" else records[f"{name}.out"])

    for name, node in flat.nodes.items():
        if _spiking(node):
            spikes = out(name)
            counts.activations += spikes.size
            counts.active += int(np.count_nonzero(spikes))
        if _membrane(node):
            v = np.asarray(records[f"{name}.v"])
            counts.membrane_updates += int(v[0].size + np.count_nonzero(v[1:] != v[:-1]))
        if is_connection(node):
            x = np.asarray(sum(out(p).astype(np.float64) for p in flat.predecessors(name)))
            fan_out, dense_fan_out = _fan_outs(node, np.shape(x)[2:])
            steps = x.shape[0]
            flat_x = x.reshape(steps, batch, -1)
            effective = (flat_x != 0).astype(np.int64) @ fan_out  # (T, B)
            spiking = np.all(np.isin(flat_x, (-1.0, 0.0, 1.0)), axis=-1)
            counts.effective_acs += int(effective[spiking].sum())
            counts.effective_macs += int(effective[~spiking].sum())
            counts.dense += int(dense_fan_out.sum()) * steps * batch
    return counts


def measure(
    graph: Graph,
    inputs: np.ndarray | Mapping[str, np.ndarray],
    semantics: Any = None,
    *,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Static and workload metrics of ``graph`` run by the reference simulator on ``inputs``
    (``(T, B, *shape)``, or Input name -> array), ``batch_size`` samples at a time."""
    from snnx.sim import Simulator, batches

    flat = graph.flatten()
    sim = Simulator(flat, semantics, record=recorded_nodes(flat))
    named = dict(inputs) if isinstance(inputs, Mapping) else {sim.inputs[0]: inputs}
    total = int(np.shape(next(iter(named.values())))[1])
    counts = WorkloadCounts()
    for lo, hi in batches.ranges(total, batch_size):
        part = {k: np.asarray(v[:, lo:hi]) for k, v in named.items()}
        result = sim(part)
        counts = counts + count_workload(flat, part, result.records)
    return {**static_metrics(graph), **counts.metrics()}


def _spiking(node: Any) -> bool:
    return not isinstance(node, Graph) and SCHEMA[node.type].spiking


def _membrane(node: Any) -> bool:
    return not isinstance(node, Graph) and SCHEMA[node.type].neuron is not None


def _fan_outs(node: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """For each input entry of a connection layer (flattened), how many nonzero weights it
    meets over all outputs, and how many weights it meets at all (the dense count)."""
    weight = np.asarray(node.weight)
    if SCHEMA[node.type].shape == "dense":
        return (
            np.count_nonzero(weight, axis=0).astype(np.int64),
            np.full(weight.shape[1], weight.shape[0], np.int64),
        )
    return _conv_fan_out(node, (weight != 0), shape), _conv_fan_out(
        node, np.ones_like(weight), shape
    )


def _conv_fan_out(node: Any, weight: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """How many (output, weight) pairs each input entry of the convolution reaches: the
    convolution's transpose applied to ones (exact: small whole numbers in float32)."""
    import jax
    import jax.numpy as jnp

    from snnx.sim.ops.conv import CONV

    ctx = type("Ctx", (), {"node": node, "channels_last": False})
    params = {"weight": jnp.asarray(weight, jnp.float32), "bias": jnp.zeros(())}
    apply = CONV.apply
    assert apply is not None  # a convolution is stateless
    with jax.default_matmul_precision("highest"):
        y, pullback = jax.vjp(lambda x: apply(params, x, ctx), jnp.zeros((1, *shape), jnp.float32))
        (fan,) = pullback(jnp.ones_like(y))
    return np.rint(np.asarray(fan)).astype(np.int64).ravel()
