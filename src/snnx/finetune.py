"""Quantization-aware fine-tuning: win back what quantization cost, through the differentiable
simulator.

The weights a `quantize` pass would produce are used in the forward pass while the gradient flows
to the float weights unchanged (the straight-through estimator):

    W_used = W + stop_gradient(q(W) - W),   q(W) = clip(round(W s)) / s

with ``s`` the layer's scale, recomputed from the current weights each step. After training, the
`quantize` pass turns the tuned float weights into the quantized graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnx.ir.graph import Graph
from snnx.passes.base import PassContext
from snnx.passes.quantize import SYNAPSES, options_of, quantize
from snnx.semantics import Semantics


def fake_quantize(fields: dict, bits: int, power_of_two: bool) -> dict:
    """A synapse's ``weight`` on the grid `quantize` uses, ``q(W)``, with the straight-through
    gradient; one scale for the whole tensor.

    >>> import jax, jax.numpy as jnp
    >>> w = {"weight": jnp.array([0.3, -1.0])}
    >>> fake_quantize(w, 2, False)["weight"].tolist()
    [0.0, -1.0]
    >>> jax.grad(lambda w: fake_quantize({"weight": w}, 2, False)["weight"].sum())(w["weight"]).tolist()
    [1.0, 1.0]
    """
    top = 2 ** (bits - 1) - 1
    largest = jnp.max(jnp.abs(fields["weight"]))
    scale = jnp.where(largest > 0, top / jnp.where(largest > 0, largest, 1.0), 1.0)
    if power_of_two:
        scale = 2.0 ** jnp.floor(jnp.log2(scale))
    scale = jax.lax.stop_gradient(scale)

    weight = fields["weight"]
    quantized = jnp.clip(jnp.round(weight * scale), -top, top) / scale
    return {**fields, "weight": weight + jax.lax.stop_gradient(quantized - weight)}


def finetune(
    graph: Graph,
    semantics: Semantics,
    batches: Iterable[tuple[Any, Any]],
    loss: Callable[[dict, Any], Any],
    *,
    learning_rate: float = 1e-3,
    epochs: int = 1,
    **quantization: Any,
) -> Graph:
    """Train ``graph``'s synapse weights with quantization in the loop, then quantize.

    ``batches`` yields ``(inputs, targets)``; ``loss(outputs, targets)`` is a scalar from the
    simulator's outputs dict. ``quantization`` takes the `quantize` options (``bits``,
    ``preset``, ``mode``...). Returns the quantized graph.
    """
    import optax

    from snnx.sim import Simulator

    opts = options_of(PassContext(options=quantization))
    sim = Simulator(graph, semantics)
    tuned = {n: v for n, v in sim.params.items() if sim.program.plan.graph[n].type in SYNAPSES}

    def forward(weights: Any, x: Any) -> Any:
        params = {**sim.params}
        for name, fields in weights.items():
            params[name] = fake_quantize(fields, opts["bits"], opts["power_of_two"])
        outputs, _ = sim.run(x, params)
        return outputs

    optimizer = optax.adam(learning_rate)
    state = optimizer.init(tuned)

    @jax.jit
    def update(weights: Any, state: Any, x: Any, y: Any) -> tuple[Any, Any]:
        grads = jax.grad(lambda w: loss(forward(w, x), y))(weights)
        changes, state = optimizer.update(grads, state)
        return optax.apply_updates(weights, changes), state

    data = list(batches)
    for _ in range(epochs):
        for x, y in data:
            tuned, state = update(tuned, state, x, y)
    trained = sim.graph(
        {**sim.params, **{n: {k: np.asarray(v) for k, v in f.items()} for n, f in tuned.items()}}
    )
    return quantize(trained, PassContext(semantics=semantics, options=quantization))
