"""Reading and writing .nir files: lossless on the NIR paper's real files, atomic, nir-readable."""

from __future__ import annotations

import os

import h5py
import nir
import numpy as np
import pytest
from conftest import paper_graphs

import snnx
from snnx.errors import GraphError
from snnx.ir import Graph, Node
from snnx.ir.nirfile import datasets


@pytest.mark.parametrize("name", paper_graphs())
def test_paper_file_writes_back_identical(nir_paper, tmp_path, name):
    graph = snnx.read(nir_paper / name)
    snnx.write(graph, tmp_path / name)
    assert datasets(tmp_path / name) == datasets(nir_paper / name)


@pytest.mark.parametrize("name", paper_graphs())
def test_written_file_reads_in_nir(nir_paper, tmp_path, name):
    snnx.write(snnx.read(nir_paper / name), tmp_path / name)
    theirs = nir.read(tmp_path / name, type_check=False)
    assert sorted(theirs.nodes) == sorted(snnx.read(nir_paper / name).nodes)


def test_paper_files_keep_what_nir_would_fill_in(nir_paper):
    """Absent optional fields stay absent, dtypes stay as written (nir.read changes both)."""
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    lif = braille["lif1.lif"]
    assert "v_reset" not in lif.fields
    assert lif.tau_mem.dtype == np.float64 and braille["fc1"].weight.dtype == np.float32
    cnn = snnx.read(nir_paper / "cnn_sinabs.nir")
    assert cnn["0"].groups.shape == () and cnn["0"].stride.tolist() == [2, 2]
    assert cnn["8"].start_dim == 0


def test_version_of_file_is_kept_and_new_graphs_get_nirs(nir_paper, tmp_path):
    assert snnx.read(nir_paper / "lif_norse.nir").nir_version == "0.1.1"
    graph = Graph.sequential({"in": Node("Input", shape=[2]), "out": Node("Output", shape=[2])})
    snnx.write(graph, tmp_path / "new.nir")
    assert nir.read(tmp_path / "new.nir").nodes.keys() == {"in", "out"}
    with h5py.File(tmp_path / "new.nir") as handle:
        assert handle["version"].asstr()[()] == nir.version


def test_legacy_files_are_marked_subtractive_reset(nir_paper):
    assert snnx.read(nir_paper / "lif_norse.nir").legacy_reset
    assert snnx.read(nir_paper / "braille_noDelay_bias_zero.nir").legacy_reset
    graph = snnx.read(nir_paper / "two_lif_neurons.nir")
    for name in ("lif1", "lif2"):
        graph.replace_node(name, graph[name].replace(v_reset=np.zeros(1)))
    assert not graph.legacy_reset  # an old file whose neurons do name v_reset
    graph.nir_version = "1.0.6"
    graph.replace_node("lif1", graph["lif1"].replace(v_reset=None))
    assert not graph.legacy_reset  # from 1.0.6 on, an absent v_reset means 0


def test_nested_metadata_and_scalars_round_trip(tmp_path):
    metadata = {
        "source": "test",
        "training": {"epochs": np.int32(3), "lr": 1e-3, "tags": {"a": "b"}},
    }
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=np.array([3])),
            "li": Node(
                "LI", tau=np.float32(0.01), r=np.ones(3, np.float16), v_leak=0.0, metadata={"x": 1}
            ),
            "out": Node("Output", shape=np.array([3])),
        },
        metadata=metadata,
    )
    snnx.write(graph, tmp_path / "g.nir")
    back = snnx.read(tmp_path / "g.nir")
    assert back.nir_version == nir.version
    back.nir_version = None
    assert back == graph
    assert back["li"].tau.dtype == np.float32 and back["li"].tau.shape == ()
    assert back.metadata["training"]["tags"] == {"a": "b"}


def test_failed_write_leaves_target_untouched(nir_paper, tmp_path):
    target = tmp_path / "model.nir"
    snnx.write(snnx.read(nir_paper / "lif_norse.nir"), target)
    before = target.read_bytes()
    bad = Graph.sequential(
        {"in": Node("Input", shape=[1]), "out": Node("Output", shape=[1], metadata={"x": object()})}
    )
    with pytest.raises(GraphError, match=r"model.nir: node 'out': field 'x': cannot store"):
        snnx.write(bad, target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.nir"]


def test_semantics_survive_a_file(tmp_path, nir_paper):
    graph = snnx.read(nir_paper / "lif_norse.nir")
    graph.semantics = snnx.Semantics.profile("norse", dt=1e-4)
    snnx.write(graph, tmp_path / "g.nir")
    back = snnx.read(tmp_path / "g.nir")
    assert back.semantics == snnx.Semantics.profile("norse", dt=1e-4)
    assert (
        nir.read(tmp_path / "g.nir", type_check=False).metadata["snnx_semantics"]["integrator"]
        == "euler"
    )


def test_written_files_get_the_usual_permissions(tmp_path):
    import stat

    umask = os.umask(0o022)
    try:
        snnx.write(
            Graph.sequential({"in": Node("Input", shape=[1]), "out": Node("Output", shape=[1])}),
            tmp_path / "g.nir",
        )
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "g.nir").st_mode) == 0o644
