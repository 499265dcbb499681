"""The two tricks that let gradients through a chip's integer numerics.

*Straight-through rounding*: the forward pass uses the rounded (or truncated, floored) value, the
backward pass treats the operation as the identity::

    ste(f)(x) = x + stop_gradient(f(x) - x)

*Surrogate spikes*: the forward pass fires exactly (``v > theta``, a count ``floor(v / theta)``
for multi-spike neurons), the backward pass uses the fast-sigmoid derivative of the distance
from the threshold in threshold units, ``z = (v - theta) / theta``::

    d spike / d v = 1 / (theta (1 + k |z|)^2)

>>> import jax, jax.numpy as jnp
>>> round_ste(jnp.array([0.4, 1.6])).tolist()
[0.0, 2.0]
>>> jax.grad(lambda x: round_ste(x).sum())(jnp.array([0.4, 1.6])).tolist()
[1.0, 1.0]
>>> spike(jnp.array([0.5, 1.5]), jnp.array(1.0)).tolist()
[0.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

#: Sharpness ``k`` of the fast-sigmoid surrogate.
SLOPE = 5.0


def round_ste(x: jax.Array) -> jax.Array:
    """``round(x)`` forward, identity backward.

    >>> round_ste(jnp.array(2.5)).item()
    2.0
    """
    return x + jax.lax.stop_gradient(jnp.round(x) - x)


def trunc_ste(x: jax.Array) -> jax.Array:
    """``trunc(x)`` (toward zero) forward, identity backward.

    >>> trunc_ste(jnp.array([-1.5, 1.5])).tolist()
    [-1.0, 1.0]
    """
    return x + jax.lax.stop_gradient(jnp.trunc(x) - x)


def floor_ste(x: jax.Array) -> jax.Array:
    """``floor(x)`` forward, identity backward.

    >>> floor_ste(jnp.array([-1.5, 1.5])).tolist()
    [-2.0, 1.0]
    """
    return x + jax.lax.stop_gradient(jnp.floor(x) - x)


def _fast_sigmoid_grad(z: jax.Array) -> jax.Array:
    return 1.0 / (1.0 + SLOPE * jnp.abs(z)) ** 2


@jax.custom_vjp
def spike(v: jax.Array, theta: jax.Array) -> jax.Array:
    """``v > theta`` as 0/1 floats; the fast-sigmoid gradient in ``v`` and ``theta``."""
    return (v > theta).astype(v.dtype)


def _spike_fwd(v: jax.Array, theta: jax.Array) -> tuple[jax.Array, Any]:
    return spike(v, theta), (v, theta)


def _spike_bwd(saved: Any, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    v, theta = saved
    scale = jnp.maximum(jnp.abs(theta), 1.0)
    d = _fast_sigmoid_grad((v - theta) / scale) / scale
    return g * d, _unbroadcast(-g * d, jnp.shape(theta))


def _unbroadcast(g: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``g`` summed over the axes along which a value of ``shape`` was broadcast to it."""
    lead = g.ndim - len(shape)
    g = jnp.sum(g, axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return jnp.sum(g, axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


spike.defvjp(_spike_fwd, _spike_bwd)


def spike_count(v: jax.Array, theta: jax.Array, cap: int) -> jax.Array:
    """``clip(floor(v / theta), 0, cap)`` forward for integer-valued ``v`` and ``theta > 0``;
    backward, the surrogate of the first spike (``v >= theta``) plus the straight-through slope
    ``1 / theta`` of the further ones.

    >>> spike_count(jnp.array([0.5, 2.5, 99.0]), jnp.array(1.0), 3).tolist()
    [0.0, 2.0, 3.0]
    """
    first = spike(v, theta - 0.5)  # v >= theta, for integers
    more = jnp.clip(floor_ste(v / theta) - 1.0, 0.0, cap - 1.0)
    return first + jax.lax.stop_gradient(first) * more
