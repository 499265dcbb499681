"""Adam (Kingma & Ba 2015) on a pytree, with the step size decaying along a cosine and the
gradient clipped to a global norm, written out so that adaptation needs no optimizer library::

    g     = clip(grad) (NaNs set to 0),   clip(g) = g min(1, c / |g|)
    m     = b1 m + (1 - b1) g,             s = b2 s + (1 - b2) g^2
    p    -= lr_k (m / (1 - b1^k)) / (sqrt(s / (1 - b2^k)) + eps)
    lr_k  = lr (alpha + (1 - alpha) (1 + cos(pi min(k, K) / K)) / 2)

>>> import jax.numpy as jnp
>>> state = init({"w": jnp.array(1.0)})
>>> params, state = update({"w": jnp.array(1.0)}, {"w": jnp.array(2.0)}, state, 0.1, 10)
>>> round(float(params["w"]), 4)  # the first step moves each parameter by lr
0.9
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

B1, B2, EPS = 0.9, 0.999, 1e-8
#: The global norm gradients are clipped to, and the share of the step size the cosine ends at.
CLIP, ALPHA = 1.0, 0.05


def init(params: Any) -> dict[str, Any]:
    """Zero moments and step count for ``params``."""
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return {"m": zeros, "s": zeros, "k": jnp.zeros((), jnp.int32)}


def update(
    params: Any, grads: Any, state: dict[str, Any], rate: float, total: int
) -> tuple[Any, dict[str, Any]]:
    """One step of Adam at ``rate`` (cosine-decayed over ``total`` steps): new params, state."""
    grads = jax.tree_util.tree_map(lambda g: jnp.where(jnp.isfinite(g), g, 0.0), grads)
    norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grads)))
    grads = jax.tree_util.tree_map(lambda g: g * jnp.minimum(1.0, CLIP / (norm + 1e-12)), grads)
    k = state["k"] + 1
    m = jax.tree_util.tree_map(lambda m, g: B1 * m + (1 - B1) * g, state["m"], grads)
    s = jax.tree_util.tree_map(lambda s, g: B2 * s + (1 - B2) * g**2, state["s"], grads)
    progress = jnp.minimum(state["k"], total) / max(total, 1)
    lr = rate * (ALPHA + (1 - ALPHA) * 0.5 * (1 + jnp.cos(jnp.pi * progress)))
    c1, c2 = 1 - B1**k, 1 - B2**k
    params = jax.tree_util.tree_map(
        lambda p, m, s: p - lr * (m / c1) / (jnp.sqrt(s / c2) + EPS), params, m, s
    )
    return params, {"m": m, "s": s, "k": k}
