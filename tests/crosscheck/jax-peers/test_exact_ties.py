"""Exact threshold ties: a Slax LIF (``v = sigmoid(tau) v + x``, fire where ``v >= threshold``,
subtract) fed 1.0 per step reaches its threshold exactly, in float32, on many steps. snnx computes
its coefficients from the graph's fields in float64 and casts them once, so that a decay of
``sigmoid(tau)`` and a gain of 1 are the float32 numbers Slax uses, and every tie fires as it
does in Slax (the reference: Slax itself)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from jaxpeerkit import slax_rest, slax_run

import snnx
from snnx.sim import simulate

sl = pytest.importorskip("slax")

TAUS = jnp.linspace(-2.0, 3.0, 9)  # sigmoid: decays from 0.12 to 0.95, one per neuron


@pytest.mark.parametrize("threshold", [1.0, 1.5, 2.0])
def test_threshold_ties_fire_as_in_slax(threshold):
    import jax

    module = sl.LIF(init_tau=TAUS, trainable_tau=True, v_threshold=threshold)
    variables = slax_rest(module, dict(module.init(jax.random.PRNGKey(0), jnp.zeros((1, 9)))))
    x = np.ones((100, 1, 9), np.float32)
    want = slax_run(module, variables, x)
    graph = snnx.from_slax(module, variables, (9,))
    got = np.asarray(simulate(graph, x, graph.semantics).outputs["output"])
    assert want.sum() > 0
    assert np.array_equal(got.reshape(want.shape), want), (
        f"{int((got.reshape(want.shape) != want).sum())}/900 differ"
    )
