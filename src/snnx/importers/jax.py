"""JAX models as snnx graphs: Equinox models built from snnx's Equinox modules
(`snnx.equinox_modules`) and ``eqx.nn`` layers, and Spyx models through Spyx's own NIR
export.

`from_equinox` maps ``eqx.nn.Linear`` to ``Affine``/``Linear`` (``W x + b``), ``eqx.nn.Conv1d``/
``Conv2d`` to ``Conv1d``/``Conv2d`` (symmetric padding only), ``eqx.nn.AvgPool2d`` to
``AvgPool2d``, `Flatten` to ``Flatten``, the neuron modules to their NIR nodes, a `Sequential` to a
chain and a `Network` to a subgraph with its edges (recurrence included). The semantics the model
runs under is stored in the graph.

`from_spyx` calls ``spyx.nir.to_nir`` and mends its quirk: Spyx writes ``r = beta`` for a LIF
(and leaves ``w_in = 1``), which under NIR's equations under-drives every neuron; Spyx's own step
adds its input with gain 1, i.e. ``r = tau / dt`` (CubaLIF also ``w_in = tau_syn / dt``; IF
``r = 1 / dt``), and it wires a recurrent layer's input through the recurrent weights
(``input -> w_rec <-> lif``) where Spyx adds it to the neuron directly, which is rewired
(``input -> lif``). The graph stores the ``spyx`` profile at Spyx's ``dt``. Spyx's recurrent layers
(``RLIF``, ``RCuBaLIF``) feed back the spike in the step they emit it, one step after the
crossing: the simulator schedules such late spikes at the start of a step, so the loop needs no
back edge; a simulator without that schedule refuses them.

>>> import jax, equinox as eqx
>>> from snnx.equinox_modules import LIF, Sequential
>>> net = Sequential((eqx.nn.Linear(3, 2, key=jax.random.PRNGKey(0)), LIF.init(2, tau=1e-3)))
>>> sorted(from_equinox(net, (3,)).nodes)
['0', '1', 'input', 'output']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from snnx.equinox_modules import Flatten, Network, Neuron, Sequential
from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA, SPIKING_NEURONS
from snnx.semantics import Semantics

SUPPORTED = (
    "eqx.nn.Linear, eqx.nn.Conv1d, eqx.nn.Conv2d, eqx.nn.AvgPool2d, eqx.nn.Identity, "
    "snnx Flatten, LIF, LI, IF, I, CubaLIF, CubaLI, Sequential, Network"
)


def from_equinox(
    model: Any, shape: Sequence[int], semantics: Semantics | str = "nir-reference"
) -> Graph:
    """Convert an Equinox model (see the module docstring) whose input is one sample of
    ``shape``; ``semantics`` is what it runs under (`equinox_modules.run`)."""
    semantics = Semantics.profile(semantics) if isinstance(semantics, str) else semantics
    graph = Graph()
    graph.add_node("input", Node("Input", shape=[int(n) for n in shape]))
    top = "" if isinstance(model, (Sequential, Network)) else type(model).__name__.lower()
    last = _add(graph, model, top, ["input"])
    graph.add_node("output", Node("Output", shape=[1]))
    for src in last:
        graph.add_edge(src, "output", allow_duplicate=True)
    _fix_output(graph)
    graph.semantics = semantics
    graph.check()
    return graph


def _fix_output(graph: Graph) -> None:
    from snnx.ir.shapes import infer_shapes

    probe = graph.copy()
    probe.remove_node("output")
    shapes = infer_shapes(probe)
    src = graph.predecessors("output")[0]
    graph.replace_node("output", Node("Output", shape=list(shapes[src].output)))


def _add(graph: Graph, layer: Any, name: str, inputs: list[str]) -> list[str]:
    """Add ``layer`` (named ``name``) fed by ``inputs``; return what its output is."""
    if isinstance(layer, Sequential):
        for i, child in enumerate(layer.layers):
            inputs = _add(graph, child, f"{name}.{i}" if name else str(i), inputs)
        return inputs
    if isinstance(layer, Network):
        return _network(graph, layer, name, inputs)
    import equinox as eqx

    if isinstance(layer, eqx.nn.Identity):
        return inputs
    node = node_of(layer, name)
    graph.add_node(name, node)
    for src in inputs:
        graph.add_edge(src, name, allow_duplicate=True)
    return [name]


def _network(graph: Graph, net: Network, name: str, inputs: list[str]) -> list[str]:
    if len(net.inputs) != 1 or len(net.outputs) != 1:
        raise ConversionError("a nested Network needs one input and one output", node=name)
    prefix = f"{name}." if name else ""
    ends: dict[str, list[str]] = {net.inputs[0]: inputs}
    order, back, _ = net.schedule()
    pending = []
    for layer_name in order:
        full = f"{prefix}{layer_name}"
        srcs = []
        for a, b in net.edges:
            if b != layer_name:
                continue
            if (a, b) in back:
                pending.append((a, full))
            else:
                srcs += ends[a]
        ends[layer_name] = _add(graph, net.layers[layer_name], full, srcs)
    for a, full in pending:
        for src in ends[a]:
            graph.add_edge(src, full, allow_duplicate=True)
    return [s for a, b in net.edges if b == net.outputs[0] for s in ends[a]]


def _pairs(padding: Any, name: str) -> np.ndarray:
    pads = np.asarray(padding).reshape(-1, 2)
    if np.any(pads[:, 0] != pads[:, 1]):
        raise ConversionError(f"asymmetric padding {pads.tolist()} has no NIR form", node=name)
    return pads[:, 0].astype(np.int64)


def node_of(layer: Any, name: str) -> Node:
    """The NIR node of one stateless ``eqx.nn`` layer or snnx Equinox neuron (`SUPPORTED`)."""
    import equinox as eqx

    if isinstance(layer, Neuron):
        return layer.node()
    if isinstance(layer, eqx.nn.Linear):
        weight = np.asarray(layer.weight)
        if weight.ndim != 2:
            raise ConversionError("a Linear must map vectors to vectors", node=name)
        if layer.bias is None:
            return Node("Linear", weight=weight)
        return Node("Affine", weight=weight, bias=np.asarray(layer.bias))
    if isinstance(layer, (eqx.nn.Conv1d, eqx.nn.Conv2d)):
        weight = np.asarray(layer.weight)
        bias = np.zeros(weight.shape[0], weight.dtype) if layer.bias is None else layer.bias
        return Node(
            "Conv1d" if isinstance(layer, eqx.nn.Conv1d) else "Conv2d",
            weight=weight,
            bias=np.asarray(bias).reshape(-1),
            stride=np.asarray(layer.stride),
            padding=_pairs(layer.padding, name),
            dilation=np.asarray(layer.dilation),
            groups=int(layer.groups),
        )
    if isinstance(layer, eqx.nn.AvgPool2d):
        return Node(
            "AvgPool2d",
            kernel_size=np.asarray(layer.kernel_size),
            stride=np.asarray(layer.stride),
            padding=_pairs(layer.padding, name),
        )
    if isinstance(layer, Flatten):
        return Node("Flatten", start_dim=np.int64(layer.start_dim), end_dim=np.int64(layer.end_dim))
    raise ConversionError(
        f"unsupported layer type {type(layer).__module__}.{type(layer).__qualname__}; "
        f"supported: {SUPPORTED}",
        node=name or "(model)",
    )


def from_spyx(
    model: Any, input_shape: Sequence[int], output_shape: Sequence[int], *, dt: float = 1.0
) -> Graph:
    """Convert a Spyx 1.0 model through ``spyx.nir.to_nir`` (per-sample shapes of its input and
    output, channels first for convolutions as NIR has them), mending the ``r = beta`` quirk
    (see the module docstring)."""
    import spyx.nir

    shapes_in = {"input": np.asarray(list(input_shape))}
    shapes_out = {"output": np.asarray(list(output_shape))}
    nir_graph = spyx.nir.to_nir(model, shapes_in, shapes_out, dt)
    graph = Graph.from_nir(nir_graph)
    from snnx.sim.ops import OPS

    for name, payload in graph.nodes.items():
        if isinstance(payload, Graph) and getattr(OPS["LIF"], "early", None) is None:
            raise ConversionError(
                "Spyx's recurrent layers feed back the spike in the step they emit it (one step "
                "after the crossing), which a NIR back edge (last step's output) cannot express",
                node=name,
            )
    graph = _mend_spyx(graph, dt)
    graph.semantics = Semantics.profile("spyx", dt=dt)
    graph.check()
    return graph


def _rewire_recurrent(graph: Graph) -> Graph:
    """Spyx writes a recurrent layer as ``input -> w_rec <-> lif``: its input would pass through
    the recurrent weights, but Spyx adds it to the neuron directly (``input -> lif``)."""
    out = graph.copy()
    for src, dst in graph.edges:
        if graph[src].type != "Input" or SCHEMA[graph[dst].type].shape != "dense":
            continue
        for neuron in set(graph.successors(dst)):
            if graph[neuron].type in SPIKING_NEURONS and graph.has_edge(neuron, dst):
                out.remove_edge(src, dst)
                out.add_edge(src, neuron)
                break
    return out


def _mend_spyx(graph: Graph, dt: float) -> Graph:
    out = graph.copy()
    for name, payload in graph.nodes.items():
        if isinstance(payload, Graph):
            out.replace_node(name, _rewire_recurrent(_mend_spyx(payload, dt)))
        elif payload.type == "LIF":
            tau = np.asarray(payload.tau, np.float64)
            out.replace_node(name, payload.replace(r=tau / dt, v_leak=np.zeros_like(tau)))
        elif payload.type == "CubaLIF":
            tau_mem = np.asarray(payload.tau_mem, np.float64)
            tau_syn = np.asarray(payload.tau_syn, np.float64)
            out.replace_node(
                name,
                payload.replace(r=tau_mem / dt, w_in=tau_syn / dt, v_leak=np.zeros_like(tau_mem)),
            )
        elif payload.type == "IF":
            r = np.full(np.shape(payload.r), 1.0 / dt)
            out.replace_node(name, payload.replace(r=r))
    return out
