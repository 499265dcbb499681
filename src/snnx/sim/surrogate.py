"""Spike functions with surrogate gradients.

Forward, a spike is the Heaviside step ``H(x)`` of ``x = v - v_threshold`` (``x > 0``, or
``x >= 0``); its true derivative is zero almost everywhere, so training uses a smooth stand-in
``g(x)`` with slope ``k`` (`SURROGATES`):

- ``fast-sigmoid``: ``g(x) = 1 / (1 + k |x|)^2``
- ``arctan``:       ``g(x) = 1 / (1 + (pi k x / 2)^2)``
- ``triangle``:     ``g(x) = max(0, 1 - k |x|)``

>>> import jax
>>> spike = spike_function("fast-sigmoid", slope=10.0)
>>> float(spike(0.2)), float(jax.grad(spike)(0.2))
(1.0, 0.1111111...)
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from snnx.errors import SemanticsError

SURROGATES: dict[str, Callable] = {
    "fast-sigmoid": lambda x, k: 1.0 / (1.0 + k * jnp.abs(x)) ** 2,
    "arctan": lambda x, k: 1.0 / (1.0 + (jnp.pi * k * x / 2.0) ** 2),
    "triangle": lambda x, k: jnp.maximum(0.0, 1.0 - k * jnp.abs(x)),
}


def spike_function(
    kind: str = "fast-sigmoid", slope: float = 10.0, inclusive: bool = False
) -> Callable:
    """``H(x)`` (``x >= 0`` when ``inclusive``) whose gradient is the surrogate ``kind``."""
    if kind not in SURROGATES:
        raise SemanticsError(f"unknown surrogate {kind!r}; choose from {', '.join(SURROGATES)}")
    surrogate = SURROGATES[kind]

    @jax.custom_jvp
    def spike(x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
        return (x >= 0 if inclusive else x > 0).astype(dtype)

    @spike.defjvp
    def _(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
        (x,), (dx,) = primals, tangents
        return spike(x), surrogate(x, slope) * dx

    return spike
