"""Resolution of a run's semantics (`snnx.provenance`): the file first, then what the user sets,
then the profile; each knob with its source. These tests check the resolution rules themselves
(which value and source each knob gets, and the warnings); the native runs they stand for are
compared in tests/crosscheck/peers/test_native_matrix.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

import snnx
from snnx.cli import main
from snnx.errors import SemanticsError, SnnxWarning
from snnx.ir import Graph, Node
from snnx.provenance import parse_sets, resolve
from snnx.semantics import IMPORTERS, PROFILES

BRAILLE = "braille_noDelay_bias_zero.nir"  # nir 0.2.0, no v_reset: subtractive reset implied


@pytest.mark.parametrize("profile", [None, *sorted(set(PROFILES) - set(IMPORTERS))])
def test_implied_subtract_survives_every_native_profile(nir_paper, profile):
    graph = snnx.read(nir_paper / BRAILLE)
    r = resolve(graph, profile, warn=False)
    assert r.semantics.reset == "subtract"
    assert r.sources["reset"]["source"] == "file"
    assert "implied" in r.sources["reset"]["why"]
    assert r.sources["dt"]["source"] == ("profile" if profile else "default")


@pytest.mark.parametrize("profile", IMPORTERS)
def test_importer_profiles_override_the_file_and_say_so(nir_paper, profile):
    graph = snnx.read(nir_paper / BRAILLE)
    want = PROFILES[profile].reset
    if want == "subtract":
        assert resolve(graph, profile, warn=False).warnings == ()
        return
    with pytest.warns(SnnxWarning, match=r"runs reset=zero whatever the file says.*reset=subtract"):
        r = resolve(graph, profile)
    assert r.semantics.reset == "zero" and r.sources["reset"]["source"] == "profile"


def test_an_explicit_choice_against_the_file_warns_once_naming_both(nir_paper):
    graph = snnx.read(nir_paper / BRAILLE)
    with pytest.warns(SnnxWarning) as caught:
        r = resolve(graph, "nir-reference", {"reset": "zero"})
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "reset=zero (--set)" in text and "reset=subtract (implied" in text
    assert r.semantics.reset == "zero" and r.sources["reset"]["source"] == "flag"


def test_stored_semantics_beat_the_profile():
    graph = Graph(
        {
            "input": Node("Input", shape=[1]),
            "lif": Node("LIF", tau=[1e-3], r=[1.0], v_leak=[0.0], v_threshold=[1.0], v_reset=[0.0]),
            "output": Node("Output", shape=[1]),
        },
        [("input", "lif"), ("lif", "output")],
    )
    graph.semantics = snnx.Semantics.profile("spyx")
    r = resolve(graph, "lava", warn=False)
    assert r.semantics.for_type("CubaLIF").reset_timing == "same-step"  # spyx's per-type knob
    assert r.semantics.spike_output == "next-step" and r.semantics.dt == 1.0
    assert {e["source"] for e in r.sources.values()} == {"file"}
    r = resolve(graph, "lava", {"CubaLIF.reset_timing": "next-step"}, warn=False)
    assert r.semantics.for_type("CubaLIF").reset_timing == "next-step"
    assert r.sources["CubaLIF.reset_timing"]["source"] == "flag"


def test_a_modern_v_reset_fixes_a_zero_reset(tmp_path):
    lif = Node("LIF", tau=[1e-3], r=[1.0], v_leak=[0.0], v_threshold=[1.0], v_reset=[0.0])
    graph = Graph(
        {"input": Node("Input", shape=[1]), "lif": lif, "output": Node("Output", shape=[1])},
        [("input", "lif"), ("lif", "output")],
    )
    snnx.write(graph, tmp_path / "g.nir")
    with pytest.warns(SnnxWarning, match="export_to_nir writes v_reset=0"):
        r = resolve(snnx.read(tmp_path / "g.nir"), "snntorch")
    assert r.semantics.reset == "zero" and r.sources["reset"]["source"] == "file"
    assert resolve(graph, "snntorch", warn=False).semantics.reset == "subtract"  # in memory


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("reset=sometimes", r"reset must be one of \['zero', 'subtract', 'none'\]"),
        ("reset_delay=1", r"unknown knob 'reset_delay'; knobs: dt, integrator, reset"),
        ("Synapse.reset=zero", r"unknown node type 'Synapse'; types: I, IF"),
        ("max_spikes=-2", "max_spikes must be 0"),
        ("LIF.r=tau_syn/dt", "needs a field 'tau_syn'"),
        ("reset", "expected KNOB=VALUE"),
    ],
)
def test_set_is_validated_with_the_valid_values(item, message):
    with pytest.raises(SemanticsError, match=message):
        parse_sets([item])


def test_commands_print_each_knob_with_its_source(nir_paper, tmp_path, capsys):
    path = str(nir_paper / BRAILLE)
    argv = ["inspect", path, "--profile", "snntorch", "--set", "CubaLIF.reset_timing=same-step"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "reset                = subtract  (file: implied" in out
    assert "CubaLIF.reset_timing = same-step  (flag: --set" in out
    assert main(["inspect", path, "--json", "--dt", "1e-3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["provenance"]["dt"] == {"value": 1e-3, "source": "flag", "why": "--set dt=0.001"}
    np.save(tmp_path / "x.npy", np.zeros((5, 1, 12), np.float32))
    argv = ["simulate", path, "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.npz")]
    assert main([*argv, "--set", "reset=zero"]) == 0
    captured = capsys.readouterr()
    assert "reset           = zero  (flag: --set reset=zero)" in captured.out
    assert captured.err.count("warning: reset=zero (--set) contradicts the file") == 1


def test_verify_reports_the_sources(nir_paper, tmp_path, capsys):
    path = str(nir_paper / BRAILLE)
    argv = ["verify", path, "--target", "loihi", "--profile", "snntorch-nir", "--random", "2"]
    argv += ["--steps", "10", "--json", "--report", str(tmp_path / "report")]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["provenance"]["reset"] == {
        "value": "zero",
        "source": "profile",
        "why": "snntorch-nir's importer",
    }
    page = (tmp_path / "report" / "index.html").read_text()
    assert "<th>why</th>" in page and "snntorch-nir&#x27;s importer" in page
