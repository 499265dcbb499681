"""Semantics values: validation, profiles, metadata, and the legacy-reset reading of old files."""

from __future__ import annotations

import pytest

import snnx
from snnx.errors import SemanticsError
from snnx.semantics import CHOICES, PROFILES, Semantics


def test_profiles_cover_the_frameworks():
    assert set(PROFILES) == {
        "nir-reference",
        "snntorch",
        "snntorch-nir",
        "norse",
        "norse-nir",
        "spyx",
        "spyx-nir",
        "rockpool",
        "sinabs",
        "sinabs-nir",
        "spikingjelly",
        "spikingjelly-nir",
        "lava",
    }
    for name, semantics in PROFILES.items():
        assert semantics.profile_name == name


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dt": 0}, "dt"),
        ({"dt": "1ms"}, "dt"),
        ({"integrator": "rk4"}, "integrator"),
        ({"reset": "sometimes"}, "reset"),
        ({"spike_amplitude": "2"}, "spike_amplitude"),
        ({"current": "old"}, "current"),
        ({"spike_output": "during"}, "spike_output"),
        ({"threshold": "<"}, "threshold"),
        ({"max_spikes": -1}, "max_spikes"),
        ({"max_spikes": 1.5}, "max_spikes"),
    ],
)
def test_invalid_knobs_name_the_field(change, field):
    with pytest.raises(SemanticsError, match=rf"field '{field}'"):
        Semantics(**change)


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(
        SemanticsError, match="unknown profile 'brian'; profiles: nir-reference, snntorch"
    ):
        Semantics.profile("brian")


def test_profile_overrides():
    s = Semantics.profile("norse", dt=1e-4)
    assert (
        s.dt == 1e-4 and s.profile_name == "norse" and s.integrator == PROFILES["norse"].integrator
    )


def test_bad_metadata_names_the_knob():
    with pytest.raises(SemanticsError, match=r"field 'metadata/snnx_semantics/reset'"):
        Semantics.from_metadata({"snnx_semantics": {"reset": "sometimes"}})
    with pytest.raises(SemanticsError, match=r"unknown knobs \['tau'\]"):
        Semantics.from_metadata({"snnx_semantics": {"tau": 1.0}})


def test_every_choice_is_described():
    text = Semantics().describe()
    for knob in CHOICES:
        assert str(getattr(Semantics(), knob)) in text


def test_setting_semantics_on_a_graph_touches_only_its_key(nir_paper):
    graph = snnx.read(nir_paper / "lif_norse.nir")
    assert graph.semantics is None and graph.metadata is None
    graph.semantics = Semantics.profile("spyx")
    assert graph.semantics.spike_output == "next-step"
    graph.metadata["note"] = "kept"
    graph.semantics = None
    assert graph.metadata == {"note": "kept"}
