"""Quantization: weights on the grid the options say (checked against a scale computed here),
thresholds scaled with them, the reported bound holding, calibration keeping states in range,
presets, and fine-tuning through the simulator winning back what ternary weights cost."""

from __future__ import annotations

import numpy as np
import optax
import pytest
from test_training import classifier, randman

import snnx
from snnx.errors import SnnxError
from snnx.finetune import finetune
from snnx.passes import optimize
from snnx.sim import Simulator, simulate

SNNTORCH = snnx.Semantics.profile("snntorch-nir")


@pytest.fixture
def braille(nir_paper):
    return snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")


def sparse(steps=200, batch=32, rate=0.05, seed=0):
    return (np.random.default_rng(seed).uniform(size=(steps, batch, 12)) < rate).astype(np.float32)


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_fake_quantization_grid_and_bound(braille, bits):
    quantized, records = optimize(braille, ["quantize"], semantics=SNNTORCH, options={"bits": bits})
    top = 2 ** (bits - 1) - 1
    for rec in ("fc1", "lif1.w_rec"):  # share one scale: both feed lif1.lif
        assert records[0].report["quantize"][rec]["feeds"] == "lif1.lif"
    scale = top / max(
        np.abs(braille["fc1"].weight).max(), np.abs(braille["lif1.w_rec"].weight).max()
    )
    for name in ("fc1", "lif1.w_rec"):
        levels = quantized[name].weight.astype(np.float64) * scale
        np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
        assert np.abs(levels).max() <= top + 1e-4
        error = np.abs(quantized[name].weight - braille[name].weight).max()
        assert error <= records[0].report["quantize"][name]["max_weight_error_bound"] + 1e-6
        assert records[0].report["quantize"][name]["max_weight_error_bound"] == pytest.approx(
            0.5 / scale
        )


def test_integer_mode_scales_thresholds_with_weights(braille):
    quantized, records = optimize(
        braille, ["quantize"], semantics=SNNTORCH, options={"bits": 8, "mode": "integer"}
    )
    scale = records[0].report["quantize"]["fc2"]["scale_min"]
    assert scale == pytest.approx(127 / np.abs(braille["fc2"].weight).max())
    np.testing.assert_array_equal(
        quantized["fc2"].weight, np.round(braille["fc2"].weight.astype(np.float64) * scale)
    )
    np.testing.assert_allclose(quantized["lif2"].v_threshold, braille["lif2"].v_threshold * scale)
    np.testing.assert_allclose(
        quantized["fc2"].bias, braille["fc2"].bias.astype(np.float64) * scale, rtol=1e-6
    )
    fake, _ = optimize(braille, ["quantize"], semantics=SNNTORCH, options={"bits": 8})
    x = sparse()
    as_ints = simulate(quantized, x, SNNTORCH).outputs["output"]
    assert (
        simulate(fake, x, SNNTORCH).outputs["output"] == as_ints
    ).mean() > 0.99  # one network, two units


def test_per_channel_scales_each_neuron(braille):
    quantized, _ = optimize(
        braille,
        ["quantize"],
        semantics=SNNTORCH,
        options={"bits": 8, "per": "channel", "mode": "integer"},
    )
    weight = braille["fc2"].weight.astype(np.float64)
    expected = 127 / np.abs(weight).max(axis=1)
    np.testing.assert_allclose(
        quantized["lif2"].v_threshold, braille["lif2"].v_threshold * expected
    )
    assert np.abs(quantized["fc2"].weight).max(axis=1).tolist() == [127.0] * 7


def test_power_of_two_scales_and_calibrated_state_range(braille):
    x = sparse(batch=8)
    _, records = optimize(
        braille,
        ["quantize"],
        semantics=SNNTORCH,
        options={
            "bits": 8,
            "power_of_two": True,
            "state_bits": 10,
            "mode": "integer",
            "calibration": x,
        },
    )
    for entry in records[0].report["quantize"].values():
        assert np.log2(entry["scale_min"]) == np.round(np.log2(entry["scale_min"]))
    v = simulate(braille, x, SNNTORCH, record=["lif1.lif", "lif2"]).records
    for neuron, synapse in (("lif1.lif", "fc1"), ("lif2", "fc2")):
        scale = records[0].report["quantize"][synapse]["scale_min"]
        peak = max(np.abs(v[f"{neuron}.v"]).max(), np.abs(v[f"{neuron}.i"]).max(), 1.0)
        assert peak * scale <= 2**9 - 1  # the states fit 10 signed bits
    assert any("calibrated" in change for change in records[0].changes)


def test_float16_preset(braille):
    quantized, _ = optimize(braille, ["quantize"], semantics=SNNTORCH, options={"preset": "lynxi"})
    for name in ("fc1", "lif1.w_rec", "fc2"):
        weight = quantized[name].weight
        assert weight.dtype == braille[name].weight.dtype
        np.testing.assert_array_equal(weight, weight.astype(np.float16).astype(weight.dtype))
    with pytest.raises(SnnxError, match="unknown quantization preset 'tpu'"):
        optimize(braille, ["quantize"], options={"preset": "tpu"})


def test_finetuning_wins_back_what_ternary_weights_cost():
    semantics = snnx.Semantics(dt=1e-3)
    x_train, y_train = randman(4, 20, 1024, 60, manifold_seed=0, sample_seed=1)
    x_test, y_test = randman(4, 20, 512, 60, manifold_seed=0, sample_seed=2)
    batches = [(x_train[:, b : b + 64], y_train[b : b + 64]) for b in range(0, 1024, 64)]

    def loss(outputs, labels):
        return optax.softmax_cross_entropy_with_integer_labels(
            outputs["out"].max(axis=0), labels
        ).mean()

    def accuracy(graph):
        return (
            Simulator(graph, semantics)(x_test).outputs["out"].max(axis=0).argmax(-1) == y_test
        ).mean()

    trained = finetune(
        classifier(20, 64, 4), semantics, batches, loss, learning_rate=5e-3, epochs=8, bits=16
    )
    post, _ = optimize(
        trained, ["quantize"], semantics=semantics, options={"bits": 2}
    )  # weights -1, 0, 1
    tuned = finetune(trained, semantics, batches, loss, learning_rate=5e-3, epochs=8, bits=2)
    assert accuracy(trained) > 0.95
    assert accuracy(post) < accuracy(trained) - 0.2
    assert accuracy(tuned) > accuracy(post) + 0.15
