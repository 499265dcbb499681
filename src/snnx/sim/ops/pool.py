"""Pooling over ``(C, H, W)``: ``SumPool2d`` sums each window, ``AvgPool2d`` divides that sum by
the window size (zero padding counted, as PyTorch's default ``count_include_pad=True``). With
``ctx.channels_last`` the maps are ``(N, H, W, C)`` (`snnx.sim.layout`).

>>> import jax.numpy as jnp
>>> from snnx.ir import Node
>>> node = Node("AvgPool2d", kernel_size=2, stride=2, padding=0)
>>> ctx = type("Ctx", (), {"node": node, "channels_last": False})
>>> AVG.apply({}, jnp.arange(16.0).reshape(1, 1, 4, 4), ctx).tolist()
[[[[2.5, 4.5], [10.5, 12.5]]]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
from jax import lax

from snnx.sim.ops.conv import _per_dim
from snnx.sim.ops.registry import Context, Op, register


def _window_sum(x: jax.Array, ctx: Context) -> jax.Array:
    f = ctx.node.fields
    kernel, stride, padding = (_per_dim(f[k], 2) for k in ("kernel_size", "stride", "padding"))

    def axes(
        spatial: Sequence[Any], other: Any
    ) -> tuple:  # per-axis values: batch and channels get ``other``
        return (other, *spatial, other) if ctx.channels_last else (other, other, *spatial)

    pads = axes([(n, n) for n in padding], (0, 0))
    # a literal zero: JAX then lowers to reduce_window_sum, which has a gradient
    return lax.reduce_window(x, 0.0, lax.add, axes(kernel, 1), axes(stride, 1), pads)


SUM = register("SumPool2d")(
    Op(params=(), apply=lambda p, x, ctx: _window_sum(x, ctx), layout="channels-last")
)
AVG = register("AvgPool2d")(
    Op(
        params=(),
        apply=lambda p, x, ctx: _window_sum(x, ctx) / math.prod(_per_dim(ctx.node.kernel_size, 2)),
        layout="channels-last",
    )
)
