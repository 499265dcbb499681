"""`to_torch`: a `Graph` as a stateful PyTorch module that runs it under a `Semantics`, step by
step or over a whole sequence, with the numbers of snnx's reference simulator.

One step, as in `snnx.sim` (``x`` is the sum of the edges into a node, each reshaped to the node's
input shape; a back edge carries what its source produced on the previous step, zero at first):

- ``Affine`` ``W x + b``, ``Linear`` ``W x``, ``Scale`` ``s x``, ``Conv1d``/``Conv2d``,
  ``AvgPool2d``/``SumPool2d``, ``Flatten``, ``Threshold`` ``[x > t]``, ``Delay`` (a buffer);
- neurons ``v' = A v + B x + C`` (with a current: ``i' = As i + Bs x``,
  ``v' = A v + Bn i' + Bi i + C``), the coefficients of the semantics' integrator, then fire,
  reset, floor and emit exactly as `snnx.dynamics` says (one definition for all three).

The state is a flat ``dict`` of tensors (``"lif1.v"``, ``"lif1.i"``, ``"lif1.last"``,
``"rec.prev"``, ...); ``init_state(batch)`` makes the rest state. Parameters are
``torch.nn.Parameter``s (named after the nodes), and spikes carry a fast-sigmoid surrogate
gradient, so the module trains with ``loss.backward()``.

>>> import numpy as np, torch, snnx
>>> net = to_torch(snnx.read(snnx.example_path("braille")), "snntorch-nir")
>>> out, state = net(torch.zeros(10, 2, 12))
>>> tuple(out.shape)
(10, 2, 7)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from snnx import dynamics
from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.sim.simulator import resolve_semantics


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, inclusive: bool, slope: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x >= 0).to(x.dtype) if inclusive else (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        return grad / (ctx.slope * x.abs() + 1.0) ** 2, None, None


def spike(x: torch.Tensor, inclusive: bool, slope: float = 10.0) -> torch.Tensor:
    """``[x > 0]`` (``[x >= 0]`` when ``inclusive``) with a fast-sigmoid gradient."""
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return (x >= 0).to(x.dtype) if inclusive else (x > 0).to(x.dtype)
    return _Spike.apply(x, inclusive, slope)


class _Layer(nn.Module):
    """One node: its parameters as ``nn.Parameter``s, its static fields, its semantics."""

    def __init__(
        self,
        name: str,
        node: Node,
        in_shape: Sequence[int],
        out_shape: Sequence[int],
        semantics: Semantics,
    ) -> None:
        super().__init__()
        self.name = name
        self.node_type = node.type
        self.node = node
        self.in_shape = tuple(in_shape)
        self.out_shape = tuple(out_shape)
        self.semantics = semantics.for_type(node.type)
        self.values = nn.ParameterDict()
        for key in SCHEMA[node.type].params:
            if key in node.fields:
                value = torch.as_tensor(np.asarray(node.fields[key], np.float32))
                self.values[key] = nn.Parameter(value, requires_grad=key not in ("v_reset",))

    # -- parameters ---------------------------------------------------------------------------

    def coefficients(self) -> dict[str, Any]:
        """The neuron's step coefficients (`snnx.dynamics.coefficients`) from its parameters."""
        return dynamics.coefficients(
            self.node_type, dict(self.values.items()), self.semantics, dynamics.torch_arithmetic()
        )

    # -- state --------------------------------------------------------------------------------

    def init_state(self, batch: int, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """The rest state of this node (empty for stateless ones)."""
        shape = (batch, *self.out_shape)
        state: dict[str, torch.Tensor] = {}
        if SCHEMA[self.node_type].category == "neuron":
            zeros = torch.zeros(shape, dtype=dtype)
            q = self.coefficients()
            q["v0"] = torch.as_tensor(q["v0"], dtype=dtype).detach()
            state = dynamics.rest_state(q, zeros, self.node_type, self.semantics)
        elif self.node_type == "Delay":
            depth = int(self._delay_steps().max(initial=0))
            state["buffer"] = torch.zeros((depth, batch, *self.in_shape), dtype=dtype)
        return state

    def _delay_steps(self) -> np.ndarray:
        from snnx.sim.ops.delay import steps_of

        return steps_of(self.node.delay, self.semantics.dt, self.name)

    def emit(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """The output of an *early* node (spikes that leave a step late; a delay of at least one
        step) at this step, known before this step's input."""
        if self.node_type == "Delay":
            buffer = state["buffer"]
            steps = torch.as_tensor(self._delay_steps() - 1, dtype=torch.long)
            index = torch.broadcast_to(steps, buffer.shape[1:])[None]
            return torch.gather(buffer, 0, index)[0]
        return dynamics.emit(state["last"], self.semantics)

    # -- one step -----------------------------------------------------------------------------

    def step(
        self, x: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(y, new state)`` for this step's input ``x`` of shape ``(B, *in_shape)``."""
        t, p = self.node_type, self.values
        if t == "Affine":
            return F.linear(x, p["weight"], p["bias"]), state
        if t == "Linear":
            return F.linear(x, p["weight"]), state
        if t == "Scale":
            return x * p["scale"], state
        if SCHEMA[t].shape == "conv":
            return self._conv(x), state
        if SCHEMA[t].category == "pool":
            return self._pool(x), state
        if t == "Flatten":
            return x.reshape((x.shape[0], *self.out_shape)), state
        if t == "Threshold":
            y = spike(x - p["threshold"], self.semantics.threshold == ">=")
            return dynamics.emit(y, self.semantics), state
        if t == "Delay":
            return self._delay(x, state)
        if SCHEMA[t].category == "neuron":
            new, y = dynamics.step(
                self.coefficients(),
                state,
                x,
                t,
                self.semantics,
                lambda d: spike(d, self.semantics.threshold == ">="),
                dynamics.torch_arithmetic(),
            )
            return y, new
        raise ConversionError(f"no torch counterpart for {t}", node=self.name)

    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        f = self.node.fields
        ndim = np.ndim(f["weight"]) - 2
        per = lambda v: tuple(int(a) for a in np.broadcast_to(np.atleast_1d(v), (ndim,)))  # noqa: E731
        padding = f["padding"] if isinstance(f["padding"], str) else per(f["padding"])
        conv = F.conv1d if ndim == 1 else F.conv2d
        bias = self.values["bias"]
        y = conv(x, self.values["weight"], None, per(f["stride"]), padding, per(f["dilation"]),
                 int(f["groups"]))  # fmt: skip
        return y + (bias.reshape(bias.shape + (1,) * ndim) if bias.ndim else bias)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        f = self.node.fields
        per = lambda v: tuple(int(a) for a in np.broadcast_to(np.atleast_1d(v), (2,)))  # noqa: E731
        kernel, stride, padding = per(f["kernel_size"]), per(f["stride"]), per(f["padding"])
        if self.node_type == "AvgPool2d":
            return F.avg_pool2d(x, kernel, stride, padding, count_include_pad=True)
        return F.avg_pool2d(x, kernel, stride, padding, divisor_override=1)

    def _delay(
        self, x: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        buffer = state["buffer"]
        history = torch.cat([x[None], buffer.to(x.dtype)])
        steps = torch.as_tensor(self._delay_steps(), dtype=torch.long)
        index = torch.broadcast_to(steps, x.shape)[None]
        y = torch.gather(history, 0, index)[0]
        return y, {"buffer": history[: buffer.shape[0]]}


class TorchNetwork(nn.Module):
    """A `Graph` as a torch module (see the module docstring).

    ``forward(xs, state=None) -> (ys, state)`` runs a sequence ``(T, B, *shape)`` (a dict of
    them for several Inputs; outputs likewise a tensor or a dict); ``step(x, state)`` runs one
    step ``(B, *shape)``; ``init_state(batch)`` is the rest state.
    """

    def __init__(self, graph: Graph, semantics: Semantics | str | None = None) -> None:
        super().__init__()
        self.semantics = resolve_semantics(graph, semantics)
        plan = schedule(graph, self.semantics)
        flat, shapes = plan.graph, plan.shapes
        scans = [seg for seg in plan.segments if seg.kind == "scan"]
        back = set(scans[0].back_edges) if scans else set()
        self.early = sorted(getattr(scans[0], "early", ())) if scans else []
        self.input_names = flat.inputs
        self.output_names = flat.outputs
        self.input_shapes = {n: tuple(shapes[n].output) for n in self.input_names}
        self.order = list(scans[0].nodes) if scans else []
        self.semanticss = {
            n: [(p, (p, n) in back) for p in flat.predecessors(n)]
            for n in [*self.order, *self.output_names]
        }
        self.in_shapes = {n: tuple(shapes[n].input) for n in [*self.order, *self.output_names]}
        self.carried = sorted({p for p, n in back})
        self.out_shapes = {n: tuple(shapes[n].output) for n in flat}
        self.keys = {name: f"n{i}" for i, name in enumerate(self.order)}
        self.layers = nn.ModuleDict(
            {
                self.keys[n]: _Layer(n, flat[n], shapes[n].input, shapes[n].output, self.semantics)
                for n in self.order
            }
        )
        self.state_keys = {n: list(self.layer(n).init_state(1, torch.float32)) for n in self.order}

    def layer(self, name: str) -> _Layer:
        """The module of node ``name`` (flattened names: ``"sub.lif"``)."""
        layer = self.layers[self.keys[name]]
        assert isinstance(layer, _Layer)  # `layers` holds one `_Layer` per node
        return layer

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
        """The rest state for a batch of ``batch`` samples."""
        state: dict[str, torch.Tensor] = {}
        for name in self.order:
            for key, value in self.layer(name).init_state(batch, dtype).items():
                state[f"{name}.{key}"] = value
        for name in self.carried:
            state[f"{name}.prev"] = torch.zeros((batch, *self.out_shapes[name]), dtype=dtype)
        return state

    def _named(self, x: Any) -> dict[str, torch.Tensor]:
        if isinstance(x, Mapping):
            return dict(x)
        if len(self.input_names) != 1:
            raise ConversionError(f"the graph has Inputs {self.input_names}: give a dict")
        return {self.input_names[0]: x}

    def _gather(self, name: str, now: dict, state: dict, batch: int) -> torch.Tensor:
        total = None
        for src, is_back in self.semanticss[name]:
            value = state[f"{src}.prev"] if is_back else now[src]
            value = value.reshape((batch, *self.in_shapes[name]))
            total = value if total is None else total + value
        assert total is not None
        return total

    def step(
        self, x: Any, state: dict[str, torch.Tensor] | None = None
    ) -> tuple[Any, dict[str, torch.Tensor]]:
        """One time step: ``(outputs, new state)``; ``x`` is ``(B, *shape)`` (or a dict)."""
        named = self._named(x)
        batch = next(iter(named.values())).shape[0]
        dtype = next(iter(named.values())).dtype
        state = self.init_state(batch, dtype) if state is None else state
        now: dict[str, torch.Tensor] = {}
        for name, value in named.items():
            value = value.reshape((batch, *self.input_shapes[name]))
            now[name] = dynamics.emit(value, self.semantics)
        new: dict[str, torch.Tensor] = {}
        for name in self.early:  # outputs known before this step's inputs arrive
            own = {key: state[f"{name}.{key}"] for key in self.state_keys[name]}
            now[name] = self.layer(name).emit(own)
        for name in self.order:
            layer = self.layer(name)
            own = {key: state[f"{name}.{key}"] for key in self.state_keys[name]}
            y, changed = layer.step(self._gather(name, now, state, batch), own)
            now.setdefault(name, y)
            for key, value in changed.items():
                new[f"{name}.{key}"] = value
        for name in self.carried:
            new[f"{name}.prev"] = now[name]
        outputs = {
            name: self._gather(name, now, state, batch).reshape((batch, *self.out_shapes[name]))
            for name in self.output_names
        }
        single = len(outputs) == 1 and not isinstance(x, Mapping)
        return (next(iter(outputs.values())) if single else outputs), new

    def forward(
        self, xs: Any, state: dict[str, torch.Tensor] | None = None
    ) -> tuple[Any, dict[str, torch.Tensor] | None]:
        """Run a sequence ``(T, B, *shape)``: ``(outputs (T, B, ...), final state)``."""
        named = self._named(xs)
        steps = next(iter(named.values())).shape[0]
        ys = []
        for t in range(steps):
            y, state = self.step(
                {k: v[t] for k, v in named.items()}
                if isinstance(xs, Mapping)
                else named[self.input_names[0]][t],
                state,
            )
            ys.append(y)
        if isinstance(ys[0], dict):
            return {k: torch.stack([y[k] for y in ys]) for k in ys[0]}, state
        return torch.stack(ys), state


def schedule(graph: Graph, semantics: Semantics) -> Any:
    """The simulator's plan of ``graph`` as one scan (its step order, back edges and, where the
    simulator has them, *early* nodes whose outputs are known when a step starts)."""
    import inspect
    import math

    from snnx.sim.ops import OPS
    from snnx.sim.plan import Plan

    def early(node: Node) -> bool:
        op = OPS.get(node.type)
        test = getattr(op, "early", None)
        return test is not None and bool(test(node, semantics))

    options = {"early": early} if "early" in inspect.signature(Plan.build).parameters else {}
    return Plan.build(graph, hoist_from=math.inf, **options)


def to_torch(graph: Graph, semantics: Semantics | str | None = None) -> TorchNetwork:
    """A `TorchNetwork` running ``graph`` under ``semantics`` (default: the graph's stored
    semantics, else ``nir-reference``)."""
    return TorchNetwork(graph, semantics)


class _FlatStep(nn.Module):
    """``(x, *state) -> (y, *state)`` with the state keys fixed, for ``torch.jit.trace``."""

    def __init__(self, net: TorchNetwork, keys: list[str]) -> None:
        super().__init__()
        self.net = net
        self.keys = keys

    def forward(
        self, x: torch.Tensor, state: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        given = dict(zip(self.keys, state, strict=True))
        y, new = self.net.step(x, given)
        return y, [new.get(k, given[k]) for k in self.keys]


def to_torchscript(
    graph: Graph, semantics: Semantics | str | None = None, *, batch: int = 2
) -> torch.jit.ScriptModule:
    """A TorchScript module for a graph with one Input and one Output: ``forward(xs, state=None)
    -> (ys, state)`` over a sequence ``(T, B, *shape)``, ``init_state(batch)`` the rest state (a
    list of tensors). The step is traced with a batch of ``batch``; any batch size runs.

    >>> import torch, snnx
    >>> ts = to_torchscript(snnx.read(snnx.example_path("braille")), "snntorch-nir")
    >>> tuple(ts(torch.zeros(4, 3, 12))[0].shape)
    (4, 3, 7)
    """
    net = TorchNetwork(graph, semantics).eval()
    if len(net.input_names) != 1 or len(net.output_names) != 1:
        raise ConversionError("TorchScript export needs a graph with one Input and one Output")
    state = {**net.init_state(batch), "_pad": torch.zeros(batch)}  # never an empty list
    keys = sorted(state)
    rest = {**net.init_state(1), "_pad": torch.zeros(1)}
    axes = [1 if k.endswith(".buffer") else 0 for k in keys]
    x = torch.zeros((batch, *net.input_shapes[net.input_names[0]]))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(
            _FlatStep(net, keys), (x, [state[k] for k in keys]), check_trace=False
        )
        from snnx.exporters.torchscript import Sequence

        return torch.jit.script(Sequence(traced, [rest[k].detach() for k in keys], axes))
