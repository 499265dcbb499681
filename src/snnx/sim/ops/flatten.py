"""``Flatten``: a reshape to the inferred output shape (row-major, as NIR and PyTorch).

>>> import jax.numpy as jnp
>>> ctx = type("Ctx", (), {"out_shape": (6,)})
>>> FLATTEN.apply({}, jnp.zeros((5, 2, 3)), ctx).shape
(5, 6)
"""

from __future__ import annotations

from snnx.sim.ops.registry import Op, register

FLATTEN = register("Flatten")(
    Op(params=(), apply=lambda p, x, ctx: x.reshape((x.shape[0], *ctx.out_shape)))
)
