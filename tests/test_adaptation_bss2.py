"""BrainScaleS-2 adaptation (`snnx.adaptation.bss2`) on a small two-layer network (8 -> 10 -> 3):
the training forward pass against the chip's exact event-based numerics (nominal and mismatched
chips; the exact numerics are checked against jaxsnn and mpmath in their own tests), the written
experiment within the chip's 6-bit range and read back as the adapted network, the Monte-Carlo
report, determinism and the CLI. Braille-sized figures: benchmarks/adapt_bss2.py."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest

import snnx
from snnx.adaptation import Settings, adapter_for, random_spikes
from snnx.adaptation.bss2 import Bss2Adapter, nominal_chip, on_chip, sampled_chip
from snnx.cli import main
from snnx.ir import Graph, Node
from snnx.targets import get_target
from snnx.targets.bss2 import artifact
from snnx.targets.bss2.mismatch import Spread
from snnx.targets.bss2.numerics import run_grid

REFERENCE = snnx.Semantics.profile("nir-reference")
BSS2 = get_target("bss2")


def cuba(n: int) -> Node:
    one = np.ones(n)
    return Node(
        "CubaLIF",
        tau_mem=1e-3 * one,
        tau_syn=5e-4 * one,
        r=one,
        v_leak=0 * one,
        v_threshold=one,
        v_reset=0 * one,
        w_in=one,
    )


@pytest.fixture(scope="module")
def graph() -> Graph:
    rng = np.random.default_rng(0)
    return Graph.sequential(
        {
            "input": Node("Input", shape=np.array([8])),
            "fc1": Node("Linear", weight=rng.uniform(-2.0, 8.0, (10, 8))),
            "lif1": cuba(10),
            "fc2": Node("Linear", weight=rng.uniform(-1.5, 4.5, (3, 10))),
            "lif2": cuba(3),
            "output": Node("Output", shape=np.array([3])),
        }
    )


@pytest.fixture(scope="module")
def lowered(graph):
    return BSS2.lower(graph, REFERENCE)


def test_training_forward_pass_follows_the_exact_chip(lowered):
    """Two paths: sub-stepped discrete integration (training) and exact continuous time."""
    adapter = Bss2Adapter()
    params = adapter.init(lowered)
    x = random_spikes((8,), 60, 16, 0.2, 3)
    net = lowered.program.network
    chip = sampled_chip(net, Spread(), np.random.default_rng(5), np.full(net.size, 1 / 80))
    for c in (nominal_chip(net), chip):
        mine = adapter.forward_on(lowered, params, c, jnp.asarray(adapter.feed(lowered, x)))
        exact = run_grid(net, x, params=on_chip(net, c))["counts"]
        for layer in lowered.layers:
            got = np.asarray(mine[layer.name])
            want = exact[:, :, slice(*lowered.program.population(layer.name).neurons)]
            assert want.sum() > 20
            assert abs(got.sum() - want.sum()) <= 0.1 * want.sum(), layer.name
            # spike counts per neuron and sample close to the chip's
            corr = np.corrcoef(got.sum(0).ravel(), want.sum(0).ravel())[0, 1]
            assert corr > 0.95, layer.name


def test_no_spread_samples_the_nominal_chip(lowered):
    net = lowered.program.network
    chip = sampled_chip(net, Spread.uniform(0.0), np.random.default_rng(1), np.ones(net.size))
    for drawn, nominal in zip(chip, nominal_chip(net), strict=True):
        assert np.array_equal(drawn, nominal)


def test_adaptation_stays_on_the_chip_and_reports_the_chips(graph, lowered, tmp_path):
    adapter = Bss2Adapter(chips=3, check_chips=2, check_samples=16)
    settings = Settings(iterations=6, check=3, batch=8)
    calibration = random_spikes((8,), 40, 24, 0.2, 1)
    held_out = random_spikes((8,), 40, 16, 0.2, 2)

    def run():
        return adapter.run_adaptation(graph, BSS2, REFERENCE, calibration, held_out, settings)

    done = run()
    assert max(score for _, score, _ in done.history) >= done.history[0][1]
    assert len(done.chips_before) == len(done.chips_after) == 3
    assert np.all((done.chips_after >= 0) & (done.chips_after <= 1))
    summary = done.summary()
    assert "class agreement over 3 mismatched chips (10th percentile)" in summary["after"]
    for proj in done.lowered.program.projections:
        assert np.abs(proj.q).max() <= 63
    # the written experiment holds the adapted weights, read back as the adapted network
    BSS2.write(done.lowered, tmp_path)
    back = artifact.read(tmp_path / "experiment.json")
    np.testing.assert_allclose(back.w_input, done.lowered.program.network.w_input, rtol=1e-12)
    np.testing.assert_allclose(back.w_internal, done.lowered.program.network.w_internal, rtol=1e-12)
    again = run()
    for a, b in zip(
        done.lowered.program.projections, again.lowered.program.projections, strict=True
    ):
        assert np.array_equal(a.q, b.q)
    np.testing.assert_array_equal(done.chips_after, again.chips_after)


def test_compile_adapt_writes_the_experiment(graph, tmp_path, capsys):
    path = tmp_path / "net.nir"
    snnx.write(graph, path)
    out = tmp_path / "out"
    argv = ["compile", str(path), "--target", "bss2", "-o", str(out), "--adapt"]
    argv += ["--adapt-steps", "3", "--samples", "8", "--steps", "40", "--rate", "0.2"]
    assert main(argv) == 0
    assert "adaptation on held-out inputs (8 samples)" in capsys.readouterr().out
    report = json.loads((out / "adaptation.json").read_text())
    assert any("mismatched chips" in key for key in report["after"])
    assert artifact.read(out / "experiment.json").size == 13
    assert type(adapter_for("bss2")).__name__ == "Bss2Adapter"
