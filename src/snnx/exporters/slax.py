"""`to_slax`: a graph as a Slax (Flax linen) model and its variables, runnable and trainable.

Nodes become Slax's and Flax's own layers where those compute what the graph's semantics says
(up to rounding): ``Affine``/``Linear`` -> ``nn.Dense``; a ``LIF`` whose step is
``v = A v + x`` (input gain 1, ``v_leak = 0``), ``v >= threshold``, reset in the same step by
subtracting the threshold or to ``v_reset``, sent at once -> ``slax.LIF`` with a trainable
``tau = logit(A)``. Every other node, and neurons under other semantics, runs in a snnx cell
through the reference simulator's own op (`_stepping.OpCell`), so the model computes what
`snnx.sim` does; the cells' spike function is the simulator's (fast-sigmoid surrogate, slope
10), Slax's LIF keeps Slax's own (``slax.fast_sigmoid``, the same function, here with slope 10).

The container is snnx's (`SnnxNetwork`, a Slax ``SNNCell``): Slax's ``connect`` chains layers and
adds copies of a layer for its extra inputs, which cannot express a NIR graph's edges in
general. It steps the graph's nodes in the simulator's order (`_stepping.Steps`), keeping every
state in the ``carry`` collection as Slax's cells do, so it runs one step per call and inside
``slax.RNN`` over sequences::

    model, variables = snnx.to_slax(graph, batch=8)
    y, updated = model.apply(variables, x_t)        # x_t (8, *shape); updated["carry"]
    ys, _ = slax.RNN(model).apply(...)              # or step it over time yourself
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.exporters.snnax import _plain_spiking, _Static, fields_in_effect, uniform
from snnx.exporters.stepping import SLOPE, OpCell, Steps
from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics

#: How close a gain must be to 1 (relative) for Slax's own LIF to be used.
RTOL = 1e-6


def to_slax(
    graph: Graph, semantics: Semantics | str | None = None, *, batch: int = 1
) -> tuple[Any, dict]:
    """A Slax model running ``graph`` (semantics: given, else the graph's, else
    ``nir-reference``) and its variables (``params``, and a rest ``carry`` for ``batch``
    samples); see the module docstring."""
    import jax
    import jax.numpy as jnp

    from snnx.sim.simulator import resolve_semantics

    steps = Steps.of(graph, resolve_semantics(graph, semantics))
    if len(steps.graph.inputs) != 1:
        raise ConversionError(f"a Slax model takes one input; the graph has {steps.graph.inputs}")
    layers = {name: _layer(name, steps) for name in steps.order}
    model = _classes()["SnnxNetwork"](_Static((steps, layers)))
    sample = jnp.zeros((batch, *steps.out_shape(steps.graph.inputs[0])), jnp.float32)
    variables = dict(model.init(jax.random.PRNGKey(0), sample))
    carry = dict(variables.get("carry", {}))
    for name, (kind, _) in layers.items():
        if kind == "lif":  # init stepped Slax's LIF once; its rest is zero
            carry[name] = jax.tree_util.tree_map(jnp.zeros_like, carry[name])
    return model, {**variables, "carry": carry}


def _layer(name: str, steps: Steps) -> tuple[str, Any]:
    """``("dense", node)``, ``("lif", settings)`` or ``("cell", OpCell)`` for one node."""
    node = steps.graph.node(name)
    if SCHEMA[node.type].shape == "dense" and np.ndim(node.weight) == 2:
        return "dense", node
    if node.type == "LIF":
        spec = _slax_lif(node, steps.semantics.for_type("LIF"))
        if spec is not None:
            return "lif", spec
    from snnx.sim.ops import OPS

    if node.type not in OPS:
        raise ConversionError(f"no op runs a {node.type}", node=name)
    return "cell", OpCell(node, steps.in_shape(name), steps.out_shape(name), steps.semantics, name)


def _slax_lif(node: Node, s: Semantics) -> dict | None:
    """Slax LIF settings reproducing ``node`` under ``s``, or ``None`` when it cannot."""
    f = fields_in_effect(node, s)
    threshold, v_reset = uniform(f["v_threshold"]), uniform(f["v_reset"])
    if not _plain_spiking(s) or threshold is None or v_reset is None or np.any(f["v_leak"] != 0):
        return None
    if (s.reset == "subtract" and s.reset_timing != "same-step") or s.reset == "none":
        return None
    if s.v_init == "v_reset" and v_reset != 0:
        return None
    q = dynamics.coefficients("LIF", f, s)
    a, gain = np.asarray(q["A"], np.float64), np.asarray(q["B"], np.float64)
    if not (np.all((a > 0) & (a < 1)) and np.allclose(gain, 1.0, rtol=RTOL, atol=0.0)):
        return None
    return {
        "tau": np.log(a / (1.0 - a)),
        "v_threshold": threshold,
        "v_reset": v_reset,
        "subtraction_reset": s.reset == "subtract",
    }


@functools.cache
def _classes() -> dict[str, type]:
    """The Flax modules, defined when Slax is first needed."""
    import flax.linen as nn
    import jax.numpy as jnp
    import slax
    from slax.models.utils import SNNCell

    class SnnxCell(nn.Module):
        """One graph node run by the simulator's op: its trainable fields are ``params``, its
        state is the ``carry`` variable ``state``. ``peek=True`` returns the output it sends
        before this step's input (early nodes) without stepping."""

        static: Any

        @nn.compact
        def __call__(self, x: Any, peek: bool = False) -> Any:
            cell: OpCell = self.static.value
            params = {
                k: self.param(k, lambda _key, v=v: v) for k, v in cell.params.items()
            }  # fmt: skip
            if not cell.stateful:
                return cell.step(params, None, x)[1]
            state = self.variable("carry", "state", lambda: cell.init(params, x.shape[0]))
            if peek:
                return cell.emit(params, state.value)
            new, y = cell.step(params, state.value, x)
            if not self.is_initializing():  # the rest state stays what init made
                state.value = new
            return y

    class SnnxNetwork(SNNCell):
        """A graph as a Slax cell (module docstring): one step per call, states in ``carry``."""

        static: Any

        @nn.compact
        def __call__(self, x: Any) -> Any:
            steps, layers = self.static.value
            modules = {}
            for name, (kind, spec) in layers.items():
                if kind == "dense":
                    w = jnp.asarray(spec.weight, jnp.float32).T
                    b = jnp.asarray(getattr(spec, "bias", np.zeros(w.shape[1])), jnp.float32)
                    modules[name] = nn.Dense(
                        w.shape[1], use_bias=spec.type == "Affine", name=name,
                        kernel_init=lambda *_, w=w: w, bias_init=lambda *_, b=b: b,
                    )  # fmt: skip
                elif kind == "lif":
                    modules[name] = slax.LIF(
                        init_tau=jnp.asarray(spec["tau"], jnp.float32),
                        spike_fn=slax.fast_sigmoid(SLOPE),
                        v_threshold=spec["v_threshold"],
                        v_reset=spec["v_reset"],
                        subtraction_reset=spec["subtraction_reset"],
                        trainable_tau=True,
                        name=name,
                    )
                else:
                    modules[name] = SnnxCell(_Static(spec), name=name)
            batch = x.shape[0]
            last = {
                n: self.variable("carry", f"last_{n}", jnp.zeros, (batch, *steps.out_shape(n)))
                for n in steps.carried
            }

            def call(name: str, value: Any) -> Any:
                return modules[name](value)

            def peek(name: str) -> Any:
                return modules[name](jnp.zeros((batch, *steps.in_shape(name))), peek=True)

            inputs = {steps.graph.inputs[0]: x}
            prev = {n: v.value for n, v in last.items()}
            outputs, carried = steps.step(call, peek, inputs, prev, (batch,))
            if not self.is_initializing():
                for n, v in last.items():
                    v.value = carried[n]
            return next(iter(outputs.values()))

    return {"SnnxCell": SnnxCell, "SnnxNetwork": SnnxNetwork}
