"""JAX side of the converters: Equinox models built from snnx's Equinox modules imported with
`from_equinox` (feed-forward, convolutional, recurrent `Network`), `to_equinox` against the
simulator (jit, grad, chunks, steps), saving and loading, and `express` across semantics."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnx
from snnx import equinox_modules as em
from snnx import express, from_equinox, to_equinox
from snnx.errors import ConversionError
from snnx.exporters import load_equinox, save_equinox
from snnx.sim import simulate

KEYS = jax.random.split(jax.random.PRNGKey(0), 8)


def spikes(seed: int, shape, p: float = 0.3) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float32)


def recurrent_network() -> em.Network:
    return em.Network(
        {
            "fc": eqx.nn.Linear(6, 8, key=KEYS[0]),
            "lif": em.CubaLIF.init(8, 5e-4, 1e-3, v_threshold=0.5),
            "rec": eqx.nn.Linear(8, 8, key=KEYS[1]),
            "out": eqx.nn.Linear(8, 3, use_bias=False, key=KEYS[2]),
            "li": em.LI.init(3, 2e-3),
        },
        [
            ("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out"),
            ("out", "li"), ("li", "output"),
        ],
    )  # fmt: skip


def conv_sequential() -> em.Sequential:
    return em.Sequential(
        [
            eqx.nn.Conv2d(2, 4, 3, padding=1, key=KEYS[3]),
            em.IF.init((4, 6, 6), v_threshold=0.5),
            eqx.nn.AvgPool2d(2, 2),
            em.Flatten(),
            eqx.nn.Linear(36, 5, key=KEYS[4]),
            em.LIF.init(5, 1e-3, v_threshold=0.2, v_reset=-0.1),
        ]
    )


@pytest.mark.parametrize("profile", ["nir-reference", "spyx"])
def test_equinox_network_imports_with_its_recurrence(profile):
    model = recurrent_network()
    x = spikes(0, (30, 2, 6)) * 3
    semantics = snnx.Semantics.profile(profile, dt=1e-4)
    graph = from_equinox(model, (6,), semantics)
    assert graph.semantics == semantics and ("rec", "lif") in graph.edges
    source = np.asarray(em.run(model, x, semantics))
    np.testing.assert_allclose(simulate(graph, x).outputs["output"], source, rtol=1e-5, atol=1e-5)


def test_equinox_conv_sequential_imports():
    model = conv_sequential()
    x = spikes(1, (15, 2, 2, 6, 6))
    graph = from_equinox(model, (2, 6, 6))
    source = np.asarray(em.run(model, x, "nir-reference"))
    assert source.sum() > 0
    assert np.array_equal(simulate(graph, x).outputs["output"], source)


def test_unsupported_equinox_layer_is_named():
    model = em.Sequential([eqx.nn.Linear(2, 2, key=KEYS[0]), eqx.nn.Lambda(jax.nn.relu)])
    with pytest.raises(ConversionError, match=r"node '1'.*Lambda.*supported: eqx.nn.Linear"):
        from_equinox(model, (2,))


def test_to_equinox_matches_the_simulator_jits_grads_and_chunks():
    """Consistency check of two snnx paths: the exported Equinox module (jitted, in chunks, one
    step) against the reference simulator; and it has gradients."""
    graph = snnx.read(snnx.example_path("braille"))
    x = spikes(2, (30, 2, 12))
    ref = simulate(graph, x, "snntorch-nir").outputs["output"]
    net = to_equinox(graph, "snntorch-nir")
    ys, _ = eqx.filter_jit(net)(x)
    assert np.array_equal(np.asarray(ys), ref)
    first, state = net(x[:11], net.init_state(2))
    rest, _ = net(x[11:], state)
    assert np.array_equal(np.concatenate([first, rest]), ref)
    y0, _ = net.step(x[0])
    assert np.array_equal(np.asarray(y0), ref[0])
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x)[0]))(net)
    assert float(jnp.abs(grads.params["fc1"]["weight"]).sum()) > 0


def test_saved_equinox_model_loads_back(tmp_path):
    graph = snnx.read(snnx.example_path("braille"))
    net = to_equinox(graph, "norse")
    net = eqx.tree_at(lambda m: m.params["fc2"]["bias"], net, net.params["fc2"]["bias"] + 0.25)
    save_equinox(net, tmp_path / "m.eqx")
    back = load_equinox(tmp_path / "m.eqx")
    x = spikes(3, (10, 2, 12))
    assert np.array_equal(np.asarray(back(x)[0]), np.asarray(net(x)[0]))
    assert back.semantics == net.semantics
    (tmp_path / "bad.eqx").write_bytes(b"nope")
    with pytest.raises(ConversionError, match=r"bad\.eqx"):
        load_equinox(tmp_path / "bad.eqx")


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("snntorch-nir", snnx.Semantics.profile("snntorch-nir", dt=1e-3)),
        ("spikingjelly", snnx.Semantics.profile("spikingjelly", dt=5e-5)),
        ("snntorch-nir", snnx.Semantics.profile("norse", dt=1e-4)),
        ("sinabs", snnx.Semantics.profile("sinabs", dt=1.0).replace(overrides={})),
    ],
)
def test_express_keeps_the_behaviour(source, target):
    model = em.Sequential(
        [
            eqx.nn.Linear(6, 8, key=KEYS[5]),
            em.LIF.init(8, np.linspace(4e-4, 2e-3, 8), v_threshold=0.4),
            eqx.nn.Linear(8, 4, key=KEYS[6]),
            em.CubaLIF.init(4, 3e-4, 8e-4, v_threshold=0.3),
        ]
    )
    semantics = snnx.Semantics.profile(source, dt=1e-4)
    graph = from_equinox(model, (6,), semantics)
    x = spikes(4, (40, 2, 6)) * 2
    want = simulate(graph, x).outputs["output"]
    moved = express(graph, target)
    assert moved.semantics == target
    assert want.sum() > 0
    assert np.array_equal(simulate(moved, x).outputs["output"], want)


def test_express_as_a_pass_is_checked_under_the_semantics_it_stores():
    """``optimize(..., ["express"], options={"target": ...})``: the manager's equivalence check
    runs the result under the target semantics and finds the spikes unchanged."""
    graph = snnx.read(snnx.example_path("braille"))
    moved, records = snnx.optimize(
        graph,
        ["express"],
        semantics=snnx.Semantics.profile("snntorch-nir"),
        options={"target": "norse"},
        check_equivalence=True,
        steps=40,
    )
    assert moved.semantics.profile_name == "norse"
    assert records[0].equivalence["output"]["spike_agreement"] == 1.0


def test_express_refuses_what_the_target_cannot_do():
    graph = snnx.read(snnx.example_path("braille"))
    graph.semantics = snnx.Semantics.profile("snntorch-nir", reset="subtract")
    with pytest.raises(ConversionError, match=r"node 'lif1\.lif'.*reset"):
        express(graph, "norse")


def test_from_equinox_takes_a_bare_layer():
    """A top-level layer (not in a container) gets a node named after its class."""
    layer = eqx.nn.Linear(3, 2, key=jax.random.PRNGKey(0))
    graph = from_equinox(layer, (3,))
    assert graph.edges == [("input", "linear"), ("linear", "output")]
    np.testing.assert_array_equal(graph["linear"].weight, np.asarray(layer.weight))


def test_jax_library_converters_are_reachable_from_snnx():
    for name in ("from_spyx", "from_snnax", "from_slax", "to_snnax", "to_slax"):
        assert callable(getattr(snnx, name)) and name in dir(snnx)
