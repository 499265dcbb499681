"""Target-aware adaptation (`snnx.adaptation`, `snnx compile --adapt`).

The real tools check the adapted artifacts in their tiers (Lava: tests/crosscheck/lava, XyloSim:
tests/crosscheck/xylo). Here: the adapters' differentiable forward passes against the targets'
exact numerics (two snnx paths: the exact ones are checked against Lava and XyloSim there),
that adaptation on the NIR paper's Braille network raises its class agreement with the float
reference on held-out inputs within the chips' limits, deterministically, and the CLI.
"""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import snnx
from snnx import dynamics
from snnx.adaptation import Settings, adapt, adapter_for, random_spikes
from snnx.adaptation.loop import chip_semantics
from snnx.cli import main
from snnx.errors import SnnxError
from snnx.ir import Graph, Node
from snnx.targets import get_target
from snnx.targets.loihi import artifact
from snnx.targets.loihi import weights as netx_weights

SUBTRACT = snnx.Semantics.profile("nir-reference", reset="subtract")


@pytest.fixture(scope="module")
def braille(nir_paper):
    return snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")


@pytest.mark.parametrize("target", ["loihi", "xylo"])
def test_forward_is_the_exact_numerics_after_a_perturbation(braille, target):
    """Two snnx paths: the adapter's float32 forward pass and the target's integer numerics."""
    lowered, _ = chip_semantics(braille, get_target(target), SUBTRACT)
    adapter = adapter_for(target)
    params = adapter.init(lowered)
    keys = iter(jax.random.split(jax.random.PRNGKey(0), 64))
    params = jax.tree_util.tree_map(
        lambda v: v * (1 + 0.05 * jax.random.normal(next(keys), jnp.shape(v))), params
    )
    changed = adapter.apply(lowered, params)
    x = random_spikes((12,), 80, 6, 0.2, 3)
    mine = adapter.forward(lowered, params, jnp.asarray(adapter.feed(lowered, x)))
    exact = get_target(target).run(changed, x)
    for layer in lowered.layers:
        counts = exact[layer.name] / dynamics.amplitude(lowered.semantics)
        assert np.array_equal(np.asarray(mine[layer.name]), counts), layer.name
        assert counts.sum() > 10


def _numbers(value: object) -> list:
    """Every number in a program (its dataclass fields, lists and arrays), in order."""
    if dataclasses.is_dataclass(value):
        return [_numbers(getattr(value, f.name)) for f in dataclasses.fields(value) if f.compare]
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return [value] if isinstance(value, (int, float, str)) or value is None else []


def test_loihi_lowering_takes_the_nearest_semantics_it_expresses(braille):
    lowered, chip = chip_semantics(braille, get_target("loihi"), SUBTRACT)
    assert (chip.reset, chip.integrator) == ("zero", "exp-decay")
    assert lowered.semantics == SUBTRACT


@pytest.mark.parametrize("target", ["loihi", "xylo"])
def test_adaptation_raises_agreement_on_held_out_inputs(braille, target):
    calibration = random_spikes((12,), 96, 96, 0.1, 1)
    held_out = random_spikes((12,), 96, 96, 0.1, 2)
    settings = Settings(iterations=40, check=10)
    done = adapt(
        braille, target, SUBTRACT, calibration=calibration, held_out=held_out, settings=settings
    )
    # the exact numerics' agreement on the calibration inputs never falls (the best is kept)
    assert max(score for _, score, _ in done.history) >= done.history[0][1]
    if target == "loihi":  # Loihi's lowering differs in reset and integrator: much to win back
        assert done.after.decided_agreement > done.before.decided_agreement + 0.05
    assert done.after.batch == 96 and done.before.batch == 96
    again = adapt(
        braille, target, SUBTRACT, calibration=calibration, held_out=held_out, settings=settings
    )
    assert _numbers(done.lowered.program) == _numbers(again.lowered.program)
    if target == "loihi":
        for layer in done.lowered.program.layers:
            assert layer.weight.min() >= -256 and layer.weight.max() <= 254
            assert 1 <= layer.threshold <= 2048 and 0 <= layer.v_decay <= 4096
            # netx and Lava apply the adapted weights as stored
            if layer.weight_rec is None:
                assert np.array_equal(netx_weights.effective_dense(layer.weight), layer.weight)
    else:
        done.lowered.program.check()


def test_compile_adapt_writes_the_adapted_artifact(braille, nir_paper, tmp_path, capsys):
    path = nir_paper / "braille_noDelay_bias_zero.nir"
    args = [
        "compile",
        str(path),
        "--target",
        "loihi",
        "-o",
        str(tmp_path),
        "--adapt",
        "--adapt-steps",
        "20",
        "--samples",
        "32",
        "--steps",
        "64",
        "--report",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "adaptation on held-out inputs (32 samples)" in text
    report = json.loads((tmp_path / "adaptation.json").read_text())
    assert set(report) >= {"before", "after", "notes", "history"}
    assert "class agreement" in report["after"]
    assert (tmp_path / "report" / "index.html").read_text().count("Adaptation") >= 1
    program = artifact.read(tmp_path / "model.net")
    stored = json.loads((tmp_path / "resources.json").read_text())
    assert stored["neurons"] == sum(layer.neurons for layer in program.layers) or stored


def test_compile_adapt_refuses_bad_calibration(nir_paper, tmp_path, capsys):
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    out = str(tmp_path / "out")
    common = ["compile", path, "--target", "loihi", "-o", out]
    assert main([*common, "--adapt", "--calibration", str(tmp_path / "bad.npy")]) == 1
    assert "bad.npy: cannot read an array" in capsys.readouterr().err
    assert main([*common, "--calibration", str(tmp_path / "bad.npy")]) == 1
    assert "go with --adapt" in capsys.readouterr().err
    with pytest.raises(SnnxError, match="no adapter"):
        adapter_for("cpu")  # every target has an adapter; "cpu" is none


def test_verify_counts_undecided_samples_and_warns():
    """Two identical LIF outputs fed the same spikes always tie: every sample is undecided;
    a third output that fires most on its own input decides the rest."""
    from snnx.verification import verify

    full = np.full
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[2]),
            "fc": Node("Linear", weight=np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])),
            "lif": Node(
                "LIF",
                tau=full(3, 1e-3),
                r=full(3, 1.0),
                v_leak=full(3, 0.0),
                v_threshold=full(3, 0.5),
            ),
            "out": Node("Output", shape=[3]),
        }
    )
    semantics = snnx.Semantics.profile("snntorch-nir")  # reset to zero: Loihi can run it
    x = np.zeros((30, 4, 2), np.float32)
    x[::3, :, 0] = 1  # outputs 0 and 1 fire together: a tie
    x[::2, 2:, 1] = 1  # output 2 fires more in samples 2 and 3
    result = verify(graph, get_target("loihi"), x, semantics)
    assert result.undecided == 2
    assert result.decided_agreement == 1.0
    assert "warning: many undecided outputs" in result.summary()


def test_loihi_subtractive_start_spikes_as_the_subtracting_reference():
    """Loihi resets to zero; its subtractive start (vDecay 4096, a self weight of -k theta)
    spikes as the float reference that subtracts (snnx's simulator), within a spike per neuron,
    where the plain lowering (reset to zero) misses by tens."""
    from snnx.adaptation.loihi import subtractive_start
    from snnx.adaptation.loop import reference_counts

    full = np.full
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[2]),
            "fc": Node("Linear", weight=np.array([[40.0, 0.0], [25.0, 20.0], [0.0, 60.0]])),
            "lif": Node(
                "LIF",
                tau=full(3, 5e-3),
                r=full(3, 1.0),
                v_leak=full(3, 0.0),
                v_threshold=full(3, 1.0),
            ),
            "out": Node("Output", shape=[3]),
        }
    )
    target = get_target("loihi")
    lowered, _ = chip_semantics(graph, target, SUBTRACT)
    start = subtractive_start(lowered)
    assert start is not None
    x = random_spikes((2,), 200, 4, 0.7, 0)
    ref = reference_counts(lowered, x)["1"].sum(0)
    padded = np.concatenate([x, np.zeros((lowered.output.latency, 4, 2), np.float32)])
    lat = lowered.output.latency

    def counts(program):
        return np.asarray(target.run(program, padded)["1"])[lat:].sum(0)

    assert np.abs(counts(start) - ref).max() <= 1
    assert np.abs(counts(lowered) - ref).max() > 10
    for layer in start.program.layers:  # Lava applies the weights as stored
        applied = netx_weights.effective_dense_rec(layer.weight, layer.weight_rec)
        assert np.array_equal(applied[0], layer.weight)
        assert np.array_equal(applied[1], layer.weight_rec)
        assert layer.v_decay == 4096 and np.abs(layer.weight_rec).max() <= 256


def test_adaptation_fits_from_every_start_it_is_given(braille):
    calibration = random_spikes((12,), 64, 32, 0.1, 1)
    settings = Settings(iterations=10, check=5, starts=None)
    done = adapt(
        braille, "loihi", SUBTRACT, calibration=calibration, held_out=calibration, settings=settings
    )
    assert [i for i, _, _ in done.history] == [0, 5, 10, 0, 5, 10]  # two starts fitted
    best = max(score for _, score, _ in done.history)
    assert best == max(s for _, s, _ in done.history[3 if done.start != "lowered" else 0 :][:3])


def test_loihi_subtractive_start_forward_is_the_exact_numerics(braille):
    from snnx.adaptation.loihi import subtractive_start

    target = get_target("loihi")
    lowered, _ = chip_semantics(braille, target, SUBTRACT)
    start = subtractive_start(lowered)
    assert start is not None
    adapter = adapter_for("loihi")
    assert [label for label, _ in adapter.starts(lowered)][1:] == ["subtractive reset emulated"]
    params = adapter.init(start)
    keys = iter(jax.random.split(jax.random.PRNGKey(1), 64))
    params = jax.tree_util.tree_map(
        lambda v: v * (1 + 0.05 * jax.random.normal(next(keys), jnp.shape(v))), params
    )
    changed = adapter.apply(start, params)
    x = random_spikes((12,), 80, 6, 0.2, 3)
    mine = adapter.forward(start, params, jnp.asarray(adapter.feed(start, x)))
    exact = target.run(changed, x)
    for layer in start.layers:
        counts = exact[layer.name] / dynamics.amplitude(start.semantics)
        assert np.array_equal(np.asarray(mine[layer.name]), counts), layer.name
        assert counts.sum() > 10


def test_verify_directory_runs_the_adapted_artifact(nir_paper, tmp_path, capsys):
    """`snnx verify DIR` on the held-out quarter of the calibration file gives the class
    agreement `compile --adapt` reported after adaptation (the artifact as written), and with
    --no-artifact the one before (a fresh lowering)."""
    path = nir_paper / "braille_noDelay_bias_zero.nir"
    data = random_spikes((12,), 64, 64, 0.1, 4)
    np.save(tmp_path / "cal.npy", data)
    np.save(tmp_path / "held.npy", data[:, 48:])
    out = tmp_path / "out"
    args = ["compile", str(path), "--target", "loihi", "-o", str(out), "--adapt"]
    assert main([*args, "--calibration", str(tmp_path / "cal.npy"), "--adapt-steps", "30"]) == 0
    capsys.readouterr()
    report = json.loads((out / "adaptation.json").read_text())
    figures = {}
    for extra in ([], ["--no-artifact"]):
        verify_args = ["verify", str(out), "--target", "loihi", "--json", *extra]
        assert main([*verify_args, "--input", str(tmp_path / "held.npy")]) == 0
        figures[bool(extra)] = json.loads(capsys.readouterr().out)
    key = "class agreement"
    assert figures[False]["class_agreement"] == pytest.approx(report["after"][key], abs=1e-4)
    assert figures[True]["class_agreement"] == pytest.approx(report["before"][key], abs=1e-4)
