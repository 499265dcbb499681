"""Dense synapses: ``Affine`` ``y = W x + b``, ``Linear`` ``y = W x``, ``Scale`` ``y = s * x``.

>>> import jax.numpy as jnp
>>> AFFINE.apply({"weight": jnp.eye(2) * 2, "bias": jnp.ones(2)}, jnp.ones((3, 2)), None)[0].tolist()
[3.0, 3.0]
"""

from __future__ import annotations

from snnx.sim.ops.registry import Op, register

AFFINE = register("Affine")(
    Op(params=("weight", "bias"), apply=lambda p, x, ctx: x @ p["weight"].T + p["bias"])
)
LINEAR = register("Linear")(Op(params=("weight",), apply=lambda p, x, ctx: x @ p["weight"].T))
SCALE = register("Scale")(
    Op(params=("scale",), apply=lambda p, x, ctx: x * p["scale"], layout="elementwise")
)
