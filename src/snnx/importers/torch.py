"""`from_torch`: a PyTorch spiking model as a snnx `Graph`, with the semantics of its framework.

The model is traced symbolically with nirtorch's tracer (`torch.fx`; nothing runs), its layers
becoming leaves when a layer map knows them (`snnx.importers.torch_maps`: plain ``torch.nn``,
snnTorch, Norse, Sinabs, SpikingJelly). The forward must describe *one time step* (or be a
``Sequential`` of layers, which is the same thing): each layer becomes a node named by its path
in the model (``"0"``, ``"fc1"``, ``"block.conv"``), each tensor passed from one layer to the next
an edge, ``a + b`` several edges into one node, ``torch.flatten(x, 1)`` a ``Flatten``. A stateful
layer's extra results (``spk, mem = lif(x)``) and extra arguments (states passed back in) are
state, not signal. A ``BatchNorm`` is folded into the ``Linear``/``Conv`` before it::

    s = gamma / sqrt(running_var + eps),  W' = s W,  b' = s (b - running_mean) + beta

Neuron layers record the semantics their equations need; the graph stores the merged `Semantics`
(``graph.semantics``), so ``snnx.simulate(graph, x)`` reproduces the model. Time constants are
those of the decay factors at ``dt`` (the framework's default unless given).

>>> import torch, snnx
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Flatten())
>>> g = from_torch(net, shape=(3,))
>>> g.edges
[('input', '0'), ('0', '1'), ('1', 'output')]
"""

from __future__ import annotations

import inspect
import operator
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from snnx.importers.requirements import ConversionError, Requirements
from snnx.importers.torch_maps import FRAMEWORKS, LayerContext, key_of, lookup, supported
from snnx.importers.torch_maps.nn import array, flatten_node
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import ELEMENTWISE, SCHEMA, WEIGHTED
from snnx.ir.shapes import infer_shapes

_BATCHNORM = {("torch", "BatchNorm1d"), ("torch", "BatchNorm2d")}


def from_torch(
    module: Any,
    sample: Any = None,
    *,
    shape: Sequence[int] | None = None,
    dt: float | None = None,
) -> Graph:
    """Convert a PyTorch model to a `Graph` (see the module docstring).

    ``sample`` is an input batch ``(B, *shape)`` (only its shape is used) or give ``shape``, the
    per-sample input shape. ``dt`` is the time step the time constants refer to (default: the
    framework's: snnTorch and SpikingJelly 1e-4, Norse its modules' ``dt``, Sinabs 1).
    Raises `ConversionError` naming the layer for anything it cannot convert.
    """
    import torch

    if shape is None:
        if sample is None:
            raise ConversionError("give the input shape: a sample batch or shape=(...)")
        shape = tuple(np.shape(sample))[1:]
    shape = tuple(int(n) for n in shape)
    if isinstance(module, torch.jit.ScriptModule):
        raise ConversionError("TorchScript modules cannot be traced; pass the Python module")
    requirements = Requirements()
    builder = _Builder(module, requirements, dt)
    graph = builder.build(shape)
    graph.semantics = requirements.semantics()
    graph.check()
    return graph


class _Builder:
    """Turns one traced `torch.fx` graph into a snnx `Graph`."""

    def __init__(self, module: Any, requirements: Requirements, dt: float | None) -> None:
        self.module = module
        self.requirements = requirements
        self.dt = dt
        self.graph = Graph()
        self.values: dict[Any, Any] = {}

    def build(self, shape: tuple[int, ...]) -> Graph:
        fx_graph = self._trace()
        placeholders = [n for n in fx_graph.nodes if n.op == "placeholder"]
        self.graph.add_node("input", Node("Input", shape=list(shape)))
        for node in fx_graph.nodes:
            if node.op == "placeholder":
                self.values[node] = ["input"] if node is placeholders[0] else _STATE
            elif node.op == "call_module":
                self.values[node] = self._module(node)
            elif node.op in ("call_function", "call_method"):
                self.values[node] = self._function(node)
            elif node.op == "get_attr":
                self.values[node] = _STATE
            elif node.op == "output":
                self._outputs(node.args[0])
        self._finish()
        return self.graph

    # -- tracing ------------------------------------------------------------------------------

    def _trace(self) -> Any:
        import torch
        from nirtorch.torch_tracer import NIRTorchTracer

        class Tracer(NIRTorchTracer):
            def is_leaf_module(self, m: Any, qualname: str) -> bool:
                found = lookup(m)
                if found is not None:
                    return found[0] != "sequential"
                if key_of(type(m)) in _BATCHNORM:
                    return True
                container = isinstance(m, (torch.nn.ModuleList, torch.nn.ModuleDict))
                if key_of(type(m))[0] in FRAMEWORKS and not container:
                    return True  # a framework layer without a map: refused by name below
                return super().is_leaf_module(m, qualname)

            def call_module(self, m: Any, forward: Any, args: Any, kwargs: Any) -> Any:
                found = lookup(m)
                if found is not None and found[0] == "sequential":
                    forward = lambda x, *rest, **kw: torch.nn.Sequential.forward(m, x)  # noqa: E731
                return super().call_module(m, forward, args, kwargs)

        concrete: dict[str, Any] = {}
        params = list(inspect.signature(self.module.forward).parameters.values())
        for p in params[1:]:
            if p.default is None:
                concrete[p.name] = None
        found = lookup(self.module)
        if found is not None and found[0] == "sequential":
            self.module = torch.nn.Sequential(OrderedDict(self.module.named_children()))
            concrete = {}
        try:
            return Tracer().trace(self.module, concrete_args=concrete or None)
        except ConversionError:
            raise
        except Exception as err:
            raise ConversionError(
                f"cannot trace {type(self.module).__name__}.forward ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else ''}); the forward must compute one "
                "time step from layers, additions and flattening"
            ) from None

    # -- nodes --------------------------------------------------------------------------------

    def _signal(self, value: Any, where: str) -> list[str]:
        if isinstance(value, list):
            return value
        if value is _STATE:
            raise ConversionError(f"takes a neuron state or constant as its input in {where}")
        raise ConversionError(f"takes an unsupported value {value!r} in {where}")

    def _input_of(self, node: Any) -> list[str]:
        if not node.args:
            raise ConversionError("is called without an input", node=str(node.target))
        arg = node.args[0]
        value = self.values.get(arg, arg) if hasattr(arg, "op") else arg
        if not isinstance(value, list):
            raise ConversionError(
                "takes a neuron state or a constant as its input, not a layer's output",
                node=str(node.target),
            )
        return value

    def _module(self, node: Any) -> Any:
        name = str(node.target)
        m = self.module.get_submodule(node.target)
        key = key_of(type(m))
        inputs = self._input_of(node)
        if key in _BATCHNORM:
            return self._fold_batchnorm(name, m, inputs, node)
        found = lookup(m)
        if found is None:
            raise ConversionError(
                f"unsupported layer type {key[0]}.{key[1]} "
                f"({type(m).__module__}.{type(m).__qualname__}); supported: "
                f"{', '.join(supported())}, torch.BatchNorm1d, torch.BatchNorm2d",
                node=name,
            )
        if found[0] == "identity":
            return inputs
        ctx = LayerContext(name, self.requirements, self.dt)
        payload = found[1](m, ctx)
        self._add(name, payload, inputs)
        self.origin[name] = node
        return [name]

    @property
    def origin(self) -> dict[str, Any]:
        if not hasattr(self, "_origin"):
            self._origin: dict[str, Any] = {}
        return self._origin

    def _add(self, name: str, payload: Any, inputs: list[str]) -> None:
        self.graph.add_node(name, payload)
        for src in inputs:
            self.graph.add_edge(src, name, allow_duplicate=True)

    def _fold_batchnorm(self, name: str, m: Any, inputs: list[str], node: Any) -> list[str]:
        prev = inputs[0] if len(inputs) == 1 else None
        target = self.graph[prev] if prev is not None and prev in self.graph else None
        alone = prev is not None and len(self.origin[prev].users) == 1 if target else False
        if not isinstance(target, Node) or target.type not in WEIGHTED or not alone:
            raise ConversionError(
                "a BatchNorm is folded into the Linear or Conv layer before it, which must feed "
                "only this BatchNorm",
                node=name,
            )
        if m.running_mean is None or m.running_var is None:
            raise ConversionError(
                "a BatchNorm without running statistics cannot be folded", node=name
            )
        scale = array(m.weight, np.float64) if m.weight is not None else 1.0
        scale = scale / np.sqrt(array(m.running_var, np.float64) + m.eps)
        shift = array(m.bias, np.float64) if m.bias is not None else 0.0
        shift = shift - array(m.running_mean, np.float64) * scale
        weight = np.asarray(target.weight)
        expand = (slice(None),) + (None,) * (weight.ndim - 1)
        old_bias = np.asarray(target.get("bias", 0.0), np.float64)
        changes = {
            "weight": (weight * scale[expand]).astype(weight.dtype),
            "bias": (old_bias * scale + shift).astype(weight.dtype),
        }
        assert prev is not None  # `target` is the node it names
        if target.type == "Linear":
            self.graph.replace_node(prev, Node("Affine", **changes))
        else:
            self.graph.replace_node(prev, target.replace(**changes))
        return [prev]

    def _function(self, node: Any) -> Any:
        target = node.target
        name = getattr(target, "__name__", str(target))
        args = [self.values.get(a, a) if hasattr(a, "op") else a for a in node.args]
        if target is operator.getitem:
            source, index = node.args
            if isinstance(self.values.get(source), list) and source.op == "call_module":
                return self.values[source] if index == 0 else _STATE
            if self.values.get(source) is _STATE:
                return _STATE
            raise ConversionError(f"indexing ({node.name}) is only supported on a layer's result")
        if name == "_assert_is_none":
            return _STATE
        if target in (operator.add, "add") or name == "add":
            a, b = args[0], args[1]
            return self._signal(a, node.name) + self._signal(b, node.name)
        if name == "flatten" or target == "flatten":
            start = node.kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
            end = node.kwargs.get("end_dim", args[2] if len(args) > 2 else -1)
            ctx = LayerContext(node.name, self.requirements, self.dt)
            self._add(
                node.name, flatten_node(int(start), int(end), ctx), self._signal(args[0], node.name)
            )
            self.origin[node.name] = node
            return [node.name]
        raise ConversionError(
            f"unsupported operation {node.op} {name!r} in the forward; supported: layers, "
            "addition, flatten",
            node=node.name,
        )

    def _outputs(self, result: Any) -> None:
        items = list(result) if isinstance(result, (tuple, list)) else [result]
        signals = []
        for item in items:
            value = self.values.get(item) if hasattr(item, "op") else None
            if isinstance(value, list):
                signals.append(value)
        if not signals:
            raise ConversionError("the forward returns no layer output")
        for i, value in enumerate(signals):
            name = "output" if len(signals) == 1 else f"output{i}"
            self.graph.add_node(name, Node("Output", shape=[1]))
            for src in value:
                self.graph.add_edge(src, name, allow_duplicate=True)

    # -- shapes -------------------------------------------------------------------------------

    def _finish(self) -> None:
        """Output shapes from inference; neuron parameters broadcast to their layer's shape."""
        probe = self.graph.copy()
        for name in probe.outputs:
            probe.remove_node(name)
        shapes = infer_shapes(probe)
        for name in self.graph.outputs:
            src = self.graph.predecessors(name)[0]
            self.graph.replace_node(name, Node("Output", shape=list(shapes[src].output)))
        for name, payload in self.graph.nodes.items():
            if isinstance(payload, Node) and payload.type in ELEMENTWISE:
                out = shapes[name].output
                fields = {
                    k: np.broadcast_to(np.asarray(v), out).copy()
                    for k, v in payload.fields.items()
                    if k in SCHEMA[payload.type]
                }
                self.graph.replace_node(name, payload.replace(**fields))


_STATE = object()
