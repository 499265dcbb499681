"""`to_snnax`: a graph as a SNNAX model (a `snnax.snn.StatefulModel`), runnable and trainable.

Nodes become SNNAX's own layers where those compute what the graph's semantics says (up to
rounding): ``Affine``/``Linear`` -> ``eqx.nn.Linear``; ``LIF`` -> ``SimpleLIF`` (decay
``a = A``, input gain ``1 - A``, reset to zero, ``v >= threshold``, sent in the same step); a
``CubaLIF`` whose voltage takes the previous current with gains ``1 - A`` -> ``LIF([a, b])``
(reset to zero or ``v_reset``) or ``LIFSoftReset`` (subtracting the threshold), the decays within
SNNAX's clamp [0.5, 1]. Every other node, and neurons under other semantics, runs in a snnx cell
(`SnnxCell`, a ``StatefulLayer``) through the reference simulator's own op, so the model computes
what `snnx.sim` does. The neurons' spike function is the simulator's (a Heaviside step with the
fast-sigmoid surrogate, slope 10), so gradients agree with `snnx.sim.Simulator`'s.

SNNAX's own forward function concatenates a layer's inputs and delays every edge by one step; a
NIR graph sums its edges and delays only where it says so (``Delay`` nodes, loops), so the model's
``forward_fn`` is snnx's: the graph's edges in the simulator's step order (`_stepping.Steps`). Run
it the SNNAX way, one sample at a time (``jax.vmap`` over a batch)::

    model = snnx.to_snnax(graph)
    state = model.init_state()
    state, (ys,) = model(state, xs, jax.random.PRNGKey(0))   # xs (T, *shape) -> ys (T, ...)

A graph with several ``Input`` nodes takes a list of sequences, in the graph's order.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.exporters.stepping import SLOPE, SURROGATE, OpCell, Steps
from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.sim.surrogate import spike_function

#: How close a gain must be to what SNNAX computes (relative) for its own layer to be used.
RTOL = 1e-6


class _Static:
    """Holds an object as a static field, hashed by identity."""

    def __init__(self, value: Any) -> None:
        self.value = value


def to_snnax(graph: Graph, semantics: Semantics | str | None = None) -> Any:
    """A SNNAX model running ``graph`` (semantics: given, else the graph's, else
    ``nir-reference``); see the module docstring."""
    from snnx.sim.simulator import resolve_semantics

    steps = Steps.of(graph, resolve_semantics(graph, semantics))
    layers = [_layer(name, steps) for name in steps.order]
    return _classes()["SnnxModel"](steps, layers)


@functools.cache
def _classes() -> dict[str, type]:
    """The SNNAX subclasses, defined when SNNAX is first needed."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    from snnax.snn import GraphStructure, StatefulLayer, StatefulModel

    class SnnxCell(StatefulLayer):
        """One graph node run by the simulator's op (`OpCell`) on one sample."""

        params: dict
        cell: _Static = eqx.field(static=True)

        def __init__(self, cell: OpCell) -> None:
            super().__init__(None)
            self.params = dict(cell.params)
            self.cell = _Static(cell)

        def init_state(self, shape: Any = None, key: Any = None, *args: Any, **kwargs: Any) -> Any:
            return self.cell.value.init(self.params, 1)

        def __call__(self, state: Any, synaptic_input: Any, *, key: Any = None) -> tuple[Any, Any]:
            state, y = self.cell.value.step(self.params, state, synaptic_input[None])
            return state, y[0]

        def emit(self, state: Any) -> Any:
            return self.cell.value.emit(self.params, state)[0]

    class SnnxModel(StatefulModel):
        """A graph as a SNNAX `StatefulModel` with snnx's forward function (module docstring).
        ``init_state()`` is the rest state: ``(layer states, values of the back edges)``."""

        names: tuple = eqx.field(static=True)

        def __init__(self, steps: Steps, layers: list) -> None:
            index = {n: i for i, n in enumerate(steps.order)}
            inputs = steps.graph.inputs
            struct = GraphStructure(
                num_layers=len(layers),
                input_layer_ids=[
                    [inputs.index(p) for p in steps.graph.predecessors(n) if p in inputs]
                    for n in steps.order
                ],
                final_layer_ids=[
                    index[p] for o in steps.graph.outputs for p in steps.graph.predecessors(o)
                ],
                input_connectivity=[
                    [index[p] for p in steps.graph.predecessors(n) if p in index]
                    for n in steps.order
                ],
            )
            self.names = tuple(steps.order)
            super().__init__(struct, layers, forward_fn=_Forward(steps))

        @property
        def steps(self) -> Steps:
            return self.forward_fn.steps

        def init_state(self, in_shape: Any = None, key: Any = None) -> tuple[list, dict]:
            key = jax.random.PRNGKey(0) if key is None else key
            steps = self.steps
            states = []
            for name, layer in zip(self.names, self.layers, strict=True):
                if isinstance(layer, StatefulLayer):
                    states.append(layer.init_state(steps.out_shape(name), key))
                else:
                    states.append(None)
            last = {n: jnp.zeros(steps.out_shape(n), jnp.float32) for n in steps.carried}
            return states, last

    class _Forward:
        """SNNAX's ``forward_fn`` protocol over a `Steps` plan (hashed by identity)."""

        def __init__(self, steps: Steps) -> None:
            self.steps = steps

        def __call__(self, layers: Any, struct: Any, key: Any, carry: Any, data: Any) -> Any:
            states, last = carry
            steps = self.steps
            names = list(steps.order)
            index = {n: i for i, n in enumerate(names)}
            new = list(states)
            inputs = data if isinstance(data, (list, tuple)) else [data]
            named = dict(zip(steps.graph.inputs, inputs, strict=True))

            def call(name: str, x: Any) -> Any:
                i = index[name]
                layer = layers[i]
                if isinstance(layer, StatefulLayer):
                    new[i], y = layer(new[i], x, key=key)
                    return y
                return layer(x)

            def peek(name: str) -> Any:
                return layers[index[name]].emit(states[index[name]])

            outputs, last = steps.step(call, peek, named, last, ())
            return (new, last), [outputs[o] for o in steps.graph.outputs]

    return {"SnnxCell": SnnxCell, "SnnxModel": SnnxModel}


def _layer(name: str, steps: Steps) -> Any:
    """SNNAX's own layer for a node where it computes the same, else a `SnnxCell`."""
    node = steps.graph.node(name)
    native = _native(name, node, steps)
    if native is not None:
        return native
    from snnx.sim.ops import OPS

    if node.type not in OPS:
        raise ConversionError(f"no op runs a {node.type}", node=name)
    cell = OpCell(node, steps.in_shape(name), steps.out_shape(name), steps.semantics, name)
    return _classes()["SnnxCell"](cell)


#: The neurons SNNAX's own layers can run (``SimpleLIF``; ``LIF``/``LIFSoftReset``).
NATIVE_SUPPORTED = ("LIF", "CubaLIF")


def fields_in_effect(node: Node, semantics: Semantics) -> dict[str, np.ndarray]:
    """The node's fields as the semantics reads them (field overrides applied), float64."""
    fields = {k: np.asarray(v, np.float64) for k, v in node.fields.items()}
    shape = np.shape(next(iter(fields.values())))
    fixed = dynamics.fixed_fields(node.type, semantics)
    return {
        k: np.broadcast_to(np.asarray(v, np.float64), shape) if k in fixed else v
        for k, v in dynamics.effective_fields(node.type, fields, semantics).items()
    }


def _plain_spiking(s: Semantics) -> bool:
    """The knobs every SNNAX/Slax spiking layer shares: one spike of amplitude 1 per step, sent at
    once, ``v >= threshold``, starting at zero, no floor."""
    return (
        s.threshold == ">="
        and s.spike_output == "same-step"
        and s.max_spikes == 1
        and s.spike_amplitude == "1"
        and s.v_min == "none"
    )


def uniform(values: np.ndarray) -> float | None:
    """The single value of an array, or ``None`` when its elements differ."""
    flat = np.ravel(values)
    return float(flat[0]) if flat.size and np.all(flat == flat[0]) else None


def _native(name: str, node: Node, steps: Steps) -> Any:
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    if SCHEMA[node.type].shape == "dense":
        weight = jnp.asarray(node.weight, jnp.float32)
        if weight.ndim != 2:
            return None
        layer = eqx.nn.Linear(
            weight.shape[1], weight.shape[0], use_bias="bias" in node.fields,
            key=jax.random.PRNGKey(0),
        )  # fmt: skip
        layer = eqx.tree_at(lambda m: m.weight, layer, weight)
        if "bias" in node.fields:
            layer = eqx.tree_at(lambda m: m.bias, layer, jnp.asarray(node.bias, jnp.float32))
        return layer
    if node.type not in NATIVE_SUPPORTED:
        return None
    s = steps.semantics.for_type(node.type)
    f = fields_in_effect(node, s)
    threshold = uniform(f["v_threshold"])
    if not _plain_spiking(s) or threshold is None or np.any(f["v_leak"] != 0):
        return None
    import snnax.snn as snn

    spike = spike_function(SURROGATE, SLOPE, inclusive=True)
    shape = steps.out_shape(name)
    if node.type == "LIF":
        if s.reset != "zero" or np.any(f["v_reset"] != 0):
            return None
        q = dynamics.coefficients(node.type, f, s)
        a, gain = np.asarray(q["A"], np.float64), np.asarray(q["B"], np.float64)
        if not _decay_fits(a, gain):
            return None
        layer = snn.SimpleLIF([0.9], spike_fn=spike, threshold=threshold, shape=shape)
        return _with_decays(layer, [a], shape)
    if s.current != "previous" or s.integrator == "exact":
        return None
    c = dynamics.coefficients(node.type, f, s)
    a, b = np.asarray(c["A"], np.float64), np.asarray(c["As"], np.float64)
    if not (_decay_fits(a, np.asarray(c["Bi"])) and _decay_fits(b, np.asarray(c["Bs"]))):
        return None
    v_reset = uniform(f["v_reset"])
    if s.v_init == "v_reset" and v_reset != 0:
        return None
    if s.reset == "zero" and v_reset is not None:
        layer = snn.LIF([0.9, 0.9], spike_fn=spike, threshold=threshold, shape=shape,
                        reset_val=None if v_reset == 0 else v_reset)  # fmt: skip
    elif s.reset == "subtract" and s.reset_timing == "same-step":
        layer = snn.LIFSoftReset([0.9, 0.9], spike_fn=spike, threshold=threshold, shape=shape,
                                 reset_val=threshold)  # fmt: skip
    else:
        return None
    return _with_decays(layer, [a, b], shape)


def _decay_fits(decay: np.ndarray, gain: np.ndarray) -> bool:
    """SNNAX steps ``a v + (1 - a) x`` with ``a`` clamped to [0.5, 1]."""
    return bool(
        np.all((decay >= 0.5) & (decay < 1.0))
        and np.allclose(gain, 1.0 - decay, rtol=RTOL, atol=0.0)
    )


def _with_decays(layer: Any, decays: list[np.ndarray], shape: tuple[int, ...]) -> Any:
    import equinox as eqx
    import jax.numpy as jnp

    data = jnp.asarray(np.stack([np.broadcast_to(d, shape) for d in decays]), jnp.float32)
    return eqx.tree_at(lambda m: m.decay_constants.data, layer, data)
