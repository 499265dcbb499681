"""``Delay``: ``y(t) = x(t - delay)``, each element delayed by ``round(delay / dt)`` steps.

The state is a buffer of the last ``D`` inputs (``D`` the longest delay in steps), newest first.
A delay that is not a whole number of steps (within `TOLERANCE` of one) is an error naming the
node: rounding it would silently change the network. So is one longer than `MAX_STEPS` (a buffer
that deep costs gigabytes and indexes past int32), and a buffer of more than `MAX_BUFFER_BYTES`.

>>> import numpy as np
>>> steps_of(np.array([2e-4, 0.0]), 1e-4, "d").tolist()
[2, 0]
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from snnx.errors import GraphError
from snnx.ir.node import Node
from snnx.semantics import Semantics
from snnx.sim.ops.registry import Context, Op, Params, State, register

#: How far (in steps) a delay may be from a whole number of steps.
TOLERANCE = 1e-6
#: The longest delay in steps: the buffer holds one input per step of it.
MAX_STEPS = 1_000_000
#: The most memory one Delay's buffer may take (depth x batch x neurons x bytes).
MAX_BUFFER_BYTES = 1 << 30


def steps_of(delay: np.ndarray, dt: float, name: str) -> np.ndarray:
    """Delays in whole steps; raises `GraphError` when one is not representable at ``dt``: off
    the grid, negative, not finite, or longer than `MAX_STEPS`."""
    steps = np.asarray(delay, dtype=np.float64) / dt
    if not np.all(np.isfinite(steps)) or np.any(steps < 0):
        raise GraphError(
            f"delays must be finite and non-negative, got {np.asarray(delay).min():g} .. "
            f"{np.asarray(delay).max():g} s (at dt={dt:g} s)",
            node=name,
            field="delay",
        )
    if np.any(steps > MAX_STEPS):
        raise GraphError(
            f"a delay of {np.max(delay):g} s is {np.max(steps):.3g} steps at dt={dt:g} s; snnx "
            f"buffers at most {MAX_STEPS:,} steps (one input per step)",
            node=name,
            field="delay",
        )
    rounded = np.round(steps)
    worst = np.max(np.abs(steps - rounded), initial=0.0)
    if worst > TOLERANCE:
        at = np.unravel_index(np.argmax(np.abs(steps - rounded)), steps.shape) if steps.ndim else ()
        raise GraphError(
            f"delay {np.asarray(delay)[at]:g} s is {steps[at]:.4g} steps at dt={dt:g} s, not a whole "
            "number; change dt or round the delay explicitly",
            node=name,
            field="delay",
        )
    return rounded.astype(np.int64)


def _init(p: Params, batch: int, ctx: Context) -> State:
    depth = int(steps_of(ctx.node.delay, ctx.semantics.dt, ctx.name).max(initial=0))
    cost = depth * batch * math.prod(ctx.in_shape) * jnp.dtype(ctx.dtype).itemsize
    if cost > MAX_BUFFER_BYTES:
        raise GraphError(
            f"a buffer of {depth:,} steps x batch {batch} x {math.prod(ctx.in_shape):,} neurons "
            f"takes {cost / 2**30:.1f} GiB, more than {MAX_BUFFER_BYTES / 2**30:.0f} GiB",
            node=ctx.name,
            field="delay",
        )
    return {"buffer": jnp.zeros((depth, batch, *ctx.in_shape), ctx.dtype)}


def _step(p: Params, state: State, x: jax.Array, ctx: Context) -> tuple[State, jax.Array]:
    buffer = state["buffer"]
    steps = steps_of(ctx.node.delay, ctx.semantics.dt, ctx.name)
    history = jnp.concatenate([x[None], buffer.astype(x.dtype)])  # history[k] = x(t - k)
    index = jnp.broadcast_to(jnp.asarray(steps), x.shape[1:])
    y = jnp.take_along_axis(history, jnp.broadcast_to(index, x.shape)[None], axis=0)[0]
    return {"buffer": history[: buffer.shape[0]]}, y


def _early(node: Node, semantics: Semantics) -> bool:
    """Every element delayed by at least one step: the output is in the buffer already. (A delay
    off the time grid is refused when the node is set up, with its name.)"""
    try:
        return bool(np.min(steps_of(node.delay, semantics.dt, "")) >= 1)
    except GraphError:
        return False


def _emit(p: Params, state: State, ctx: Context) -> jax.Array:
    """This step's output before this step's input: ``x(t - d) = buffer[d - 1]`` for ``d >= 1``."""
    buffer = state["buffer"]
    steps = np.broadcast_to(steps_of(ctx.node.delay, ctx.semantics.dt, ctx.name), buffer.shape[2:])
    index = jnp.broadcast_to(jnp.asarray(steps - 1), buffer.shape[1:])
    return jnp.take_along_axis(buffer, index[None], axis=0)[0]


DELAY = register("Delay")(Op(params=(), init=_init, step=_step, early=_early, emit=_emit))
