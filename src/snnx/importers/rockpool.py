"""Rockpool models as snnx graphs: ``Sequential`` chains of ``LIFJax`` / ``LIFTorch`` / ``LIF``
(numpy) neurons, recurrent or not, and ``LinearJax`` / ``LinearTorch`` / ``Linear`` weights.

Facts about Rockpool 3.1 (measured against its modules, which stay Rockpool's; nothing of its
code is used here): a linear layer computes ``x @ weight (+ bias)`` with ``weight`` of shape
``(in, out)``. An LIF layer, per step with ``a = exp(-dt/tau_mem)``, ``b = exp(-dt/tau_syn)``
and ``s`` last step's spike counts: ``i <- b (i + x + s @ w_rec)``, ``v <- a v + i + bias``,
then ``floor(v / threshold)`` spikes where ``v >= threshold`` (at most ``max_spikes_per_dt``),
each subtracting the threshold at once; state starts at zero.

That is a NIR ``CubaLIF`` whose fields give those gains under the ``rockpool`` profile's
``exp-decay`` integrator at the module's ``dt``: ``w_in = b tau_syn / dt`` (the current adds
``b x``), ``r = tau_mem / dt`` (the voltage adds the new current with gain 1), ``v_leak = bias /
(1 - a)`` (the bias per step), ``v_threshold = threshold``; ``w_rec`` becomes a ``Linear``
(``w_rec`` transposed) on a loop from the neuron back to itself, whose spikes arrive a step
later. The graph stores the ``rockpool`` profile at the model's ``dt`` (``max_spikes`` set where
a layer limits its spikes per step).

Refused, each with a `ConversionError` naming the layer: membrane noise, more than one synapse
per neuron, non-spiking output, layers with different ``dt`` or spike limits, and module types
other than those above.

>>> f = lif_fields(tau_mem=2e-3, tau_syn=1e-3, bias=0.1, threshold=1.0, dt=1e-3)
>>> round(float(f["w_in"] * 1e-3 / f["tau_syn"]), 6)  # the current's gain: exp(-1)
0.367879
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnx.dynamics import leaky
from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.semantics import Semantics

LINEARS = ("Linear", "LinearJax", "LinearTorch")
NEURONS = ("LIF", "LIFJax", "LIFTorch")
#: Rockpool's default spike limit per step: no limit in practice.
NO_LIMIT = 2.0**16


def _array(value: Any) -> np.ndarray:
    """A parameter as float64 numpy (numpy, JAX or torch arrays, plain numbers)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, np.float64)


@dataclasses.dataclass
class _Build:
    graph: Graph
    dts: dict[str, float] = dataclasses.field(default_factory=dict)
    limits: dict[str, float] = dataclasses.field(default_factory=dict)


def from_rockpool(model: Any) -> Graph:
    """Convert a Rockpool 3.1 model (a ``Sequential`` of the supported modules, or one module)
    into an snnx graph that runs as Rockpool runs it under its stored ``rockpool`` semantics
    (see the module docstring). Needs Rockpool (the xylo tier's tests run it):

    >>> from rockpool.nn.modules import LIF, Linear  # doctest: +SKIP
    >>> from rockpool.nn.combinators import Sequential  # doctest: +SKIP
    >>> g = from_rockpool(Sequential(Linear((3, 2)), LIF(2)))  # doctest: +SKIP
    >>> [g[n].type for n in g.flow_order()]  # doctest: +SKIP
    ['Input', 'Linear', 'CubaLIF', 'Output']
    """
    layers = list(model.modules().items()) if type(model).__name__.endswith("Sequential") else []
    if not layers:
        layers = [("0", model)]
    size_in = int(layers[0][1].size_in)
    build = _Build(Graph({"input": Node("Input", shape=np.array([size_in]))}, []))
    last = "input"
    for name, module in layers:
        last = _add(build, str(name), module, last)
    size_out = int(layers[-1][1].size_out)
    build.graph.add_node("output", Node("Output", shape=np.array([size_out])))
    build.graph.add_edge(last, "output")
    dt = _agreed(build.dts, "dt", 1e-3)
    limit = _agreed(build.limits, "max_spikes_per_dt", NO_LIMIT)
    max_spikes = 0 if limit >= NO_LIMIT else int(limit)
    if limit < 1 or max_spikes not in (0, limit):
        raise ConversionError(
            f"max_spikes_per_dt={limit:g} is not a whole number of spikes",
            node=next(iter(build.limits)),
        )
    build.graph.semantics = Semantics.profile("rockpool", dt=dt, max_spikes=max_spikes)
    build.graph.check()
    return build.graph


def _add(build: _Build, name: str, module: Any, src: str) -> str:
    kind = type(module).__name__
    graph = build.graph
    if kind in LINEARS:
        weight = _array(module.weight).T
        bias = getattr(module, "bias", None)
        if bias is None or not getattr(module, "_has_bias", True):
            node = Node("Linear", weight=weight)
        else:
            node = Node("Affine", weight=weight, bias=np.broadcast_to(_array(bias), len(weight)))
        graph.add_node(name, node)
        graph.add_edge(src, name)
        return name
    if kind not in NEURONS:
        raise ConversionError(
            f"unsupported Rockpool module {kind}; supported: {', '.join(LINEARS + NEURONS)} "
            "in a Sequential",
            node=name,
        )
    n = int(module.size_out)
    if int(module.size_in) != n:
        raise ConversionError(
            f"{module.size_in // n} synapses per neuron; snnx's CubaLIF has one", node=name
        )
    if float(module.noise_std) != 0.0:
        raise ConversionError(f"noise_std={float(module.noise_std):g}: membrane noise", node=name)
    if not getattr(module, "spiking_output", True):
        raise ConversionError("spiking_output=False: the layer emits no spikes", node=name)
    dt = float(module.dt)
    build.dts[name] = dt
    build.limits[name] = float(module.max_spikes_per_dt)
    given = {k: np.broadcast_to(_array(getattr(module, k)).reshape(-1), n) for k in _LIF_PARAMETERS}
    fields = lif_fields(**given, dt=dt)
    graph.add_node(name, Node("CubaLIF", **fields))
    graph.add_edge(src, name)
    w_rec = _array(module.w_rec) if hasattr(module, "w_rec") else np.zeros(0)
    if np.any(w_rec):
        graph.add_node(f"{name}.w_rec", Node("Linear", weight=w_rec.T.copy()))
        graph.add_edge(name, f"{name}.w_rec")
        graph.add_edge(f"{name}.w_rec", name)
    return name


_LIF_PARAMETERS = ("tau_mem", "tau_syn", "bias", "threshold")


def lif_fields(tau_mem: Any, tau_syn: Any, bias: Any, threshold: Any, dt: float) -> dict:
    """The NIR ``CubaLIF`` fields of a Rockpool LIF layer (module docstring), float64.

    >>> f = lif_fields(tau_mem=2e-3, tau_syn=1e-3, bias=0.0, threshold=1.0, dt=1e-3)
    >>> float(f["r"]), float(f["v_leak"])  # gain 1 from the current, no bias
    (2.0, 0.0)
    """
    tau_mem, tau_syn, bias = (np.asarray(v, np.float64) for v in (tau_mem, tau_syn, bias))
    decay_syn = leaky(tau_syn, 1.0, 0.0, dt, "exact")[0]  # exp(-dt / tau_syn)
    decay_mem = leaky(tau_mem, 1.0, 0.0, dt, "exact")[0]
    return dict(
        tau_syn=tau_syn.copy(),
        tau_mem=tau_mem.copy(),
        r=tau_mem / dt,
        w_in=decay_syn * tau_syn / dt,
        v_leak=bias / (1.0 - decay_mem),
        v_threshold=np.asarray(threshold, np.float64).copy(),
    )


def _agreed(values: dict[str, float], what: str, default: float) -> float:
    """The one value every neuron layer has; a `ConversionError` naming two that differ."""
    distinct = {v: k for k, v in values.items()}
    if len(distinct) > 1:
        names = sorted(distinct.values())
        raise ConversionError(
            f"layers {names[0]} and {names[1]} have different {what} "
            f"({', '.join(f'{k}: {v:g}' for k, v in values.items())}); snnx runs one per graph",
            node=names[0],
        )
    return next(iter(values.values()), default)
