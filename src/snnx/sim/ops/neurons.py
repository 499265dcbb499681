"""Neurons: ``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI``, ``CubaLIF`` and the stateless ``Threshold``.

Continuous-time models (NIR):

- ``LI``/``LIF``: ``tau dv/dt = (v_leak - v) + r x``
- ``CubaLI``/``CubaLIF``: ``tau_syn di/dt = -i + w_in x`` and ``tau_mem dv/dt = (v_leak - v) + r i``
- ``I``/``IF``: ``dv/dt = r x``

The step itself is `snnx.dynamics` (coefficients once per run, in ``prepare``; then integrate,
fire, reset, emit), run here on JAX arrays with the context's surrogate spike function. While the
parameters are the node's own fields (not trained away from them), the coefficients' values are
computed from the fields in float64 and cast once (`exact_coefficients`), so that a decay or gain
the source framework holds exactly (``1 - dt/tau = beta``, ``r dt/tau = 1``) is exact here too and
threshold ties fire as they do there; gradients still flow through the float32 computation.

>>> from snnx.sim.ops.registry import OPS
>>> OPS["CubaLIF"].states, OPS["LIF"].params
(('i', 'v'), ('tau', 'r', 'v_leak', 'v_threshold', 'v_reset'))
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnx import dynamics
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.sim import layout
from snnx.sim.ops.registry import Context, Op, Params, State, register


def _prepare(p: Params, ctx: Context) -> dict[str, Any]:
    """Coefficients and what firing needs, computed once per run (`snnx.dynamics.coefficients`)."""
    return _prepare_with(p, _exact_values(p, ctx), ctx)


def _prepare_with(p: Params, exact: dict[str, Any] | None, ctx: Context) -> dict[str, Any]:
    """`_prepare` given the node's `_exact_values` (or None)."""
    q = dynamics.coefficients(ctx.node.type, p, ctx.semantics, dynamics.jax_arithmetic())
    if exact is not None:
        q = exact_coefficients(q, p, exact, ctx)
    q["v0"] = jnp.broadcast_to(jnp.asarray(q["v0"], ctx.dtype), ctx.out_shape)
    return q


def _prepare_many(p: Params, ctxs: list[Context]) -> dict[str, Any]:
    """`_prepare` of several nodes alike but for their values at once: ``p`` holds their
    parameters stacked along a first axis; so does the result (constants stay scalars)."""
    ctx = ctxs[0]
    exact = [_exact_values({k: None for k in p}, c) for c in ctxs]
    stacked = None if exact[0] is None else jax.tree.map(lambda *a: np.stack(a), *exact)
    first = jax.tree.map(lambda a: a[0], p)
    constants = {
        k: v for k, v in _prepare_with(first, exact[0], ctx).items() if isinstance(v, float)
    }

    def one(p1: Params, exact1: dict[str, Any] | None) -> dict[str, Any]:
        q = _prepare_with(p1, exact1, ctx)
        return {k: v for k, v in q.items() if k not in constants}

    return {**jax.vmap(one)(p, stacked), **constants}


#: The coefficients `exact_coefficients` replaces (the rest are fields or start values).
COEFFICIENTS = ("A", "B", "C", "As", "Bs", "Bn", "Bi", "Bx")


def _exact_values(p: Params, ctx: Context) -> dict[str, Any] | None:
    """The node's fields cast to the program's dtype and its coefficients computed from them in
    float64 (numpy), for `exact_coefficients`; None where they do not apply (fields rearranged
    for channels-last maps, or half precision)."""
    held = ctx.channels_last and layout.is_map(ctx.out_shape)  # fields rearranged
    if held or jnp.dtype(ctx.dtype) == jnp.float16:
        return None
    fields = {k: np.asarray(ctx.node.fields[k], np.float64) for k in p}
    exact = dynamics.coefficients(ctx.node.type, fields, ctx.semantics)
    return {
        "fields": {k: np.asarray(v, jnp.dtype(ctx.dtype)) for k, v in fields.items()},
        "coefficients": {
            k: np.asarray(exact[k], jnp.dtype(ctx.dtype))
            for k in COEFFICIENTS
            if k in exact and not dynamics.is_absent(exact[k])
        },
    }


def exact_coefficients(
    q: dict[str, Any], p: Params, exact: dict[str, Any], ctx: Context
) -> dict[str, Any]:
    """``q`` with each coefficient's value taken from the node's fields in float64 (``exact``,
    `_exact_values`), cast once, where ``p`` still equals those fields cast (else ``q``'s own);
    the gradient is ``q``'s."""
    own = functools.reduce(
        operator.and_,
        (jnp.all(p[k] == exact["fields"][k]) for k in p),
        jnp.asarray(True),
    )
    out = dict(q)
    for key in COEFFICIENTS:
        if key in q and not dynamics.is_absent(q[key]) and key in exact["coefficients"]:
            value = jnp.where(own, exact["coefficients"][key], q[key])
            out[key] = jax.lax.stop_gradient(value) + (q[key] - jax.lax.stop_gradient(q[key]))
    return out


def _init(q: Params, batch: int, ctx: Context) -> State:
    zeros = jnp.zeros((batch, *ctx.out_shape), ctx.dtype)
    return dynamics.rest_state(q, zeros, ctx.node.type, ctx.semantics)


def _step(q: Params, state: State, x: jax.Array, ctx: Context) -> tuple[State, jax.Array]:
    return dynamics.step(
        q, state, x, ctx.node.type, ctx.semantics, ctx.spike, dynamics.jax_arithmetic()
    )


def _sends_late(node: Node, semantics: Semantics) -> bool:
    """Spikes that leave one step late are known when the step starts."""
    return semantics.for_type(node.type).spike_output == "next-step"


def _emit_last(q: Params, state: State, ctx: Context) -> jax.Array:
    return dynamics.emit(state["last"], ctx.semantics)


for _type in SCHEMA:
    if SCHEMA[_type].category == "neuron":
        spiking = SCHEMA[_type].spiking
        register(_type)(
            Op(
                params=SCHEMA[_type].params,
                prepare=_prepare,
                prepare_many=_prepare_many,
                init=_init,
                step=_step,
                states=("i", "v") if SCHEMA[_type].neuron == "cuba" else ("v",),
                early=_sends_late if spiking else None,
                emit=_emit_last if spiking else None,
                layout="elementwise",
            )
        )


def _threshold(p: Params, x: jax.Array, ctx: Context) -> jax.Array:
    return dynamics.emit(ctx.spike(x - p["threshold"]), ctx.semantics)


THRESHOLD = register("Threshold")(
    Op(params=SCHEMA["Threshold"].params, apply=_threshold, layout="elementwise")
)
