"""SNNAX models as snnx graphs: `from_snnax`.

SNNAX (0.0.1, Equinox) steps one sample at a time. Its neurons, with ``s`` the spike
``heaviside(v - threshold, 1)`` (``v >= threshold``) and the decays clamped to [0.5, 1]::

    SimpleLIF(a):   v = a v + (1 - a) x; fire; v -> 0 (or v - softplus(reset_val)) now
    LIF([a, b]):    v -> 0 (or reset_val) where last step fired; v = a v + (1 - a) i;
                    i = b i + (1 - b) x; fire          (the voltage takes last step's current)
    LIFSoftReset:   as LIF, but v -> v - reset_val (1 if None) where last step fired
    LI(a):          v = a v + (1 - a) x; outputs v     (not clamped)
    SimpleIAF:      v = v - leak + x; fire; v -> 0 (or v - reset_val) now
    IAF([a, b]):    v = v - leak + (1 - a) i; i = b i + (1 - b) x; fire; reset as SimpleIAF

are Euler steps of NIR's neurons at a time step ``dt``: ``LIF(tau = dt / (1 - a), r = 1)``,
``CubaLIF(tau_mem = dt / (1 - a), tau_syn = dt / (1 - b), r = 1, w_in = 1)`` with the voltage
integrating the *previous* current, ``LI`` likewise, ``IF(r = 1 / dt)``; the leak is a bias on an
identity ``Affine`` before the ``IF``; ``IAF`` is a subgraph ``LI -> Delay(dt) -> IF``. A reset at
the start of the next step before anything else equals a same-step reset (zero, or by
subtraction when the amount subtracted is the threshold). Semantics: Euler, ``>=``, same-step
reset, previous current (profile name ``snnax``).

`StatefulModel(GraphStructure(...), layers)` with SNNAX's ``default_forward_fn``: the external
input reaches its layers in the same step; every other edge reads the state its source left at
the previous step (its last element, the spikes of a LIF, the output of a stateless layer), so
each adds one step of delay, here a ``Delay(dt)`` node. Stateless layers start from their output
on all-zero inputs (their bias), so their delays go before them: ``x -> Delay -> Affine``. A
layer fed by several sources concatenates them: a ``Linear`` or ``Conv`` splits into one node per
source (its columns or input channels), summed where they meet.

Refused, naming the layer: ``AdaptiveLIF`` and ``SRM`` (no NIR neuron adapts its threshold or
filters its output), ``SpikingMaxPool2d`` and max pooling (no NIR max), an ``LI``, ``SimpleIAF``
or ``IAF`` feeding other layers (SNNAX passes them ``state[-1]``, which is not the layer's
output: the last neuron's voltage, or the IAF's current), resets that subtract something other
than the threshold, non-zero initial states, and other forward functions.

>>> round(float(euler_tau(0.9, 1e-4)), 12)
0.001
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.importers.requirements import ConversionError, Requirements, threshold_rule
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import WEIGHTED
from snnx.semantics import Semantics

PROFILE = "snnax"

#: SNNAX's own step rules, as knobs (per-type needs add the reset).
BASE = Semantics(
    dt=1e-4,
    integrator="euler",
    reset="zero",
    reset_timing="same-step",
    spike_output="same-step",
    current="previous",
    threshold=">=",
    profile_name=PROFILE,
)

#: Layers with no NIR counterpart, and why.
REFUSED = {
    "AdaptiveLIF": "its adaptation variable feeds back into the voltage; no NIR neuron adapts",
    "SRM": "a spike-response model filters twice and subtracts a refractory kernel; no NIR neuron "
    "does",
    "SpikingMaxPool2d": "NIR has no max pooling",
    "SpikingMaxPool1d": "NIR has no max pooling",
    "MaxPool1d": "NIR has no max pooling",
    "MaxPool2d": "NIR has no max pooling",
}
#: Stateful layers whose ``state[-1]`` is not their output.
NOT_STATE_OUTPUT = {
    "LI": "the last neuron's voltage",
    "SimpleIAF": "the last neuron's voltage",
    "IAF": "its synaptic current",
}


def euler_tau(decay: Any, dt: float) -> np.ndarray:
    """The time constant whose Euler step decays by ``decay``: ``tau = dt / (1 - decay)``."""
    return dynamics.time_constant(np.asarray(decay, np.float64), dt, "euler")


def from_snnax(model: Any, sample: Any, *, dt: float = 1e-4) -> Graph:
    """Convert a SNNAX model (a `StatefulModel`, or one layer) whose input is one ``sample``
    (an array, or its shape) into a graph with the ``snnax`` semantics at ``dt``
    (see the module docstring).

    Example (in an environment with snnax)::

        graph = snnx.from_snnax(model, jnp.zeros(12))
    """
    import equinox as eqx
    import snnax.snn as snn
    from snnax.snn.architecture import default_forward_fn

    shape = tuple(int(n) for n in (sample if isinstance(sample, tuple) else np.shape(sample)))
    if isinstance(model, snn.StatefulModel):
        if model.forward_fn is not default_forward_fn:
            name = getattr(model.forward_fn, "__name__", type(model.forward_fn).__name__)
            raise ConversionError(
                f"forward function {name!r}: only SNNAX's default_forward_fn is supported"
            )
        layers = list(model.layers)
        struct = model.graph_structure
        sources = [list(c) for c in struct.input_connectivity]
        external = [list(ids) for ids in struct.input_layer_ids]
    elif isinstance(model, eqx.Module):
        layers, sources, external = [model], [[]], [[0]]
    else:
        raise ConversionError(f"not a SNNAX model: {type(model).__name__}")
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        if kind in REFUSED:
            raise ConversionError(
                f"SNNAX {kind} has no NIR equivalent: {REFUSED[kind]}", node=str(i)
            )
    if any(i != 0 for ids in external for i in ids):
        raise ConversionError("only models with one external input are supported")
    builder = _Builder(layers, sources, external, shape, Requirements(dt=dt, base={PROFILE: BASE}))
    return builder.build()


@dataclasses.dataclass
class _Builder:
    layers: list
    sources: list[list[int]]
    external: list[list[int]]
    in_shape: tuple[int, ...]
    req: Requirements

    def __post_init__(self) -> None:
        self.graph = Graph()
        self.graph.add_node("input", Node("Input", shape=list(self.in_shape)))
        self.shapes = _shapes(self.layers, self.sources, self.external, self.in_shape)
        self.realized: dict[int, int] = {}  # stateless layer -> the delay it is built at
        self.nodes: dict[int, list[str]] = {}  # layer -> the node(s) giving its output
        self.building: set[int] = set()

    def build(self) -> Graph:
        last = len(self.layers) - 1
        for _i, srcs in enumerate(self.sources):
            for j in srcs:
                kind = type(self.layers[j]).__name__
                if kind in NOT_STATE_OUTPUT:
                    raise ConversionError(
                        f"SNNAX passes the layers a {kind} feeds its state[-1], "
                        f"{NOT_STATE_OUTPUT[kind]}, not its output; no NIR form",
                        node=str(j),
                    )
        ends = self.port(last, 0)
        self.graph.add_node("output", Node("Output", shape=list(self.shapes[last])))
        for end in ends:
            self.graph.add_edge(end, "output", allow_duplicate=True)
        self.graph.semantics = self.req.semantics(PROFILE)
        self.graph.check()
        return self.graph

    def stateless(self, i: int) -> bool:
        from snnax.snn import StatefulLayer

        return not isinstance(self.layers[i], StatefulLayer)

    def port(self, i: int, delay: int) -> list[str]:
        """Node names whose summed output is layer ``i``'s output ``delay`` steps ago."""
        if i < 0:  # the external input
            return [self._delayed("input", self.in_shape, delay)]
        if self.stateless(i):
            if i in self.building:
                raise ConversionError(
                    "a loop of stateless layers (no neuron in it) has no NIR form", node=str(i)
                )
            if i in self.realized and self.realized[i] != delay:
                raise ConversionError(
                    "this stateless layer is read both in the step it computes and one step "
                    "later; no NIR form without duplicating it",
                    node=str(i),
                )
            if i not in self.realized:
                self.realized[i] = delay
                self.building.add(i)
                self.nodes[i] = self._add_layer(i, delay)
                self.building.discard(i)
            return self.nodes[i]
        if i not in self.nodes:
            self.nodes[i] = [str(i)]  # named before its inputs are built: loops find it
            self._add_layer(i, 0)
        return [self._delayed(n, self.shapes[i], delay) for n in self.nodes[i]]

    def _delayed(self, name: str, shape: tuple[int, ...], delay: int) -> str:
        if delay == 0:
            return name
        delayed = f"{name}.delay" if delay == 1 else f"{name}.delay{delay}"
        if delayed not in self.graph:
            assert self.req.dt is not None  # `from_snnax` gives its dt
            self.graph.add_node(delayed, Node("Delay", delay=np.full(shape, delay * self.req.dt)))
            self.graph.add_edge(name, delayed)
        return delayed

    def _inputs(self, i: int, delay: int) -> list[tuple[list[str], int]]:
        """``(nodes, size)`` of each concatenated input of layer ``i`` built at ``delay``."""
        ins = [(j, delay + 1) for j in self.sources[i]] + [(-1, delay) for _ in self.external[i]]
        return [(self.port(j, d), self.in_shape[0] if j < 0 else self.shapes[j][0]) for j, d in ins]

    def _add_layer(self, i: int, delay: int) -> list[str]:
        layer, name = self.layers[i], str(i)
        kind = type(layer).__name__
        n_inputs = len(self.sources[i]) + len(self.external[i])
        if n_inputs == 0:
            raise ConversionError("the layer has no inputs", node=name)
        if self.stateless(i):
            payloads = _stateless(layer, name, n_inputs)
        else:
            payload = _neuron(layer, name, self.shapes[i], self.req)
            self.graph.add_node(name, payload)
            payloads = None
        if payloads is None:
            ins = self._inputs(i, delay)
            if len(ins) > 1:
                raise ConversionError(
                    f"a {kind} fed by {len(ins)} layers concatenates them; only Linear and Conv "
                    "layers can take concatenated inputs in NIR (split per source)",
                    node=name,
                )
            for src in ins[0][0]:
                self.graph.add_edge(src, name, allow_duplicate=True)
            return [name]
        ins = self._inputs(i, delay)
        pieces = _split(payloads, [size for _, size in ins], name)
        names = []
        for k, ((srcs, _), piece) in enumerate(zip(ins, pieces, strict=True)):
            piece_name = name if len(pieces) == 1 else f"{name}.{k}"
            self.graph.add_node(piece_name, piece)
            for src in srcs:
                self.graph.add_edge(src, piece_name, allow_duplicate=True)
            names.append(piece_name)
        return names


def _shapes(layers: Any, sources: Any, external: Any, in_shape: Any) -> list[tuple[int, ...]]:
    """Each layer's output shape for one sample (stateless layers evaluated abstractly)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    from snnax.snn import StatefulLayer

    shapes: list[tuple[int, ...] | None] = [None] * len(layers)
    for i, layer in enumerate(layers):  # output shapes known without the input
        if isinstance(layer, eqx.nn.Linear):
            shapes[i] = (int(layer.out_features),) if layer.out_features != "scalar" else ()
    for _ in range(len(layers) + 1):
        for i, layer in enumerate(layers):
            ins = [shapes[j] for j in sources[i]] + [in_shape for _ in external[i]]
            if shapes[i] is not None or not ins or any(s is None for s in ins):
                continue
            size = sum(s[0] for s in ins)
            shape = (size, *ins[0][1:])
            if isinstance(layer, StatefulLayer):
                shapes[i] = shape
            else:
                out = jax.eval_shape(lambda x, layer=layer: layer(x), jnp.zeros(shape))
                shapes[i] = tuple(out.shape)
    missing = [i for i, s in enumerate(shapes) if s is None]
    if missing:
        raise ConversionError(
            f"cannot tell the shapes of layers {missing} (is every layer connected?)"
        )
    return shapes  # type: ignore[return-value]


def _stateless(layer: Any, name: str, n_inputs: int) -> Node:
    """The NIR node of a stateless layer (SNNAX's Flatten, or an ``eqx.nn`` layer)."""
    from snnax.snn import Flatten

    from snnx.importers.jax import node_of

    if isinstance(layer, Flatten):
        return Node("Flatten", start_dim=np.int64(0), end_dim=np.int64(-1))
    return node_of(layer, name)


def _split(node: Node, sizes: Sequence[int], name: str) -> list[Node]:
    """One node per concatenated input: the weight's input columns (channels) for each."""
    if len(sizes) == 1:
        return [node]
    if node.type not in WEIGHTED or (node.type.startswith("Conv") and int(node.groups) != 1):
        raise ConversionError(
            f"a {node.type} fed by {len(sizes)} layers concatenates them; only Linear and "
            "ungrouped Conv layers can be split per source",
            node=name,
        )
    weight = np.asarray(node.weight)
    if weight.shape[1] != sum(sizes):
        raise ConversionError(
            f"inputs of sizes {list(sizes)} do not fit a weight with {weight.shape[1]} inputs",
            node=name,
        )
    cuts = np.cumsum(sizes)[:-1]
    pieces = []
    for k, w in enumerate(np.split(weight, cuts, axis=1)):
        if node.type == "Linear" or (node.type == "Affine" and k > 0):
            pieces.append(Node("Linear", weight=w))
        elif node.type == "Affine":
            pieces.append(node.replace(weight=w))
        else:  # a convolution: the bias goes with the first piece
            bias = node.bias if k == 0 else np.zeros_like(node.bias)
            pieces.append(node.replace(weight=w, bias=bias))
    return pieces


# -- neurons --------------------------------------------------------------------------------


def _decays(layer: Any, count: int, shape: tuple[int, ...], name: str) -> list[np.ndarray]:
    """The layer's first ``count`` decay constants, clamped to [0.5, 1] as SNNAX does."""
    data = layer.decay_constants
    data = np.asarray(getattr(data, "data", data), np.float32)
    if data.shape[0] < count:
        raise ConversionError(f"needs {count} decay constants, has {data.shape[0]}", node=name)
    out = []
    for k in range(count):
        a = np.clip(np.broadcast_to(data[k], shape), np.float32(0.5), np.float32(1.0))
        if np.any(a >= 1.0):
            raise ConversionError(
                "a decay constant of 1 freezes the neuron (its input gain 1 - a is 0); no NIR form",
                node=name,
                field="decay_constants",
            )
        out.append(a.astype(np.float64))
    return out


def _check_rest(layer: Any, shape: tuple[int, ...], name: str) -> None:
    import jax

    start = layer.init_state(shape, jax.random.PRNGKey(0))
    leaves = jax.tree_util.tree_leaves(start)
    if any(np.any(np.asarray(leaf) != 0) for leaf in leaves):
        raise ConversionError(
            "init_fn starts the neurons away from zero; NIR neurons start at rest",
            node=name,
            field="init_fn",
        )


def _reset(layer: Any, kind: str, threshold: float, name: str) -> tuple[str, float]:
    """``(reset, v_reset)`` of a spiking layer (see the module docstring)."""
    value = layer.reset_val
    if kind == "LIFSoftReset":
        amount = 1.0 if value is None else float(value)
    elif value is None:
        return "zero", 0.0
    elif kind == "LIF":
        return "zero", float(value)
    elif kind == "SimpleLIF":
        amount = float(np.logaddexp(0.0, float(value)))  # softplus
    else:  # SimpleIAF, IAF
        amount = float(value)
    if not np.isclose(amount, threshold, rtol=1e-6, atol=0.0):
        raise ConversionError(
            f"the reset subtracts {amount:g}, not the threshold {threshold:g}; NIR's subtractive "
            "reset takes off the threshold",
            node=name,
            field="reset_val",
        )
    return "subtract", 0.0


def _neuron(layer: Any, name: str, shape: tuple[int, ...], req: Requirements) -> Node | Graph:
    """The NIR node (or subgraph) of a SNNAX neuron layer; records its semantics."""
    kind = type(layer).__name__
    dt = req.dt
    assert dt is not None  # `from_snnax` gives its dt
    if kind == "LI":
        decay = float(layer.decay_constant)
        if not decay < 1.0:
            raise ConversionError(
                f"decay {decay:g} >= 1 does not leak", node=name, field="decay_constant"
            )
        _check_rest(layer, shape, name)  # SNNAX starts LI from its base init_state
        tau = np.full(shape, euler_tau(decay, dt))
        req.need(name, "LI", PROFILE)
        return Node("LI", tau=tau, r=np.ones(shape), v_leak=np.zeros(shape))
    if kind not in ("SimpleLIF", "LIF", "LIFSoftReset", "SimpleIAF", "IAF"):
        raise ConversionError(
            f"unsupported SNNAX layer {type(layer).__module__}.{type(layer).__qualname__}",
            node=name,
        )
    _check_rest(layer, shape, name)
    threshold = float(np.asarray(layer.threshold))
    rule = threshold_rule(layer.spike_fn, name)
    reset, v_reset = _reset(layer, kind, threshold, name)
    fire = dict(v_threshold=np.full(shape, threshold), v_reset=np.full(shape, v_reset))
    if kind == "SimpleLIF":
        (a,) = _decays(layer, 1, shape, name)
        req.need(name, "LIF", PROFILE, reset=reset, threshold=rule)
        return Node(
            "LIF",
            {"tau": euler_tau(a, dt), "r": np.ones(shape), "v_leak": np.zeros(shape), **fire},
        )
    if kind in ("LIF", "LIFSoftReset"):
        a, b = _decays(layer, 2, shape, name)
        req.need(name, "CubaLIF", PROFILE, reset=reset, threshold=rule, current="previous")
        return Node(
            "CubaLIF",
            {
                "tau_syn": euler_tau(b, dt),
                "tau_mem": euler_tau(a, dt),
                "r": np.ones(shape),
                "v_leak": np.zeros(shape),
                "w_in": np.ones(shape),
                **fire,
            },
        )
    req.need(name, "IF", PROFILE, reset=reset, threshold=rule)
    spiking = Node("IF", {"r": np.full(shape, 1.0 / dt), **fire})
    leak = float(np.asarray(layer.leak))
    if kind == "SimpleIAF":
        nodes: dict[str, Node] = {"input": Node("Input", shape=list(shape))}
        gain = np.ones(shape)
    else:
        a, b = (np.asarray(layer.decay_constants[k], np.float64) for k in (0, 1))
        if not np.all(b < 1.0):
            raise ConversionError("a current decay of 1 does not leak", node=name)
        req.need(name, "LI", PROFILE)
        tau_syn = np.broadcast_to(euler_tau(b, dt), shape).copy()
        nodes = {
            "input": Node("Input", shape=list(shape)),
            "syn": Node("LI", tau=tau_syn, r=np.ones(shape), v_leak=np.zeros(shape)),
            "syn_delay": Node("Delay", delay=np.full(shape, dt)),
        }
        gain = np.broadcast_to(1.0 - a, shape)
    n = int(np.prod(shape))
    if len(shape) != 1 and (leak or np.any(gain != 1.0)):
        raise ConversionError("a leak or gain on a multi-dimensional IAF layer", node=name)
    if leak or np.any(gain != 1.0):
        nodes["gain"] = Node("Affine", weight=np.diag(gain), bias=np.full(n, -leak))
    nodes["spike"] = spiking
    nodes["output"] = Node("Output", shape=list(shape))
    return Graph.sequential(nodes)
