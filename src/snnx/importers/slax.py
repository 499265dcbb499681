"""Slax models as snnx graphs: `from_slax`.

Slax (0.0.1, Flax linen) steps a batch at a time. Its ``LIF``, with ``lambda = sigmoid(tau)``
(``init_tau``, or the ``tau`` parameter when ``trainable_tau``)::

    v = lambda v + x;  fire where v - v_threshold >= 0;  v -> v - v_threshold (subtraction_reset)
                                                         or v_reset, in the same step

is an Euler step of NIR's ``LIF(tau = dt / (1 - lambda), r = tau / dt, v_leak = 0)`` at a time
step ``dt`` (gain ``r dt / tau = 1``). ``nn.Dense`` is ``Affine`` (``weight = kernel.T``).
Semantics: Euler, ``>=``, reset in the same step (profile name ``slax``).

Containers: ``connect(chains, p)`` runs ``x_i = chain_i(x_{i-1}) + sum_j chain_i_rec_j(rec_j)``:
each ``j`` in ``p[i]`` adds a fresh copy of module ``i`` (its own parameters) applied to layer
``j``'s output ``x_j``, of this step when ``j < i`` and of the previous one otherwise (a
``Delay(dt)`` node ``rec_j``). Nodes are named as Slax names their variables (``chain_0``,
``chain_0_rec_1``). Also ``sl.RNN(model)`` (the model inside), ``nn.Sequential`` and single layers.
Refused, naming the layer: ``LTC`` (liquid time constants depend on the input; no NIR neuron
does), ``connect(merge="add")``, and modules with no NIR counterpart.

>>> round(float(lif_tau(0.0, 1e-4)), 12)  # sigmoid(0) = 0.5
0.0002
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.importers.requirements import ConversionError, Requirements, threshold_rule
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.ir.shapes import GraphShapes
from snnx.semantics import Semantics

PROFILE = "slax"

#: Slax's step rules, as knobs (per-type needs add the reset).
BASE = Semantics(
    dt=1e-4, integrator="euler", reset="subtract", threshold=">=", profile_name=PROFILE
)


def lif_tau(init_tau: Any, dt: float) -> np.ndarray:
    """The time constant of a Slax LIF whose leak parameter is ``init_tau``:
    ``dt / (1 - sigmoid(init_tau))``, the sigmoid taken in float32 as Slax does."""
    import jax
    import jax.numpy as jnp

    decay = np.asarray(jax.nn.sigmoid(jnp.asarray(init_tau, jnp.float32)), np.float64)
    return dynamics.time_constant(decay, dt, "euler")


def from_slax(module: Any, variables: Any, sample: Any, *, dt: float = 1e-4) -> Graph:
    """Convert a Slax model and its ``variables`` (what ``module.init`` returned, or trained
    ones) whose input is one ``sample`` (an array without the batch axis, or its shape) into a
    graph with the ``slax`` semantics at ``dt`` (see the module docstring).

    Example (in an environment with slax)::

        graph = snnx.from_slax(model, variables, jnp.zeros(12))
    """
    shape = tuple(int(n) for n in (sample if isinstance(sample, tuple) else np.shape(sample)))
    params = dict(variables.get("params", {})) if hasattr(variables, "get") else {}
    module, params = _unwrap_rnn(module, params)
    req = Requirements(dt=dt, base={PROFILE: BASE})
    graph = Graph()
    graph.add_node("input", Node("Input", shape=list(shape)))
    kind = type(module).__qualname__
    if kind.endswith("connect.<locals>.connect"):
        ends = _connect(graph, module, params, ["input"], req)
    else:
        import flax.linen as nn

        layers = list(module.layers) if isinstance(module, nn.Sequential) else [module]
        names = [f"layers_{i}" for i in range(len(layers))] if len(layers) > 1 else ["layer"]
        ends = ["input"]
        for layer, name in zip(layers, names, strict=True):
            own = params.get(name, {}) if len(layers) > 1 else params
            ends = [_add(graph, name, layer, own, ends, req)]
    graph.add_node("output", Node("Output", shape=[1]))
    for end in ends:
        graph.add_edge(end, "output", allow_duplicate=True)
    shapes = _probe_shapes(graph)
    _broadcast(graph, shapes)
    graph.replace_node("output", Node("Output", shape=list(shapes[ends[0]].output)))
    graph.semantics = req.semantics(PROFILE)
    graph.check()
    return graph


def _closure(fn: Any) -> dict[str, Any]:
    return dict(inspect.getclosurevars(inspect.unwrap(fn)).nonlocals)


def _unwrap_rnn(module: Any, params: dict) -> tuple[Any, dict]:
    """``sl.RNN(model)`` -> ``model`` and its parameters (``rec_0/RNN_/mdl``)."""
    if not type(module).__qualname__.endswith("RNN.<locals>.output_model"):
        return module, params
    rec = _closure(type(module).__call__)["rec"]
    rnn = _closure(rec.__call__)["rnn"]
    inner = params.get("rec_0", {}).get("RNN_", {}).get("mdl", {})
    return rnn.mdl, dict(inner)


def _connect(
    graph: Graph, module: Any, params: dict, inputs: list[str], req: Requirements
) -> list[str]:
    """Nodes of ``connect(chains, p)`` (see the module docstring); returns its output's nodes."""
    if getattr(module, "merge", "cat") != "cat":
        raise ConversionError(f"connect(merge={module.merge!r}) is not supported; use 'cat'")
    found = _closure(type(module).__call__)
    chains, extra = list(found["chains"]), dict(found.get("p") or {})
    sums: dict[int, list[str]] = {}
    for i, layer in enumerate(chains):  # the nodes: each layer, then its copies
        name = f"chain_{i}"
        sums[i] = [name]
        graph.add_node(name, _node(name, layer, params.get(name, {}), req))
        for j in extra.get(i, []):
            if not 0 <= j < len(chains):
                raise ConversionError(f"p[{i}] names layer {j}, which does not exist", node=name)
            copy = f"{name}_rec_{j}"
            graph.add_node(copy, _node(copy, layer, params.get(copy, {}), req))
            sums[i].append(copy)
    for i in range(len(chains)):  # the edges: x_{i-1} into layer i; x_j into its copies
        for src in sums[i - 1] if i else inputs:
            graph.add_edge(src, f"chain_{i}", allow_duplicate=True)
        for j in extra.get(i, []):
            srcs = sums[j]
            if j >= i:  # layer j has not run yet in this step: its value from the previous one
                delay = f"rec_{j}"
                if delay not in graph:
                    graph.add_node(delay, Node("Delay", delay=np.float64(req.dt)))
                    for src in srcs:
                        graph.add_edge(src, delay, allow_duplicate=True)
                srcs = [delay]
            for src in srcs:
                graph.add_edge(src, f"chain_{i}_rec_{j}", allow_duplicate=True)
    return sums[len(chains) - 1]


def _broadcast(graph: Graph, shapes: GraphShapes) -> None:
    """Neuron and delay fields given as one number become one per element."""
    for name, node in graph.primitives.items():
        if SCHEMA[node.type].elementwise:
            shape = shapes[name].output
            fields = {
                k: np.broadcast_to(np.asarray(v), shape).copy() for k, v in node.fields.items()
            }
            graph.replace_node(name, node.replace(**fields))


def _probe_shapes(graph: Graph) -> GraphShapes:
    from snnx.ir.shapes import infer_shapes

    probe = graph.copy()
    for name in probe.of_type("Output"):
        probe.remove_node(name)
    return infer_shapes(probe)


def _add(
    graph: Graph, name: str, layer: Any, params: Any, inputs: list[str], req: Requirements
) -> str:
    """Add the node of one Slax/Flax layer fed by ``inputs``; returns its name."""
    graph.add_node(name, _node(name, layer, params, req))
    for src in inputs:
        graph.add_edge(src, name, allow_duplicate=True)
    return name


def _node(name: str, layer: Any, params: Any, req: Requirements) -> Node:
    import flax.linen as nn

    kind = type(layer).__name__
    if kind == "LTC":
        raise ConversionError(
            "Slax LTC has no NIR equivalent: its time constants are computed from the input and "
            "state every step",
            node=name,
        )
    if isinstance(layer, nn.Dense):
        kernel = np.asarray(params["kernel"], np.float32)
        if "bias" in params:
            return Node("Affine", weight=kernel.T.copy(), bias=np.asarray(params["bias"]))
        return Node("Linear", weight=kernel.T.copy())
    if kind == "LIF" and type(layer).__module__.startswith("slax"):
        init_tau = params["tau"] if layer.trainable_tau else layer.init_tau
        rule = threshold_rule(layer.spike_fn, name)
        reset = "subtract" if layer.subtraction_reset else "zero"
        req.need(name, "LIF", PROFILE, reset=reset, threshold=rule)
        assert req.dt is not None  # `from_slax` gives its dt
        tau = lif_tau(init_tau, req.dt)
        n = np.shape(tau)
        v_reset = 0.0 if layer.subtraction_reset else float(layer.v_reset)
        return Node(
            "LIF",
            tau=tau,
            r=tau / req.dt,
            v_leak=np.zeros(n),
            v_threshold=np.full(n, float(layer.v_threshold)),
            v_reset=np.full(n, v_reset),
        )
    raise ConversionError(
        f"unsupported layer type {type(layer).__module__}.{type(layer).__qualname__}; "
        "supported: flax.linen.Dense, slax LIF, connect, RNN, flax.linen.Sequential",
        node=name,
    )
