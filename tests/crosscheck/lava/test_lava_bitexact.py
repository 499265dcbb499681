"""snnx's Loihi numerics against real Lava: every compiled ``model.net`` runs through
``lava.lib.dl.netx.hdf5.Network`` under ``Loihi2SimCfg(select_tag="fixed_pt")``, and every
layer's spikes (relay neurons included) must be identical, row for row; for some networks u and
v too, as Lava's monitors read them.

The networks: one random graph of each family in `nets` (dense LIF / CubaLIF / IF, recurrent,
inhibitory recurrence, single-sign weights, convolutions with and without biases, pooling
folded into convolutions, a pooling-only layer, delays, an image read by a dense layer under
Lava's own profile, a leak on the bias line), the NIR paper's conformance LIF and Braille.
"""

from __future__ import annotations

import zlib

import lavarun
import numpy as np
import pytest
from nets import FAMILIES

import snnx
from snnx.targets import get_target
from snnx.targets.loihi import artifact, numerics

PROBED = set(FAMILIES)  # u and v too: a state that drifts shows before a spike does


def compile_to(graph, semantics, path):
    lowered = get_target("loihi").lower(graph, semantics)
    artifact.write(lowered.program, path)
    return lowered


def compare(path, lowered, data, probe=False):
    """Lava and snnx on the file at ``path``; returns snnx's full records for further checks."""
    program = artifact.read(path)
    ours = numerics.run(program, data, full=True)
    direct = numerics.run(lowered.program, data, full=True)
    lava = lavarun.run(str(path), numerics.feed(program, data)[:, 0], probe=probe)
    for layer in program.layers:
        mine = ours[layer.name]
        assert np.array_equal(mine["s"], direct[layer.name]["s"]), "file and program differ"
        theirs = lava[layer.index]
        assert theirs["s"].shape == mine["s"][:, 0].shape, layer.name
        where = np.argwhere(theirs["s"] != mine["s"][:, 0])
        assert where.size == 0, f"layer {layer.name}: first difference at (row, neuron) {where[0]}"
        if probe:
            assert np.array_equal(theirs["u"], mine["u"][:, 0]), f"layer {layer.name}: u"
            assert np.array_equal(theirs["v"], mine["v"][:, 0]), f"layer {layer.name}: v"
    return ours


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_random_networks_match_lava_spike_for_spike(family, tmp_path):
    rng = np.random.default_rng(zlib.crc32(family.encode()))
    graph, semantics = FAMILIES[family](rng)
    lowered = compile_to(graph, semantics, tmp_path / "model.net")
    shape = lowered.program.data_shape
    data = (rng.uniform(size=(70, 1, *shape)) < 0.3).astype(np.float32)
    ours = compare(tmp_path / "model.net", lowered, data, probe=family in PROBED)
    for layer in lowered.program.layers:  # every layer took part
        assert ours[layer.name]["s"][:, :, : layer.size].sum() > 0, f"layer {layer.name} silent"


def test_conformance_lif_matches_lava_and_fires_when_the_paper_says(nir_paper, tmp_path):
    graph = snnx.read(nir_paper / "lif_norse.nir")
    lowered = compile_to(graph, snnx.Semantics.profile("snntorch-nir"), tmp_path / "model.net")
    column = np.loadtxt(nir_paper / "lif_norse.csv", delimiter=",")[:, 0]
    ours = compare(tmp_path / "model.net", lowered, column.reshape(-1, 1, 1), probe=True)
    layer = lowered.layers[0]
    fired = np.nonzero(ours[layer.name]["s"][:, 0, 0])[0] - layer.latency
    assert fired.tolist() == [460, 510, 710, 760]  # the paper's Euler / Norse / snnTorch steps


def test_braille_matches_lava_with_its_bias_line(nir_paper, tmp_path):
    graph = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    lowered = compile_to(graph, snnx.Semantics.profile("snntorch-nir"), tmp_path / "model.net")
    assert lowered.program.bias_channel and [m.latency for m in lowered.layers] == [1, 2]
    rng = np.random.default_rng(3)
    data = (rng.uniform(size=(256, 1, 12)) < 0.15).astype(np.float32)
    ours = compare(tmp_path / "model.net", lowered, data, probe=True)
    first = lowered.program.layers[0]
    relay = ours[first.name]["s"][:, 0, first.relay]
    assert relay[0] == 0 and relay[1:].all()  # the relay fires from layer 1's first step on
