"""Lowering a NIR graph to a netx `Program` for Loihi 2.

For each spiking node in flow order (`chain`): its CUBA decays and per-neuron gains
(`neurons`), what feeds it (`chain.inbound`), then one integer layer (`quantize`):

- weights in threshold units ``q = gain / v_threshold · amplitude · W`` quantized with one
  integer ``vThMant`` per layer (`quantize.quantize`);
- a dense feed-forward map becomes ``dense``, with a recurrent one ``dense_rec``; a chain of
  convolutions, pooling and per-channel scalings between images becomes one ``conv`` (pooling
  folded into the convolution, or alone as a depthwise convolution of ones) -- netx builds no
  pooling layer;
- ``Delay`` nodes become netx's ``delay`` (per neuron, or per synapse);
- constant inputs (biases, an LIF's ``v_leak``) travel on the bias line (see `program`): one
  input channel that is always 1 and a relay neuron per layer, so they start exactly when the
  reference's do (netx's own ``bias`` would start ahead of the pipeline).

Each netx layer adds one step of latency: the ``k``-th layer's spikes appear ``k`` rows after
the reference's, less one for every layer up to it whose reference output is itself a step late
(``spike_output="next-step"``, ``current="previous"``). `LayerMap.latency` carries that.

>>> import snnx
>>> lowered = lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"))
>>> [(m.name, m.node, m.size, m.latency) for m in lowered.layers]
[('1', 'lif1.lif', 38, 1), ('2', 'lif2', 7, 2)]
>>> [(layer.kind, layer.shape, layer.i_decay, layer.v_decay) for layer in lowered.program.layers]
[('dense_rec', (39,), 1843, 410), ('dense', (7,), 2048, 1843)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.shapes import GraphShapes
from snnx.semantics import Semantics
from snnx.targets.base import LayerMap, Lowered
from snnx.targets.loihi import weights as netx_weights
from snnx.targets.loihi.chain import Inbound, inbound, spiking_chain
from snnx.targets.loihi.neurons import Cuba, cuba_neuron
from snnx.targets.loihi.numerics import ACT_SHIFT, STATE_LIMIT
from snnx.targets.loihi.program import Layer, Program
from snnx.targets.loihi.quantize import Quantized, quantize, relay_weight


def lower(graph: Graph, semantics: Semantics, **options: Any) -> Lowered:
    """Lower ``graph`` run under ``semantics`` to a netx program, or raise `LoweringError`."""
    if options:
        raise LoweringError(f"the loihi target takes no options, got {sorted(options)}")
    flat = graph.flatten()
    shapes = flat.check()
    chain = spiking_chain(flat)
    source = flat.inputs[0]
    data_shape = tuple(shapes[source].output)
    cubas, feeds = [], []
    previous = source
    back = flat.back_edges()
    for name in chain:
        cubas.append(cuba_neuron(name, flat.node(name), semantics, math.prod(shapes[name].output)))
        feeds.append(inbound(flat, shapes, name, previous, semantics, back))
        previous = name
    relays, needs_bias = _bias_line(cubas, feeds)
    _check_timing(chain, cubas, feeds, needs_bias)
    amplitudes = [spike_amplitude(semantics, flat[source].type)] + [
        spike_amplitude(semantics, flat[name].type) for name in chain
    ]
    notes: list[str] = []
    layers: list[Layer] = []
    index, shift = 1, 0
    prev = _Previous.of_input(data_shape, needs_bias[0], feeds[0].conv is not None)
    for k, (cuba, feed) in enumerate(zip(cubas, feeds, strict=True)):
        shift += cuba.shift
        if feed.conv is not None and prev.dense:
            feed = _as_dense(feed, flat, shapes, semantics)
        flatten = feed.conv is None and prev.image
        index += int(flatten)
        build = _conv_layer if feed.conv is not None else _dense_layer
        layer, layer_notes = build(
            index, cuba, feed, prev, relays[k], amplitudes[k], amplitudes[k + 1]
        )
        layer.flatten_before = flatten
        layer.latency = k + 1 - shift
        layers.append(layer)
        notes += [*cuba.notes, *feed.notes, *layer_notes]
        prev = _Previous.of_layer(layer, feed.conv is not None)
        index += 1
    first = layers[0]
    input_shape = (
        ((data_shape[0] + 1, *data_shape[1:]) if needs_bias[0] else data_shape)
        if first.kind == "conv"
        else (math.prod(data_shape) + int(needs_bias[0]),)
    )
    program = Program(tuple(input_shape), data_shape, needs_bias[0], layers)
    if needs_bias[0]:
        where = "the last input plane" if first.kind == "conv" else f"input {input_shape[0] - 1}"
        notes.append(
            f"bias line: {where} of model.net must be 1 at every step (biases travel as spikes "
            "through one relay neuron per layer, so they start when the reference's do)"
        )
    notes.append("inputs count as spikes where they are not zero (netx casts unary spikes)")
    maps = [LayerMap(layer.name, layer.node, layer.size, layer.latency) for layer in layers]
    return Lowered("loihi", flat, semantics, maps, program, notes)


class _Previous:
    """What the layer being built receives: the input or the previous layer's output."""

    def __init__(
        self, shape: tuple[int, ...], size: int, relay: int | None, image: bool, dense: bool
    ) -> None:
        self.shape, self.size, self.relay, self.image, self.dense = shape, size, relay, image, dense

    @classmethod
    def of_input(cls, data_shape: tuple[int, ...], bias: bool, conv_first: bool) -> _Previous:
        size = math.prod(data_shape)
        if conv_first:
            channels = data_shape[0] + int(bias)
            relay = size if bias else None
            return cls((channels, *data_shape[1:]), size, relay, True, False)
        return cls((size + int(bias),), size, size if bias else None, False, False)

    @classmethod
    def of_layer(cls, layer: Layer, conv: bool) -> _Previous:
        return cls(layer.shape, layer.size, layer.relay, conv, not conv)

    @property
    def total(self) -> int:
        return math.prod(self.shape)


def spike_amplitude(semantics: Semantics, type_name: str) -> float:
    """What one spike of a node of ``type_name`` (or one input event) is worth: 1 or 1/dt."""
    own = semantics if type_name == "Input" else semantics.for_type(type_name)
    return dynamics.amplitude(own)


def _bias_line(cubas: list[Cuba], feeds: list[Inbound]) -> tuple[list[bool], list[bool]]:
    """Which layers carry a relay neuron, and which need the bias line as input."""
    direct = [
        bool(np.any(f.bias != 0) or np.any(c.leak != 0)) for c, f in zip(cubas, feeds, strict=True)
    ]
    late = [bool(np.any(f.late_bias != 0)) for f in feeds]
    relays = [False] * len(feeds)
    for k in reversed(range(len(feeds))):
        after = k + 1 < len(feeds) and (direct[k + 1] or relays[k + 1])
        relays[k] = late[k] or after
    needs = [direct[k] or relays[k] for k in range(len(feeds))]
    return relays, needs


def _check_timing(
    chain: list[str], cubas: list[Cuba], feeds: list[Inbound], needs_bias: list[bool]
) -> None:
    """Refuse what would put the pipeline out of step with a shifted reference."""
    shifted = None
    for name, cuba, feed, bias in zip(chain, cubas, feeds, needs_bias, strict=True):
        if cuba.shift and shifted is None:
            shifted = name
        knob = "spike_output / current"
        if cuba.shift and feed.recurrent is not None:
            raise LoweringError(
                "its reference output comes a step late (spike_output='next-step' or "
                "current='previous'), so its own spikes return after two steps; netx's "
                "dense_rec returns them after one",
                node=name,
                field=knob,
            )
        if bias and shifted is not None:
            raise LoweringError(
                f"a constant input here would reach the neurons late: {shifted!r} emits a step "
                "late in the reference (spike_output='next-step' or current='previous'), which "
                "the bias line cannot follow",
                node=name,
                field=knob,
            )


def _as_dense(feed: Inbound, flat: Graph, shapes: GraphShapes, semantics: Semantics) -> Inbound:
    """A conv-form feed as a dense matrix (when the previous layer is dense in netx)."""
    size, n_source = feed.size, math.prod(feed.source_shape)
    eye = np.eye(n_source).reshape(n_source, *feed.source_shape)
    assert feed.conv is not None  # called for conv-form feeds only
    matrix = feed.conv.apply(eye, with_bias=False).reshape(n_source, size).T
    feed.matrix, feed.conv = matrix, None
    return feed


def _note_quantization(node: str, q: Quantized, clipped_what: str) -> list[str]:
    notes = [
        f"{node}: vThMant={q.threshold}, 8-bit weights on a grid of 1/{q.threshold // q.grid or 1}"
        f" of the threshold (largest rounding {q.max_error:.3g} threshold)"
    ]
    if q.clipped:
        notes.append(f"{node}: {q.clipped} {clipped_what} clipped to the 8-bit range")
    return notes


def _wrap_note(node: str, effective: np.ndarray, i_decay: int) -> list[str]:
    """A note when the current could wrap if every input spiked at once."""
    drive = float(np.abs(effective).sum(axis=1).max(initial=0)) * (1 << ACT_SHIFT)
    peak = math.inf if i_decay == 0 else drive * 4096 / i_decay
    if peak < STATE_LIMIT:
        return []
    return [
        f"{node}: its current u wraps at 2^23 if inputs worth {STATE_LIMIT / (1 << ACT_SHIFT):.0f}"
        " weight units keep arriving (as Lava's does); at most "
        f"{drive / (1 << ACT_SHIFT):.0f} per step arrive"
    ]


def _dense_layer(
    index: int,
    cuba: Cuba,
    feed: Inbound,
    prev: _Previous,
    relay: bool,
    amp_in: float,
    amp_self: float,
) -> tuple[Layer, list[str]]:
    """A ``dense`` or ``dense_rec`` layer."""
    n = feed.size
    total = n + int(relay)
    per = cuba.gain / cuba.threshold
    constant = per * feed.bias + cuba.leak / cuba.threshold
    q = np.zeros((n, prev.total))
    q[:, : prev.size] = per[:, None] * amp_in * feed.matrix
    if np.any(constant != 0):
        q[:, prev.relay] += constant
    recurrent = feed.recurrent is not None or bool(np.any(feed.late_bias != 0))
    q_rec = None
    if recurrent:
        q_rec = np.zeros((n, total))
        if feed.recurrent is not None:
            q_rec[:, :n] = per[:, None] * amp_self * feed.recurrent
        if np.any(feed.late_bias != 0):
            q_rec[:, n] = per * feed.late_bias
    quantized, weight, weight_rec, exact = dense_matrices(q, q_rec, prev.relay if relay else None)
    if not np.any(weight) and (weight_rec is None or not np.any(weight_rec)):
        raise LoweringError(
            "every weight into this layer quantizes to zero; netx cannot load such a layer",
            node=feed.node,
        )
    layer = Layer(
        index=index,
        kind="dense_rec" if recurrent else "dense",
        node=feed.node,
        size=n,
        shape=(total,),
        weight=weight,
        weight_rec=weight_rec,
        delay=_delay(feed, n, relay, prev, cuba),
        i_decay=cuba.i_decay,
        v_decay=cuba.v_decay,
        threshold=quantized.threshold,
        relay=n if relay else None,
    )
    notes = _note_quantization(feed.node, quantized, "weights")
    applied = _applied(weight, weight_rec)
    if not exact:
        stored = (weight,) if weight_rec is None else (weight, weight_rec)
        differ = sum(int(np.sum(a != s)) for a, s in zip(applied, stored, strict=True))
        notes.append(
            f"{feed.node}: netx applies {differ} weights differently than stored (its sign-mode "
            "rules); the numerics use what it applies"
        )
    notes += _wrap_note(feed.node, np.hstack(applied), cuba.i_decay)
    return layer, notes


def dense_matrices(
    q: np.ndarray, q_rec: np.ndarray | None, relay_input: int | None
) -> tuple[Quantized, np.ndarray, np.ndarray | None, bool]:
    """Integer ``(Quantized, W, W_rec, exact)`` for a dense layer's matrices in threshold units,
    ``q`` ``(n, n_in)`` and ``q_rec`` ``(n, n + relay)`` or ``None``, with a relay row reading
    input ``relay_input`` appended when it is not ``None``.

    netx and Lava apply a matrix as stored only for some sign patterns and magnitudes
    (`weights`); rounding can produce others (a lone small positive weight rounding to 0 leaves
    an inhibitory matrix, a largest magnitude of 128...). So the first ``vThMant`` of the
    rule (`quantize`) whose matrices arrive exactly is taken, trying the rule's value and up to
    16 below it, then the same on the even grid; ``exact`` is False if none does.

    >>> quantized, w, _, exact = dense_matrices(np.array([[0.03125, -16.0]]), None, None)
    >>> quantized.threshold, w.tolist(), exact
    (15, [[0, -240]], True)
    """
    relay = relay_input is not None
    joint = q if q_rec is None else np.hstack([q, q_rec])
    first = None
    for even in (False, True):
        start = quantize(joint, extra_positive=relay, even=even).threshold
        for theta in range(start, max(start - 17, 0), -1):
            quantized = quantize(joint, extra_positive=relay, even=even, threshold=theta)
            weight = quantized.weights[:, : q.shape[1]]
            weight_rec = None if q_rec is None else quantized.weights[:, q.shape[1] :]
            if relay:
                row = np.zeros((1, q.shape[1]), np.int64)
                row[0, relay_input] = relay_weight(quantized.threshold, quantized.grid)
                weight = np.vstack([weight, row])
                if weight_rec is not None:
                    weight_rec = np.vstack(
                        [weight_rec, np.zeros((1, weight_rec.shape[1]), np.int64)]
                    )
            first = first or (quantized, weight, weight_rec)
            stored = (weight,) if weight_rec is None else (weight, weight_rec)
            if not any(np.any(s) for s in stored):
                continue
            try:
                applied = _applied(weight, weight_rec)
            except LoweringError:  # a shifted sum Lava would round: not exact either
                continue
            if all(np.array_equal(a, s) for a, s in zip(applied, stored, strict=True)):
                return quantized, weight, weight_rec, True
    assert first is not None  # the loop always runs: every threshold tried kept its first try
    return (*first, False)


def _applied(weight: np.ndarray, weight_rec: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """What netx and Lava apply per spike, for the stored matrices."""
    if weight_rec is None:
        return (netx_weights.effective_dense(weight),)
    return netx_weights.effective_dense_rec(weight, weight_rec)


def _delay(feed: Inbound, n: int, relay: bool, prev: _Previous, cuba: Cuba) -> np.ndarray | None:
    """netx ``delay``: per neuron ``(n,)`` when only the neurons' inputs are delayed, else per
    synapse ``(n, n_in)``."""
    pre, post = feed.delay_pre, feed.delay_post
    if pre is None and post is None:
        return None
    if post is not None and np.any(cuba.leak != 0):
        raise LoweringError(
            "a delayed input and a v_leak together: the leak would be delayed too",
            node=feed.node,
            field="v_leak",
        )
    post = np.zeros(n, np.int64) if post is None else np.broadcast_to(post, (n,))
    if pre is None:
        return np.concatenate([post, np.zeros(int(relay), np.int64)]).astype(np.int64)
    full = np.zeros((n + int(relay), prev.total), np.int64)
    full[:n, : prev.size] = post[:, None] + np.broadcast_to(pre, (prev.size,))[None, :]
    if prev.relay is not None:
        full[:n, prev.relay] = post
    return full


def _bias_tap(
    layer_in: tuple[int, ...],
    out: tuple[int, ...],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
) -> tuple[int, ...] | None:
    """A kernel position that reads inside the input for every output position, per dim."""
    tap = []
    for n, o, k, s, p, d in zip(layer_in, out, kernel, stride, padding, dilation, strict=True):
        fits = [j for j in range(k) if j * d - p >= 0 and (o - 1) * s - p + j * d <= n - 1]
        if not fits:
            return None
        tap.append(fits[len(fits) // 2])
    return tuple(tap)


def _conv_layer(
    index: int,
    cuba: Cuba,
    feed: Inbound,
    prev: _Previous,
    relay: bool,
    amp_in: float,
    _amp_self: float,
) -> tuple[Layer, list[str]]:
    """A ``conv`` layer (pooling folded in)."""
    conv = feed.conv
    assert conv is not None  # a conv layer is fed through a convolution (`_conv_chain`)
    channels, height, width = feed.shape
    per = (cuba.gain / cuba.threshold).reshape(channels, -1)
    constant = (per.reshape(-1) * feed.bias + cuba.leak / cuba.threshold).reshape(channels, -1)
    for what, values in (("gain / v_threshold", per), ("constant input", constant)):
        if np.any(values != values[:, :1]):
            raise LoweringError(
                f"its {what} varies within a channel; a netx conv layer shares its kernel over "
                "the image",
                node=feed.node,
            )
    per, constant = per[:, 0], constant[:, 0]
    weight = conv.weight * per.reshape(-1, 1, 1, 1) * amp_in
    groups = conv.groups
    tap = None
    if prev.relay is not None:  # the input holds the bias plane: one more input channel
        kernel = weight.shape[2:]
        tap = _bias_tap(
            feed.source_shape[1:], (height, width), kernel, conv.stride, conv.padding, conv.dilation
        )
        if tap is None:
            raise LoweringError(
                "no kernel position reads inside the image for every output, so no synapse "
                "can carry its constant input",
                node=feed.node,
            )
        full = conv.full() * per.reshape(-1, 1, 1, 1) * amp_in
        weight = np.zeros((channels, prev.shape[0], *kernel))
        weight[:, : full.shape[1]] = full
        weight[:, prev.shape[0] - 1, tap[0], tap[1]] = constant
        groups = 1
    quantized = quantize(weight, extra_positive=relay, conv=True)
    stored = quantized.weights
    if relay:
        extra = np.zeros((1, *stored.shape[1:]), np.int64)
        assert tap is not None  # a relaying layer's input holds the bias plane, so `tap` is set
        extra[0, prev.shape[0] - 1, tap[0], tap[1]] = relay_weight(quantized.threshold)
        stored = np.concatenate([stored, extra])
    out_channels = channels + int(relay)
    layer = Layer(
        index=index,
        kind="conv",
        node=feed.node,
        size=feed.size,
        shape=(out_channels, height, width),
        weight=stored,
        stride=tuple(conv.stride),
        padding=tuple(conv.padding),
        dilation=tuple(conv.dilation),
        groups=groups,
        i_decay=cuba.i_decay,
        v_decay=cuba.v_decay,
        threshold=quantized.threshold,
        relay=channels * height * width if relay else None,
    )
    return layer, _note_quantization(feed.node, quantized, "kernel weights")
