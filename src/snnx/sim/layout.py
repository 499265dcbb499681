"""Feature maps held channels-last inside the simulator.

NIR, like PyTorch, lays a 2-D feature map out channels first, ``(C, H, W)`` per sample. XLA's CPU
convolutions and window sums want channels last: run NCHW, the N-MNIST CNN of the NIR paper took
1.4x longer layer by layer and 8x longer stepped in a scan, where the layout conversions cannot
be hoisted out of the loop (``benchmarks/bench_sim.py``, workload 3). So the executor keeps every
value whose per-sample shape has three axes as ``(H, W, C)``:

- at the graph's boundary it converts: inputs in, outputs and records out (users see NIR's
  layout, always);
- an edge between different shapes (NIR's implicit reshape) reshapes in NIR's order;
- each op says how it takes maps (`Op.layout`): ``elementwise`` ops (neurons, ``Scale``,
  ``Threshold``) need only their parameters moved (`param_to_internal`); ``channels-last`` ops
  (``Conv2d``, pooling, ``Flatten``) handle the layout themselves, seeing ``ctx.channels_last``;
  every other op is handed NIR's layout and its result is converted back.

>>> import numpy as np
>>> is_map((2, 3, 4)), internal_shape((2, 3, 4)), internal_shape((5,)), canonical_shape((3, 4, 2))
(True, (3, 4, 2), (5,), (2, 3, 4))
>>> x = np.arange(24).reshape(1, 2, 3, 4)  # one sample, C=2, H=3, W=4
>>> bool((to_canonical(to_internal(x, (2, 3, 4)), (2, 3, 4)) == x).all())
True
>>> param_to_internal(np.ones((2, 1, 1)), (2, 3, 4)).shape
(1, 1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp


def is_map(shape: Sequence[int]) -> bool:
    """Whether a per-sample shape is a 2-D feature map ``(C, H, W)``."""
    return len(shape) == 3


def internal_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """``(C, H, W) -> (H, W, C)``; other shapes unchanged."""
    shape = tuple(shape)
    return (*shape[1:], shape[0]) if is_map(shape) else shape


def canonical_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """``(H, W, C) -> (C, H, W)``: the inverse of `internal_shape`."""
    shape = tuple(shape)
    return (shape[-1], *shape[:-1]) if is_map(shape) else shape


def to_internal(x: jax.Array, shape: Sequence[int]) -> jax.Array:
    """Values ``(..., C, H, W)`` (``shape`` per sample, NIR's layout) -> ``(..., H, W, C)``."""
    return jnp.moveaxis(x, -3, -1) if is_map(shape) else x


def to_canonical(x: jax.Array, shape: Sequence[int]) -> jax.Array:
    """The inverse of `to_internal`; ``shape`` is the per-sample shape in NIR's layout."""
    return jnp.moveaxis(x, -1, -3) if is_map(shape) else x


def param_to_internal(value: jax.Array, shape: Sequence[int]) -> jax.Array:
    """A parameter that broadcasts against per-sample values of ``shape`` (NIR's layout),
    rearranged to broadcast the same way against the channels-last values: ``(C, H, W)`` becomes
    ``(H, W, C)``, a per-channel ``(C, 1, 1)`` becomes ``(1, 1, C)``, a scalar stays."""
    value = jnp.asarray(value)
    if not is_map(shape) or value.ndim == 0:
        return value
    return jnp.moveaxis(value.reshape((1,) * (3 - value.ndim) + value.shape), 0, -1)
