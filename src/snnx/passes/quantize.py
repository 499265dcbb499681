"""Post-training quantization of synapse weights, thresholds scaled together with them.

Every dense or convolutional synapse feeding a neuron layer gets one scale ``s`` per layer
(``per="tensor"``) or per neuron (``per="channel"``), shared by all synapses into that layer so the
neuron sums integers of one unit:

    s = (2^(bits-1) - 1) / max |W|        (a power of two at or below it with ``power_of_two``)
    W_int = clip(round(W s), -(2^(bits-1) - 1), 2^(bits-1) - 1)

``mode="fake"`` stores ``W_int / s`` (the graph keeps its units: what a quantized chip computes,
seen in float); ``mode="integer"`` stores ``W_int``, and the bias and the neuron's ``v_threshold``,
``v_leak`` and ``v_reset`` times ``s``: the voltage (and current) then count in weight units, and
every comparison with the threshold is the one the float network made, up to the weights'
rounding. Scaling ``r`` too would count ``s`` twice, so ``r`` and ``w_in`` stay. Biases and
voltages are scaled, not rounded: chips hold them with more bits than weights (Loihi six more,
Xylo the weight shift), and each target's lowering rounds them at its own resolution.

``state_bits`` bounds the states: with calibration inputs, ``s`` is lowered until the largest
membrane voltage and current seen (and the threshold) fit in ``2^(state_bits-1) - 1``.

Presets (``preset=TARGET``): each target's ``quantize_preset`` (the grid the chip stores weights
on; `snnx.targets.base.Target`). The per-layer report (``ctx.report["quantize"]``) gives each
synapse's scale, its largest weight error (at most half a step: the pass's bound) and, with
calibration inputs, each layer's spike agreement with the float network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import NEURONS, SPIKING_NEURONS, WEIGHTED
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import stored

SYNAPSES = WEIGHTED
VOLTAGES = ("v_threshold", "v_leak", "v_reset")


def options_of(ctx: PassContext) -> dict[str, Any]:
    """The quantization options: the preset's, overridden by explicit ones."""
    given = dict(ctx.options)
    preset = given.pop("preset", None)
    merged = {
        "bits": 8,
        "per": "tensor",
        "mode": "fake",
        "power_of_two": False,
        "state_bits": None,
        "round": None,
    }
    merged.update(_preset(preset) if preset is not None else {})
    merged.update({k: v for k, v in given.items() if k in merged or k == "calibration"})
    if merged["per"] not in ("tensor", "channel") or merged["mode"] not in ("fake", "integer"):
        raise SnnxError("quantize needs per='tensor'|'channel' and mode='fake'|'integer'")
    return merged


def _preset(name: str) -> dict[str, Any]:
    """The options of target ``name``'s grid (`snnx.targets.base.Target.quantize_preset`)."""
    from snnx.targets import get_target, target_names

    presets = [t for t in target_names() if get_target(t).quantize_preset]
    if name not in presets:
        raise SnnxError(f"unknown quantization preset {name!r}; presets: {', '.join(presets)}")
    return dict(get_target(name).quantize_preset)


def layer_scale(weights: list[np.ndarray], bits: int, per: str, power_of_two: bool) -> np.ndarray:
    """The scale of a neuron layer from the weights of every synapse into it (rows = neurons):
    ``(2^(bits-1) - 1) / max |W|``, per layer or per row; a power of two at or below it if asked.

    >>> layer_scale([np.array([[0.5, -1.0], [0.25, 0.1]])], bits=8, per="channel", power_of_two=True).tolist()
    [64.0, 256.0]
    """
    top = 2 ** (bits - 1) - 1
    rows = [np.abs(w.reshape(w.shape[0], -1)).max(axis=1) for w in weights]
    if per == "channel":
        largest = np.max(np.stack(rows), axis=0)
    else:
        largest = np.full(rows[0].shape, max(r.max() for r in rows))
    scale = np.where(largest > 0, top / np.where(largest > 0, largest, 1.0), 1.0)
    return 2.0 ** np.floor(np.log2(scale)) if power_of_two else scale


@register("quantize", exact=False)
def quantize(graph: Graph, ctx: PassContext) -> Graph:
    """Quantize every synapse that feeds a neuron layer (see the module docstring): weights on
    a ``bits``-bit grid with one scale per layer or per neuron (per output channel of a
    convolution), shared by all synapses into it; in integer mode, biases and voltages scaled with
    the weights. Other synapses are quantized on their own scale, in fake mode."""
    opts = options_of(ctx)
    if opts["round"] is not None:
        return _rounded(graph, ctx, opts)
    graph = graph.flatten() if any(isinstance(graph[n], Graph) for n in graph) else graph.copy()
    shapes = graph.check()
    limits = _state_limits(graph, ctx, opts)
    report = {}
    done = set()
    for neuron in graph.of_type(*NEURONS):
        feeding = [
            p for p in dict.fromkeys(graph.predecessors(neuron)) if graph[p].type in SYNAPSES
        ]
        exclusive = [p for p in feeding if set(graph.successors(p)) == {neuron}]
        if not exclusive:
            continue
        weights = [np.asarray(graph.node(p).weight, np.float64) for p in exclusive]
        rows = {w.shape[0] for w in weights}
        per = opts["per"] if len(rows) == 1 else "tensor"
        scale = layer_scale(weights, opts["bits"], per, power_of_two=False)
        if per == "tensor":
            scale = scale[:1]
        if neuron in limits:
            scale = np.minimum(scale, limits[neuron])
        if opts["power_of_two"]:
            scale = 2.0 ** np.floor(np.log2(scale))
        integer = opts["mode"] == "integer" and graph[neuron].type in SPIKING_NEURONS
        for p in exclusive:
            graph.replace_node(p, _quantized(graph.node(p), scale, opts["bits"], integer))
            report[p] = _error(scale, opts, integer, neuron)
            done.add(p)
        if integer:
            graph.replace_node(
                neuron, _scaled_voltages(graph.node(neuron), scale, shapes[neuron].output)
            )
        ctx.note(
            f"quantized to {opts['bits']} bits ({opts['mode']}, per {per})", *exclusive, neuron
        )
    for p in graph.of_type(*SYNAPSES):
        if p not in done:
            scale = layer_scale(
                [np.asarray(graph.node(p).weight, np.float64)],
                opts["bits"],
                "tensor",
                opts["power_of_two"],
            )[:1]
            graph.replace_node(p, _quantized(graph.node(p), scale, opts["bits"], False))
            report[p] = _error(scale, opts, False, None)
            ctx.note(f"quantized to {opts['bits']} bits on its own scale (fake)", p)
    ctx.report["quantize"] = report
    return graph


def _row_factor(scale: np.ndarray, rows: int, ndim: int) -> np.ndarray:
    """The scale (one value, or one per row) shaped to multiply a weight of ``ndim`` dimensions."""
    return np.broadcast_to(scale, (rows,)).reshape(rows, *([1] * (ndim - 1)))


def _quantized(node: Node, scale: np.ndarray, bits: int, integer: bool) -> Node:
    """The synapse's weight on the grid: ``clip(round(W s))``, stored as such (integer) or
    divided back by ``s`` (fake); in integer mode the bias times ``s`` too."""
    top = 2 ** (bits - 1) - 1
    weight = np.asarray(node.weight, np.float64)
    factor = _row_factor(scale, weight.shape[0], weight.ndim)
    levels = np.clip(np.round(weight * factor), -top, top)
    changes = {"weight": stored(levels if integer else levels / factor, node.weight)}
    if integer and "bias" in node.fields:
        bias = np.broadcast_to(
            np.asarray(node.bias, np.float64), (weight.shape[0],)
        ) * factor.reshape(-1)
        changes["bias"] = stored(bias, node.bias)
    return node.replace(**changes)


def _scaled_voltages(node: Node, scale: np.ndarray, shape: tuple[int, ...]) -> Node:
    """``v_threshold``, ``v_leak``, ``v_reset`` times the layer's scale (per neuron, or per channel
    of a ``(C, H, W)`` layer)."""
    factor = (
        np.broadcast_to(scale, (shape[0],)).reshape(shape[0], *([1] * (len(shape) - 1)))
        if scale.size > 1
        else scale[0]
    )
    changes = {}
    for key in VOLTAGES:
        if key in node.fields:
            value = np.asarray(node.fields[key], np.float64) * factor
            if np.ndim(value) and np.shape(value) != shape:
                value = np.broadcast_to(value, shape)
            changes[key] = stored(value, node.fields[key])
    return node.replace(**changes)


def _error(scale: np.ndarray, opts: dict, integer: bool, neuron: str | None) -> dict[str, Any]:
    return {
        "feeds": neuron,
        "bits": opts["bits"],
        "scale_min": float(np.min(scale)),
        "scale_max": float(np.max(scale)),
        "stored": "integers" if integer else "float on the grid",
        "max_weight_error_bound": float(0.5 / np.min(scale)),
    }


def _state_limits(graph: Graph, ctx: PassContext, opts: dict) -> dict[str, np.ndarray]:
    """With calibration inputs and ``state_bits``, the largest scale per neuron layer that keeps
    the voltage, the current and the threshold within the state range."""
    calibration = opts.get("calibration")
    if opts["state_bits"] is None or calibration is None or ctx.semantics is None:
        return {}
    from snnx.sim import Simulator

    # every neuron but the pure integrator I, as this pass has always calibrated
    neurons = [n for n in graph.of_type(*NEURONS) if graph.node(n).type != "I"]
    records = Simulator(graph, ctx.semantics, record=neurons)(calibration).records
    top = 2 ** (opts["state_bits"] - 1) - 1
    limits = {}
    for name in neurons:
        peak = max(
            float(np.abs(records[key]).max(initial=0.0))
            for key in (f"{name}.v", f"{name}.i")
            if key in records
        )
        threshold = float(
            np.abs(np.asarray(graph.node(name).get("v_threshold", 0.0))).max(initial=0.0)
        )
        largest = max(peak, threshold)
        if largest > 0:
            limits[name] = np.asarray(top / largest)
            ctx.note(
                f"calibrated: states up to {largest:.4g} must fit {opts['state_bits']} bits", name
            )
    return limits


def _rounded(graph: Graph, ctx: PassContext, opts: dict[str, Any]) -> Graph:
    """Every real field rounded by the preset's ``round`` (float16 for Lynxi), stored back in
    its own dtype; a value the format cannot hold is the rounding's error, naming it."""
    rounding = opts["round"]
    graph = graph.copy()
    for path, node in list(graph.walk()):
        if isinstance(node, Graph):
            continue
        changes = {
            k: np.asarray(rounding(v, node=path, field=k), np.asarray(v).dtype)
            for k, v in node.fields.items()
            if not isinstance(v, str) and np.asarray(v).dtype.kind == "f"
        }
        *parents, name = path.split("/")
        owner = graph
        for parent in parents:
            owner = owner.subgraph(parent)
        owner.replace_node(name, node.replace(**changes))
    fmt = opts.get("round_name", "the target's format")
    ctx.note(f"every real parameter rounded to {fmt}")
    ctx.report["quantize"] = {
        fmt: True,
        "relative_error_bound": opts.get("relative_error_bound"),
    }
    return graph
