"""A flattened graph as the chain of layers netx builds: for each spiking node, what feeds it.

netx networks are chains: the input, then layers, each a synapse (dense, dense_rec or conv)
feeding CUBA neurons, each taking the previous layer's spikes and, for ``dense_rec``, its own.
So every spiking node (in flow order) must receive, through stateless nodes only, from the
previous spiking node (the `Input` for the first) and optionally from itself; the one `Output`
must take the last spiking node's spikes as they are. Anything else is a `LoweringError` naming
the node.

What feeds a spiking node is affine in its sources. `inbound` evaluates the stateless nodes in
float64 to get it: the feed-forward map as a dense matrix, or -- when it is a plain chain of
convolutions, pooling and scalings between images -- as one `Conv`; the recurrent matrix; and
the constant inputs, split by when they start. A constant produced before a back edge (the edge
that carries last step's value, zeros at first) reaches the neuron from the second step on
(``late_bias``); one produced after it from the first (``bias``). ``Delay`` nodes may open or
close a dense feed-forward chain (per input or per neuron steps).

>>> import snnx
>>> flat = snnx.read(snnx.example_path("braille")).flatten()
>>> first = inbound(flat, flat.check(), "lif1.lif", "input", snnx.Semantics())
>>> first.matrix.shape, first.recurrent.shape, bool(first.bias.any()), bool(first.late_bias.any())
((38, 12), (38, 38), True, True)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from snnx.errors import GraphError, LoweringError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.ir.shapes import GraphShapes
from snnx.semantics import Semantics
from snnx.sim.ops.delay import steps_of
from snnx.targets.loihi.linear import Conv, apply_node, compose, conv_of
from snnx.targets.loihi.neurons import SPIKING_TYPES
from snnx.targets.loihi.spec import SPEC

#: The largest dense matrix (entries) a feed-forward map is materialised into.
MAX_DENSE_ENTRIES = 1 << 27


@dataclasses.dataclass
class Inbound:
    """What feeds spiking node ``node``: from ``source`` (the previous spiking node or the
    Input) through ``matrix`` ``(n, n_source)`` or ``conv``; from itself through ``recurrent``
    ``(n, n)`` one step later; constants ``bias`` from the first step and ``late_bias`` from
    the second; ``delay_pre`` (per source element) and ``delay_post`` (per neuron) in steps."""

    node: str
    source: str
    source_shape: tuple[int, ...]
    shape: tuple[int, ...]
    matrix: np.ndarray | None
    conv: Conv | None
    recurrent: np.ndarray | None
    bias: np.ndarray
    late_bias: np.ndarray
    delay_pre: np.ndarray | None = None
    delay_post: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Neurons of the node."""
        return math.prod(self.shape)


def spiking_chain(flat: Graph) -> list[str]:
    """The spiking nodes in flow order, after checking the graph has one Input and one Output
    fed by the last of them."""
    if len(flat.inputs) != 1:
        raise LoweringError(f"netx networks take one input; the graph has {flat.inputs}")
    if len(flat.outputs) != 1:
        raise LoweringError(f"netx networks have one output; the graph has {flat.outputs}")
    SPEC.check_types(flat, "loihi")
    chain = [name for name in flat.flow_order() if flat[name].type in SPIKING_TYPES]
    if not chain:
        raise LoweringError("the graph has no spiking layer (LIF, CubaLIF or IF) to lower")
    output = flat.outputs[0]
    if flat.predecessors(output) != [chain[-1]]:
        raise LoweringError(
            f"the Output must take the spikes of the last spiking layer {chain[-1]!r} as they "
            f"are (it takes {flat.predecessors(output)}): netx's output is a layer's spikes",
            node=output,
        )
    return chain


def _closure(flat: Graph, node: str) -> set[str]:
    """The stateless nodes from which ``node`` is reached without crossing a spiking node."""
    found: set[str] = set()
    stack = list(flat.predecessors(node))
    while stack:
        name = stack.pop()
        if name in found or flat[name].type in (*SPIKING_TYPES, "Input"):
            continue
        found.add(name)
        stack += flat.predecessors(name)
    return found


def inbound(
    flat: Graph,
    shapes: GraphShapes,
    node: str,
    previous: str,
    semantics: Semantics,
    back: set[tuple[str, str]] | None = None,
) -> Inbound:
    """Evaluate what feeds ``node`` (see the module docstring); ``back`` is
    ``flat.back_edges()`` (computed here when not given: pass it when lowering many nodes)."""
    inner = _closure(flat, node)
    sources = {
        p for n in (*inner, node) for p in flat.predecessors(n) if p not in inner and p != node
    } | ({node} if _feeds_itself(flat, node, inner) else set())
    strangers = sources - {previous, node}
    if strangers:
        raise LoweringError(
            f"receives spikes from {sorted(strangers)}; netx chains its layers, so a layer takes "
            f"only the previous layer's spikes ({previous!r}) and, recurrently, its own",
            node=node,
        )
    if previous not in sources:
        raise LoweringError(f"does not receive from the previous layer {previous!r}", node=node)
    back = flat.back_edges() if back is None else back
    evaluator = _Evaluator(flat, shapes, node, inner, back)
    shape = tuple(shapes[node].output)
    size = math.prod(shape)
    source_shape = tuple(shapes[previous].output)
    recurrent = None
    if node in sources:
        recurrent, cross = evaluator.matrix(node)
        if cross != 1:
            raise LoweringError(
                f"its recurrent path spans {cross} steps; netx's dense_rec delivers a layer's "
                "own spikes one step later",
                node=node,
            )
    notes: list[str] = []
    conv = None
    delay_pre, delay_post = _delays(flat, node, previous, inner, semantics)
    plain = recurrent is None and delay_pre is None and delay_post is None
    if plain and len(source_shape) == 3 and len(shape) == 3:
        conv, note = _conv_chain(flat, shapes, node, previous, inner)
        notes += [note] if note else []
    if conv is not None:
        _check_conv(conv, evaluator, previous, source_shape, node)
        ff = None
    else:
        ff, ff_cross = evaluator.matrix(previous)
        if ff_cross:
            raise LoweringError(
                f"the path from {previous!r} crosses a back edge: a loop through several layers "
                "has no netx counterpart",
                node=node,
            )
    now, late = evaluator.bias()
    return Inbound(
        node=node,
        source=previous,
        source_shape=source_shape,
        shape=shape,
        matrix=ff,
        conv=conv,
        recurrent=recurrent,
        bias=now.reshape(size),
        late_bias=late.reshape(size),
        delay_pre=delay_pre,
        delay_post=delay_post,
        notes=tuple(notes),
    )


def _feeds_itself(flat: Graph, node: str, inner: set[str]) -> bool:
    return node in flat.predecessors(node) or any(node in flat.predecessors(n) for n in inner)


class _Evaluator:
    """Evaluates the stateless nodes feeding one spiking node, memoised."""

    def __init__(
        self,
        flat: Graph,
        shapes: GraphShapes,
        target: str,
        inner: set[str],
        back: set[tuple[str, str]],
    ) -> None:
        self.flat, self.shapes, self.target, self.inner, self.back = (
            flat,
            shapes,
            target,
            inner,
            back,
        )

    def _inputs(self, name: str, value_of: Callable[[str], Any]) -> list[tuple[Any, bool]]:
        return [(value_of(p), (p, name) in self.back) for p in self.flat.predecessors(name)]

    def matrix(self, source: str) -> tuple[np.ndarray, int]:
        """``(n, n_source)`` map from ``source`` to the target's input, and how many back edges
        its paths cross."""
        n_source = math.prod(self.shapes[source].output)
        size = math.prod(self.shapes[self.target].output)
        if n_source * size > MAX_DENSE_ENTRIES:
            raise LoweringError(
                f"the map from {source!r} would be a dense matrix of more than "
                f"{MAX_DENSE_ENTRIES} entries",
                node=self.target,
            )
        eye = np.eye(n_source).reshape(n_source, *self.shapes[source].output)
        total, crossings = self.apply(source, eye)
        return total.reshape(n_source, size).T.copy(), crossings

    def apply(self, source: str, values: np.ndarray) -> tuple[np.ndarray, int]:
        """The target's input (without constants) when ``source`` emits ``values``
        ``(batch, *shape)`` and every other source is silent, and the back edges crossed."""
        memo: dict[str, tuple[np.ndarray, int] | None] = {}

        def value(name: str) -> Any:
            if name == source:
                return values, 0
            if name not in self.inner:
                return None
            if name not in memo:
                total, crossings = self._sum(name, value)
                memo[name] = None
                if total is not None:
                    out = self.shapes[name].output
                    result = apply_node(self.flat.node(name), total, out, name, with_bias=False)
                    memo[name] = (result, crossings)
            return memo[name]

        return self._sum(self.target, value)

    def _sum(self, name: str, value_of: Callable[[str], Any]) -> tuple[Any, Any]:
        total, crossings = None, None
        shape = self.shapes[name].input
        for val, crossed in self._inputs(name, value_of):
            if val is None:
                continue
            array, count = val
            count += int(crossed)
            if crossings is not None and count != crossings:
                raise LoweringError(
                    "paths of different lengths in time meet here (one crosses a back edge, "
                    "the other does not)",
                    node=name,
                )
            crossings = count
            array = array.reshape(array.shape[0], *shape)
            total = array if total is None else total + array
        return total, crossings

    def bias(self) -> tuple[np.ndarray, np.ndarray]:
        """The target's constant inputs: from the first step, and from the second."""
        memo: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        def value(name: str) -> tuple[np.ndarray, np.ndarray]:
            if name in memo:
                return memo[name]
            shape = self.shapes[name]
            if name not in self.inner:
                zeros = np.zeros((1, *shape.output))
                return zeros, zeros
            now, late = self._sum_bias(name, value)
            now = apply_node(self.flat.node(name), now, shape.output, name, with_bias=True)
            late = apply_node(self.flat.node(name), late, shape.output, name, with_bias=False)
            memo[name] = (now, late)
            return memo[name]

        now, late = self._sum_bias(self.target, value)
        return now[0], late[0]

    def _sum_bias(self, name: str, value_of: Callable[[str], Any]) -> tuple[np.ndarray, np.ndarray]:
        shape = self.shapes[name].input
        now, late = np.zeros((1, *shape)), np.zeros((1, *shape))
        for (a, b), crossed in self._inputs(name, value_of):
            a, b = a.reshape(1, *shape), b.reshape(1, *shape)
            if crossed:
                if np.any(b != 0):
                    raise LoweringError(
                        "a constant input crosses two back edges (it would start at the third "
                        "step); netx cannot time it",
                        node=name,
                    )
                a, b = np.zeros_like(a), a
            now, late = now + a, late + b
        return now, late


def _chain_of(flat: Graph, node: str, previous: str, inner: set[str]) -> list[str] | None:
    """The stateless nodes from ``previous`` to ``node`` when they form a plain chain."""
    chain: list[str] = []
    current = node
    while True:
        preds = flat.predecessors(current)
        if len(preds) != 1:
            return None
        (pred,) = preds
        if pred == previous:
            return chain[::-1] if set(chain) == inner else None
        if pred not in inner or len(flat.successors(pred)) != 1:
            return None
        chain.append(pred)
        current = pred


def _convolves(node: Node) -> bool:
    """Convolutions, pooling and per-channel scalings fold into one convolution."""
    return SCHEMA[node.type].shape in ("conv", "pool") or node.type == "Scale"


def _conv_chain(
    flat: Graph, shapes: GraphShapes, node: str, previous: str, inner: set[str]
) -> tuple[Conv | None, str | None]:
    """The feed-forward chain as one convolution, when it is convolutions, pooling and
    per-channel scalings between images."""
    chain = _chain_of(flat, node, previous, inner)
    if not chain or not all(_convolves(flat.node(n)) for n in chain):
        return None, None
    if all(flat[n].type == "Scale" for n in chain):
        return None, None
    conv = None
    first_size = tuple(shapes[chain[0]].input)[1:]
    for name in chain:
        in_shape = tuple(shapes[name].input)
        if len(in_shape) != 3:
            return None, None
        if flat[name].type == "Scale":
            step = _scale_conv(flat.node(name), in_shape)
        else:
            step = conv_of(flat.node(name), name, in_shape)
        if step is None:
            return None, f"{node}: scaling {name!r} varies within a channel; lowered as dense"
        if conv is None:
            conv = step
            continue
        joined = compose(conv, step, first_size)
        if joined is None:
            return None, (
                f"{node}: {name!r} does not fold into one convolution with what precedes it "
                "(padding reads beyond the pooled image); lowered as a dense layer"
            )
        conv = joined
    return conv, None


def _scale_conv(node: Node, in_shape: tuple[int, ...]) -> Conv | None:
    scale = np.broadcast_to(np.asarray(node.scale, np.float64), in_shape)
    per_channel = scale.reshape(in_shape[0], -1)
    if np.any(per_channel != per_channel[:, :1]):
        return None
    channels = in_shape[0]
    weight = per_channel[:, 0].reshape(channels, 1, 1, 1)
    return Conv(weight, (1, 1), (0, 0), (1, 1), np.zeros(channels), channels)


def _check_conv(
    conv: Conv, evaluator: _Evaluator, source: str, source_shape: tuple[int, ...], node: str
) -> None:
    """The composed convolution must reproduce the graph on random images (a guard on
    `compose`, and on the feed-forward path crossing no back edge)."""
    probe = np.random.default_rng(0).normal(size=(2, *source_shape))
    want, crossings = evaluator.apply(source, probe)
    got = conv.apply(probe, with_bias=False)
    if crossings or got.size != want.size:
        raise LoweringError("internal: the composed convolution differs from the graph", node=node)
    if not np.allclose(got.reshape(2, -1), want.reshape(2, -1), rtol=1e-9, atol=1e-9):
        raise LoweringError("internal: the composed convolution differs from the graph", node=node)


def _delays(
    flat: Graph, node: str, previous: str, inner: set[str], semantics: Semantics
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Steps of ``Delay`` nodes opening (per source element) or closing (per neuron) the
    feed-forward chain."""
    delays = [n for n in inner if flat[n].type == "Delay"]
    if not delays:
        return None, None
    chain = _chain_of(flat, node, previous, inner)
    if chain is None:
        raise LoweringError(
            "a Delay inside a branching segment has no netx counterpart (delays must open or "
            "close a plain chain of synapses)",
            node=delays[0],
        )
    pre = post = None
    for name in delays:
        if name not in (chain[0], chain[-1]):
            raise LoweringError(
                "netx delays sit on synapses: a Delay must come right after the previous layer "
                "or right before the neurons",
                node=name,
            )
        try:
            steps = steps_of(flat.node(name).delay, semantics.dt, name)
        except GraphError as err:
            raise LoweringError(err.reason, node=name, field="delay") from None
        steps = np.asarray(steps).reshape(-1)
        if steps.max(initial=0) > 62:
            raise LoweringError(
                f"a delay of {int(steps.max())} steps exceeds netx's 62", node=name, field="delay"
            )
        if name == chain[-1]:
            post = steps
        else:
            pre = steps
    return pre, post
