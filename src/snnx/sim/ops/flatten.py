"""``Flatten``: a reshape to the inferred output shape (row-major over NIR's channels-first
layout, as PyTorch). With ``ctx.channels_last`` a feature map is put back in NIR's order first.

>>> import jax.numpy as jnp
>>> ctx = type("Ctx", (), {"in_shape": (2, 3), "out_shape": (6,), "channels_last": False})
>>> FLATTEN.apply({}, jnp.zeros((5, 2, 3)), ctx).shape
(5, 6)
"""

from __future__ import annotations

import jax

from snnx.sim import layout
from snnx.sim.ops.registry import Context, Op, Params, register


def _flatten(p: Params, x: jax.Array, ctx: Context) -> jax.Array:
    if not ctx.channels_last:
        return x.reshape((x.shape[0], *ctx.out_shape))
    source, target = (layout.canonical_shape(s) for s in (ctx.in_shape, ctx.out_shape))
    y = layout.to_canonical(x, source).reshape((x.shape[0], *target))
    return layout.to_internal(y, target)


FLATTEN = register("Flatten")(Op(params=(), apply=_flatten, layout="channels-last"))
