"""The precision policy, float-tie margins and compact results.

- Every matrix product and convolution the reference traces is at float32 precision (HIGHEST)
  by default, in the forward call and in gradients, and only there: the caller's own products
  keep JAX's default; ``precision="fast"`` leaves the device's default.
- Margins: the distance of each spike decision from its threshold, in float spacings, checked
  against the same recurrence computed in numpy; an exact tie is counted by `verify`.
- Compact results: spike trains come back as bool / uint8 holding the same values as the
  float32 device results (two snnx paths compared: the call and `Simulator.run`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnx
from snnx import Node
from snnx.semantics import Semantics
from snnx.sim import Simulator
from snnx.targets import LayerMap, Lowered, Spec, Target
from snnx.verification import TIE_ULPS, verify


def precisions(jaxpr) -> list:
    """The ``precision`` of every dot_general and convolution in a jaxpr, nested ones too."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in ("dot_general", "conv_general_dilated"):
            found.append(eqn.params["precision"])
        for value in eqn.params.values():
            for sub in value if isinstance(value, (list, tuple)) else [value]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found += precisions(inner)
    return found


HIGHEST = (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)


@pytest.fixture
def cnn(nir_paper):
    return snnx.read(nir_paper / "cnn_sinabs.nir")


def test_products_are_full_float32_by_default_and_only_inside_snnx(cnn):
    sim = Simulator(cnn, "sinabs-nir")
    x = jnp.zeros((3, 2, 2, 34, 34))

    def loss(params):
        return sim.run(x, params)[0]["output"].sum()

    def users_product(a):
        return a @ a

    forward = jax.make_jaxpr(lambda p: sim.run(x, p))(sim.params).jaxpr
    backward = jax.make_jaxpr(jax.grad(loss))(sim.params).jaxpr
    for jaxpr in (forward, backward):
        found = precisions(jaxpr)
        assert len(found) >= 5 and all(p == HIGHEST for p in found), found
    # the call path (numpy results) runs the same policy
    assert all(p == HIGHEST for p in precisions(jax.make_jaxpr(sim.forward)(x).jaxpr))
    # the scope ends with snnx's program: the caller's product keeps JAX's default
    assert precisions(jax.make_jaxpr(users_product)(jnp.ones((2, 2))).jaxpr) == [None]
    fast = Simulator(cnn, "sinabs-nir", precision="fast")
    assert set(precisions(jax.make_jaxpr(lambda p: fast.run(x, p))(fast.params).jaxpr)) == {None}


def test_an_unknown_precision_is_refused(cnn):
    with pytest.raises(snnx.SnnxError, match="unknown precision 'tf32'; choose from highest, fast"):
        Simulator(cnn, "sinabs-nir", precision="tf32")


def integrate_and_fire() -> snnx.Graph:
    """Input -> IF (r = 1, threshold 1) -> Output, 3 neurons."""
    return snnx.Graph.sequential(
        {
            "input": Node("Input", shape=[3]),
            "if": Node("IF", r=np.ones(3, np.float32), v_threshold=np.ones(3, np.float32)),
            "output": Node("Output", shape=[3]),
        }
    )


def test_margins_measure_the_distance_to_the_threshold_in_float_spacings():
    """v_t = v_{t-1} + x_t (dt = r = 1), reset to zero after a spike (v > 1), in numpy float32;
    the margin is (v - 1) / ulp(1) before the reset. 0.25 per step lands exactly on the
    threshold (margin 0: no spike under '>'); 0.3 per step misses it by rounding."""
    x = np.zeros((12, 2, 3), np.float32)
    x[:, :, 0], x[:, :, 1], x[:, :, 2] = 0.25, 0.3, 0.7
    semantics = Semantics(dt=1.0)
    sim = Simulator(integrate_and_fire(), semantics, record=["if"], margins=True)
    margin = sim(x).records["if.margin"]
    v = np.zeros((2, 3), np.float32)
    ulp = np.spacing(np.float32(1.0))
    expected = []
    for t in range(12):
        w = v + x[t]
        expected.append((w - np.float32(1.0)) / ulp)
        v = np.where(w > 1.0, np.float32(0.0), w)
    np.testing.assert_array_equal(margin, np.stack(expected))
    assert margin[3, 0, 0] == 0.0  # 4 x 0.25 == 1.0 exactly
    fired = sim(x).outputs["output"][:, 0, 0]
    assert not fired[3] and fired[4]  # '>': the exact tie does not fire, the next step does


class Echo(Target):
    """A target that reproduces the reference of a one-layer graph exactly (for the tie count)."""

    name = "echo"
    spec = Spec("the reference", supported=("Input", "Output", "IF"))

    def lower(self, graph, semantics, **options):
        return Lowered(self.name, graph, semantics, [LayerMap("L", "if", 3)], program=None)

    def run(self, lowered, inputs):
        out = Simulator(lowered.graph, lowered.semantics)(inputs).outputs["output"]
        return {"L": np.asarray(out, np.float32)}

    def write(self, lowered, directory):
        return []


def test_verify_counts_the_references_float_ties():
    x = np.zeros((12, 5, 3), np.float32)
    x[:, :, 0] = 0.25  # exact ties at steps 3 and 8 (after the spike at step 4, v starts over)
    result = verify(integrate_and_fire(), Echo(), x, Semantics(dt=1.0))
    (layer,) = result.layers
    assert layer.exact == 1.0 and layer.reference_ties == 2 * 5
    assert f"float ties: 10 reference decisions within {TIE_ULPS} ulps" in result.summary()
    assert result.to_dict()["layers"][0]["reference_ties"] == 10


def test_spike_trains_come_back_compact_with_the_device_values(nir_paper):
    """Two snnx paths: the numpy call (compact) against `Simulator.run` (float32)."""
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    x = (np.random.default_rng(1).uniform(size=(40, 3, 12)) < 0.3).astype(np.float32)
    for semantics, dtype in (("snntorch-nir", bool), (Semantics(max_spikes=31), np.uint8)):
        sim = Simulator(braille, semantics, record=["lif2"])
        result = sim(x)
        outputs, records = sim.run(x)
        assert result.outputs["output"].dtype == dtype
        assert result.records["lif2.out"].dtype == dtype
        assert result.records["lif2.v"].dtype == np.float32
        np.testing.assert_array_equal(result.outputs["output"], np.asarray(outputs["output"]))
        np.testing.assert_array_equal(result.records["lif2.v"], np.asarray(records["lif2.v"]))
        assert result.outputs["output"].sum() > 0
    readout = Semantics(spike_amplitude="1/dt")  # 1/dt-high spikes stay float
    assert Simulator(braille, readout)(x).outputs["output"].dtype == np.float32
