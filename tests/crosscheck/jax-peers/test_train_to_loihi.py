"""What the tier must show end to end: a model trained for a few steps in SNNAX and one in Slax,
converted to a ``.nir`` file, compiled for Loihi 2 (`snnx compile --target loihi`) and verified
against the reference simulator (`snnx verify`: Loihi's bit-accurate integer numerics on random
spike trains, exit 0 only at >= 95 % output-class agreement). Each converted graph first
reproduces its trained library model spike for spike.

Loihi resets to zero and feeds constant inputs on a bias line that cannot follow a neuron whose
voltage takes the previous current, so the models use zero resets and no biases (the lowering
refuses the others, naming the node and the reason).
"""

from __future__ import annotations

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import slax as sl
import snnax.snn as snn
from jaxpeerkit import chain, linear, scaled, slax_model, slax_run, snnax_rest, snnax_run

import snnx
from snnx.cli import main
from snnx.sim import simulate

T, B, STEPS = 30, 8, 5


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = (rng.random((T, B, 5)) < 0.4).astype(np.float32) * 2.0
    target = rng.random((B, 3)).astype(np.float32) * 6.0  # spike counts to learn
    return x, target


def _compile_and_verify(graph: snnx.Graph, tmp_path) -> None:
    path = tmp_path / "trained.nir"
    snnx.write(graph, path)
    assert main(["compile", str(path), "--target", "loihi", "-o", str(tmp_path / "loihi")]) == 0
    assert (tmp_path / "loihi" / "model.net").is_file()
    args = ["verify", str(path), "--target", "loihi", "--random", "16", "--steps", "40"]
    assert main([*args, "--rate", "0.3", "--min-agreement", "0.95"]) == 0


def test_snnax_trained_model_compiles_for_loihi_and_verifies(tmp_path):
    x, target = _data()
    model = chain([linear(5, 6, 0, 3.0, bias=False), snn.SimpleLIF([0.9], threshold=0.5),
                   linear(6, 3, 1, 3.0, bias=False), snn.SimpleLIF([0.85], threshold=0.3)])  # fmt: skip
    state = snnax_rest(model, (5,))
    optimizer = optax.adam(1e-2)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_value_and_grad
    def loss(m):
        def one(xs):
            return m(state, xs, jax.random.PRNGKey(0))[1][0]

        counts = jax.vmap(one, in_axes=1, out_axes=1)(jnp.asarray(x)).sum(0)
        return jnp.mean((counts - target) ** 2)

    before = model.layers[0].weight
    losses = []
    for _ in range(STEPS):
        value, grads = loss(model)
        updates, opt_state = optimizer.update(grads, opt_state)
        model = eqx.apply_updates(model, updates)
        losses.append(float(value))
    assert np.all(np.isfinite(losses)) and np.any(model.layers[0].weight != before)

    graph = snnx.from_snnax(model, (5,))
    want = snnax_run(model, x, state)
    assert 0.02 < float(np.mean(want)) < 0.98
    np.testing.assert_array_equal(simulate(graph, x).outputs["output"], want)
    _compile_and_verify(graph, tmp_path)


def test_slax_trained_model_compiles_for_loihi_and_verifies(tmp_path):
    x, target = _data()
    zero = dict(subtraction_reset=False)
    module, variables = slax_model(
        [nn.Dense(6, use_bias=False), sl.LIF(init_tau=1.0, v_threshold=0.5, **zero),
         nn.Dense(3, use_bias=False), sl.LIF(init_tau=0.5, v_threshold=0.4, **zero)],
        None, 5, B,
    )  # fmt: skip
    variables = scaled(variables, 2.0)
    carry = variables["carry"]

    def loss(params):
        def body(c, xt):
            y, updated = module.apply({"params": params, "carry": c}, xt)
            return updated["carry"], y

        counts = jax.lax.scan(body, carry, jnp.asarray(x))[1].sum(0)
        return jnp.mean((counts - target) ** 2)

    optimizer = optax.adam(1e-2)
    params = variables["params"]
    opt_state = optimizer.init(params)
    before = params["chain_0"]["kernel"]
    for _ in range(STEPS):
        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = optimizer.update(grads, opt_state)
        params = optax.apply_updates(params, updates)
        assert np.isfinite(float(value))
    assert np.any(params["chain_0"]["kernel"] != before)

    trained = {"params": params, "carry": carry}
    graph = snnx.from_slax(module, trained, (5,))
    want = slax_run(module, trained, x)
    assert 0.02 < float(np.mean(want)) < 0.98
    np.testing.assert_array_equal(simulate(graph, x).outputs["output"], want)
    _compile_and_verify(graph, tmp_path)
