"""Convolutions, ``Conv1d`` and ``Conv2d``: NIR's layout is channels first, weights
``(C_out, C_in / groups, *kernel)``, as in PyTorch; ``y = conv(x, W) + b`` with stride, padding
(integers per dimension, or ``same`` / ``valid``), dilation and groups. With
``ctx.channels_last`` a 2-D convolution takes and gives ``(N, H, W, C)`` (`snnx.sim.layout`).

>>> import jax.numpy as jnp, numpy as np
>>> from snnx.ir import Node
>>> node = Node("Conv1d", weight=np.ones((1, 1, 2)), stride=1, padding=0, dilation=1, groups=1, bias=0.0)
>>> ctx = type("Ctx", (), {"node": node, "channels_last": False})
>>> CONV.apply({"weight": jnp.ones((1, 1, 2)), "bias": jnp.zeros(1)}, jnp.arange(4.0).reshape(1, 1, 4), ctx).tolist()
[[[1.0, 3.0, 5.0]]]
"""

from __future__ import annotations

import jax
import numpy as np
from jax import lax
from numpy.typing import ArrayLike

from snnx.sim.ops.registry import Context, Op, Params, register


def _per_dim(value: ArrayLike, ndim: int) -> tuple[int, ...]:
    return tuple(int(v) for v in np.broadcast_to(np.atleast_1d(np.asarray(value)), (ndim,)))


def _apply(p: Params, x: jax.Array, ctx: Context) -> jax.Array:
    f = ctx.node.fields
    ndim = np.ndim(f["weight"]) - 2
    padding = f["padding"]
    if isinstance(padding, str):
        padding = padding.upper()
    else:
        padding = [(n, n) for n in _per_dim(padding, ndim)]
    spatial = "HW" if ndim == 2 else "H"
    last = ndim == 2 and ctx.channels_last
    data = f"N{spatial}C" if last else f"NC{spatial}"
    weight = p["weight"].astype(x.dtype)
    y = lax.conv_general_dilated(
        x,
        weight.transpose(2, 3, 1, 0) if last else weight,
        window_strides=_per_dim(f["stride"], ndim),
        padding=padding,
        rhs_dilation=_per_dim(f["dilation"], ndim),
        feature_group_count=int(f["groups"]),
        dimension_numbers=(data, "HWIO" if last else f"OI{spatial}", data),
    )
    bias = p["bias"]
    return y + bias.reshape(bias.shape + (1,) * ndim) if bias.ndim and not last else y + bias


CONV = register("Conv1d", "Conv2d")(
    Op(params=("weight", "bias"), apply=_apply, layout="channels-last")
)
