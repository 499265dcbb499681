"""BrainScaleS-2 under `snnx verify`: binned continuous-time spikes against the reference simulator
(nir-reference, exact integrator), statistical agreement on the Braille network, and the
fixed-pattern mismatch model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import snnx
from snnx.cli import main
from snnx.errors import SnnxWarning
from snnx.ir import Graph, Node
from snnx.sim import Simulator
from snnx.targets import get_target
from snnx.targets.bss2.agreement import event_trains, grid_trains, spike_agreement
from snnx.targets.bss2.mismatch import Spread, robustness
from snnx.targets.bss2.numerics import run_grid
from snnx.verification import verify

REFERENCE = snnx.Semantics.profile("nir-reference")


def slow_network(seed=0):
    """3 inputs -> 5 neurons with tau much longer than dt (4 ms / 2 ms against dt = 0.1 ms),
    where the discrete reference is close to its continuous-time limit, and weights that make
    single spikes (in tonic firing the reference's end-of-step reset lengthens every interval
    by half a step on average, so the trains drift apart)."""
    rng = np.random.default_rng(seed)
    one = np.ones(5)
    return Graph.sequential(
        {
            "input": Node("Input", shape=np.array([3])),
            "fc": Node("Linear", weight=rng.uniform(-50, 150, (5, 3))),
            "lif": Node(
                "CubaLIF",
                tau_mem=0.004 * one,
                tau_syn=0.002 * one,
                r=one,
                v_leak=0 * one,
                v_threshold=one,
                v_reset=0 * one,
                w_in=one,
            ),
            "output": Node("Output", shape=np.array([5])),
        }
    )


def sparse(steps, batch, channels, rate, seed=0):
    return (np.random.default_rng(seed).uniform(size=(steps, batch, channels)) < rate).astype(
        np.float32
    )


def first_steps(counts: np.ndarray) -> np.ndarray:
    """(B, N): the step of each neuron's first spike, -1 where it never fires."""
    fired = counts > 0
    return np.where(fired.any(axis=0), fired.argmax(axis=0), -1)


def test_slow_dynamics_agree_on_first_spikes_and_counts():
    """Far from the step size, the chip's first crossing of every neuron falls in the step where
    the reference first fires, and spike counts agree; later spikes drift, since the reference
    resets at the end of the step, on average half a step after the crossing."""
    graph = slow_network()
    x = sparse(300, 4, 3, 0.02)
    result = verify(graph, get_target("bss2"), x, REFERENCE, quantize=False, refractory=0.0)
    (layer,) = result.layers
    assert layer.reference_spikes > 100
    ref, chip = first_steps(result.reference["lif"]), first_steps(result.target_traces["lif"])
    assert (ref >= 0).sum() >= 15
    np.testing.assert_array_equal(chip, ref)
    assert layer.count_correlation > 0.99
    assert 1.0 <= layer.target_spikes / layer.reference_spikes < 1.15  # shorter intervals


def test_first_spike_times_lie_in_the_reference_step():
    """The chip's continuous first-spike time lies inside the reference step that reports it:
    within one step before the end of that step."""
    graph = slow_network(1)
    x = sparse(300, 2, 3, 0.02, seed=1)
    lowered = get_target("bss2").lower(graph, REFERENCE, quantize=False, refractory=0.0)
    chip = run_grid(lowered.program.network, x, capacity=4096)
    ref = Simulator(graph, REFERENCE, record=["lif"])(x).records["lif.out"].reshape(300, 2, 5)
    firsts = [
        ([train[:1] for train in a], [train[:1] for train in b])
        for a, b in zip(
            grid_trains(ref, 1e-4),
            event_trains(chip["times"], chip["neurons"], 0, 5),
            strict=True,
        )
    ]
    for ref_first, chip_first in firsts:
        for r, c in zip(ref_first, chip_first, strict=True):
            assert r.size == c.size
            if r.size:
                assert r[0] - 1e-4 < c[0] <= r[0]
    everything = spike_agreement(
        grid_trains(ref, 1e-4), event_trains(chip["times"], chip["neurons"], 0, 5), 1e-4
    )
    assert everything.rates_within == 1.0 and everything.max_deviation <= 1e-4


@pytest.fixture(scope="module")
def braille(nir_paper):
    return snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")


@pytest.fixture(scope="module")
def braille_lowered(braille):
    return get_target("bss2").lower(braille, REFERENCE)


def test_braille_agrees_statistically(braille, braille_lowered):
    """The Braille net runs with tau of 2-10 steps, far from continuous time, and the chip is
    quantized to 6 bits: agreement is statistical. Measured on these inputs: class agreement
    0.88, spike-count correlation 0.98 / 0.95; the bounds leave room for platform rounding."""
    x = sparse(100, 16, 12, 0.1)
    result = verify(braille, get_target("bss2"), x, REFERENCE, lowered=braille_lowered)
    assert [a.node for a in result.layers] == ["lif1.lif", "lif2"]
    assert result.class_agreement >= 0.75
    assert all(a.count_correlation > 0.9 for a in result.layers)
    for a in result.layers:
        assert 0.7 < a.target_spikes / a.reference_spikes < 1.4
    assert any("quantized to 6 bits" in n for n in result.notes)


def test_verify_command_runs_the_target(nir_paper, capsys):
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    argv = ["verify", path, "--target", "bss2", "--profile", "nir-reference", "--random", "4"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnnxWarning)
        assert main([*argv, "--steps", "40"]) == 0
    out = capsys.readouterr().out
    assert "verify bss2: 4 samples x 40 steps" in out and "lif1.lif" in out


def test_no_spread_reproduces_the_nominal_chip(braille_lowered):
    x = sparse(40, 4, 12, 0.15, seed=2)
    result = robustness(braille_lowered, x, n=2, spread=0.0)
    assert result.class_vs_nominal.tolist() == [1.0, 1.0]
    assert result.coincidence.tolist() == [1.0, 1.0]
    assert result.output_spikes.tolist() == [result.nominal_output_spikes] * 2


def test_mismatch_changes_spikes_reproducibly(braille, braille_lowered):
    x = sparse(40, 4, 12, 0.15, seed=2)
    ref = Simulator(braille, REFERENCE, record=["lif2"])(x).records["lif2.out"]
    a = robustness(braille_lowered, x, n=3, spread=Spread.uniform(0.1), seed=5, reference=ref)
    b = robustness(braille_lowered, x, n=3, spread=Spread.uniform(0.1), seed=5, reference=ref)
    assert a.to_dict() == b.to_dict()
    assert np.all(a.coincidence < 1.0) and np.all(a.coincidence > 0.3)
    assert a.class_vs_reference is not None and 0 <= a.nominal_class_vs_reference <= 1
    assert "mismatch: 3 chip instances" in a.summary()
