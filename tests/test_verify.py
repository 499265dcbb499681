"""Verification machinery with targets defined here: one that replays the reference on its own
clock (every layer must agree exactly), one that corrupts a spike (the divergence is found), and
the compile / verify / targets commands around them."""

from __future__ import annotations

import json

import numpy as np
import pytest

import snnx
from snnx.cli import main
from snnx.ir.graph import Graph
from snnx.sim import Simulator
from snnx.targets import LayerMap, Lowered, Spec, Target, get_target, register
from snnx.verification import verify


class Replay(Target):
    """The reference itself, each layer's output delayed by its depth (as a chip's pipeline)."""

    name = "replay"
    spec = Spec("the reference, delayed one step per layer", {"neurons": "any"})

    def lower(self, graph, semantics, **options):
        flat = graph.flatten()
        spiking = [n for n in flat.flow_order() if flat[n].type in ("LIF", "CubaLIF", "IF")]
        layers = [
            LayerMap(f"L{i}", n, int(np.prod(flat.check()[n].output)), latency=i + 1)
            for i, n in enumerate(spiking)
        ]
        return Lowered(self.name, flat, semantics, layers, program=None, notes=["replayed"])

    def run(self, lowered, inputs):
        records = Simulator(
            lowered.graph, lowered.semantics, record=[m.node for m in lowered.layers]
        )(inputs).records
        out = {}
        for layer in lowered.layers:
            trace = records[f"{layer.node}.out"].reshape(inputs.shape[0], inputs.shape[1], -1)
            out[layer.name] = np.concatenate([np.zeros_like(trace[: layer.latency]), trace])[
                : inputs.shape[0]
            ]
        return out

    def write(self, lowered, directory):
        path = directory / "replay.json"
        path.write_text(json.dumps([m.node for m in lowered.layers]))
        return [path]


class Flipped(Replay):
    """Replay, but one spike of the first layer flipped at reference step 5 of sample 1."""

    name = "flipped"

    def run(self, lowered, inputs):
        out = super().run(lowered, inputs)
        first = lowered.layers[0]
        out[first.name][5 + first.latency, 1, 0] = 1 - out[first.name][5 + first.latency, 1, 0]
        return out


class Silent(Replay):
    """A chip that never fires."""

    name = "silent"

    def run(self, lowered, inputs):
        return {k: np.zeros_like(v) for k, v in super().run(lowered, inputs).items()}


register(Replay())
register(Flipped())
register(Silent())


@pytest.fixture
def braille(nir_paper) -> Graph:
    return snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")


def spikes(steps=60, batch=6, seed=0):
    return (np.random.default_rng(seed).uniform(size=(steps, batch, 12)) < 0.3).astype(np.float32)


def test_replay_agrees_exactly_on_every_layer(braille):
    """Consistency check of the verify machinery: the `replay` test target is the reference
    itself, delayed, so every agreement figure must be perfect."""
    result = verify(braille, get_target("replay"), spikes(), "snntorch-nir")
    assert [a.node for a in result.layers] == ["lif1.lif", "lif2"]
    assert all(a.exact == 1.0 and a.first_divergence is None for a in result.layers)
    assert all(a.count_correlation == pytest.approx(1.0) for a in result.layers)
    assert result.class_agreement == 1.0 and result.first_divergence is None
    assert result.layers[1].reference_spikes > 0
    assert "bit-exact on every layer" in result.summary()


def test_a_flipped_spike_is_found_where_it_happened(braille):
    result = verify(braille, get_target("flipped"), spikes(), "snntorch-nir")
    first = result.layers[0]
    assert first.exact == pytest.approx(1 - 1 / (60 * 6 * 38))
    assert first.first_divergence == 5
    assert result.first_divergence == ("L0", 5)


def test_commands_around_a_target(braille, nir_paper, tmp_path, capsys):
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    assert main(["targets"]) == 0
    assert "replay: the reference, delayed one step per layer" in capsys.readouterr().out
    assert (
        main(
            [
                "compile",
                path,
                "--target",
                "replay",
                "--profile",
                "snntorch-nir",
                "-o",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "out" / "replay.json").read_text()) == ["lif1.lif", "lif2"]
    lowered = snnx.read(tmp_path / "out" / "lowered.nir")
    assert lowered.semantics.profile_name == "snntorch-nir"
    assert json.loads((tmp_path / "out" / "resources.json").read_text()) == {
        "neurons": 45,
        "layers": 2,
    }
    capsys.readouterr()
    argv = [
        "verify",
        path,
        "--target",
        "flipped",
        "--profile",
        "snntorch-nir",
        "--random",
        "4",
        "--steps",
        "30",
        "--rate",
        "0.3",
        "--report",
        str(tmp_path / "report"),
        "--json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["first_divergence"] == {"layer": "L0", "step": 5}
    assert {p.name for p in (tmp_path / "report").iterdir()} == {
        "index.html",
        "report.json",
        "agreement.png",
        "over_time.png",
        "raster_0.png",
        "raster_1.png",
    }
    assert "first divergence: layer L0, step 5" in (tmp_path / "report" / "index.html").read_text()


def test_min_agreement_sets_the_exit_code(nir_paper, capsys):
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    argv = [
        "verify",
        path,
        "--target",
        "replay",
        "--profile",
        "snntorch-nir",
        "--random",
        "3",
        "--steps",
        "20",
    ]
    assert main([*argv, "--min-agreement", "1.0", "--no-notes"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert (
        last.startswith("passed: ") and "100.00% of 3 samples (at least 100.00% required)" in last
    )
    silent = [*argv[:3], "silent", *argv[4:]]
    assert main([*silent, "--min-agreement", "0.99"]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("FAILED: ")
    assert main(["verify", path, "--target", "nope"]) == 1
    assert "unknown target 'nope'" in capsys.readouterr().err
