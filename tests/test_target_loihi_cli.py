"""The loihi target through the commands: ``snnx targets``, ``snnx compile`` (``model.net`` in
netx's layout, the lowered graph, the resource report) and ``snnx verify``."""

from __future__ import annotations

import json

import h5py
import numpy as np

import snnx
from snnx.cli import main
from snnx.targets.loihi import artifact

BRAILLE = str(snnx.example_path("braille"))


def test_the_target_is_listed(capsys):
    assert main(["targets"]) == 0
    assert "loihi: Intel Loihi 2 through Lava / lava-dl netx" in capsys.readouterr().out


def test_compile_writes_a_netx_file_the_lowered_graph_and_resources(tmp_path, capsys):
    out = tmp_path / "braille"
    argv = ["compile", BRAILLE, "--target", "loihi", "--profile", "snntorch-nir", "-o", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "estimated_cores" in printed and "bias line" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "lowered.nir",
        "metrics.json",
        "model.net",
        "resources.json",
    ]
    with h5py.File(out / "model.net", "r") as f:
        layers = f["layer"]
        assert sorted(layers, key=int) == ["0", "1", "2"]
        assert [layers[i]["type"][0] for i in "012"] == [b"input", b"dense_rec", b"dense"]
        assert layers["0"]["shape"][()].tolist() == [13]  # 12 inputs and the bias line
        first = layers["1"]
        assert first["weight"].shape == (39, 13) and first["weight_rec"].shape == (39, 39)
        assert first["neuron/type"][0] == b"CUBA"
        neuron = {k: int(first[f"neuron/{k}"][()]) for k in ("iDecay", "vDecay", "refDelay")}
        assert neuron == {"iDecay": 1843, "vDecay": 410, "refDelay": 1}
        weights = np.concatenate([first["weight"][()].ravel(), first["weight_rec"][()].ravel()])
        assert (
            np.all(weights == np.round(weights)) and -256 <= weights.min() <= weights.max() <= 254
        )
        assert not f["layer"].attrs.keys()
    report = json.loads((out / "resources.json").read_text())
    assert report["neurons"] == 46 and report["layers"] == 2 and report["bias_line"] is True
    assert report["per_layer"][0]["synapses"] == int(np.count_nonzero(weights))
    assert snnx.read(out / "lowered.nir").semantics.profile_name == "snntorch-nir"
    assert not list(out.glob(".*.tmp"))


def test_the_file_reads_back_into_the_same_program(tmp_path):
    from snnx.targets import get_target

    lowered = get_target("loihi").lower(snnx.read(BRAILLE), snnx.Semantics.profile("snntorch-nir"))
    artifact.write(lowered.program, tmp_path / "model.net")
    back = artifact.read(tmp_path / "model.net")
    assert back.input_shape == lowered.program.input_shape and back.bias_channel
    for a, b in zip(lowered.program.layers, back.layers, strict=True):
        assert (a.name, a.kind, a.node, a.size, a.relay, a.latency) == (
            b.name,
            b.kind,
            b.node,
            b.size,
            b.relay,
            b.latency,
        )
        assert np.array_equal(a.weight, b.weight) and (a.i_decay, a.v_decay) == (
            b.i_decay,
            b.v_decay,
        )


def test_verify_runs_through_the_framework(capsys):
    argv = [
        "verify",
        BRAILLE,
        "--target",
        "loihi",
        "--profile",
        "snntorch-nir",
        "--random",
        "8",
        "--steps",
        "64",
        "--rate",
        "0.2",
        "--json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(a["layer"], a["node"], a["latency"]) for a in report["layers"]] == [
        ("1", "lif1.lif", 1),
        ("2", "lif2", 2),
    ]
    assert report["class_agreement"] >= 0.75
    assert any("vThMant" in note for note in report["notes"])


def test_an_unlowerable_file_fails_with_one_line(capsys):
    assert main(["compile", BRAILLE, "--target", "loihi", "-o", "unused"]) == 1
    err = capsys.readouterr().err
    assert "node 'lif1.lif': field 'reset'" in err and err.count("\n") == 1
