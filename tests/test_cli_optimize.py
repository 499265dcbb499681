"""`snnx optimize`: levels and named passes, the change log, equivalence checking, options."""

from __future__ import annotations

import numpy as np

import snnx
from snnx.cli import main
from snnx.ir import Graph, Node


def foldable(tmp_path):
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[3]),
            "a": Node("Linear", weight=np.eye(3) * 2),
            "b": Node("Affine", weight=np.ones((2, 3)), bias=np.zeros(2)),
            "n": Node("LIF", tau=[1e-3] * 2, r=[10.0] * 2, v_leak=[0.0] * 2, v_threshold=[1.0] * 2),
            "out": Node("Output", shape=[2]),
        }
    )
    snnx.write(graph, tmp_path / "g.nir")
    return str(tmp_path / "g.nir")


def test_o1_fuses_and_logs(tmp_path, capsys):
    path = foldable(tmp_path)
    assert (
        main(
            [
                "optimize",
                path,
                "-O1",
                "--profile",
                "snntorch-nir",
                "--check-equivalence",
                "-o",
                str(tmp_path / "o.nir"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "fuse-linear: 5 -> 4 nodes" in out and "fused Linear and Affine into Affine: a, b" in out
    assert "spike agreement 1.0" in out
    result = snnx.read(tmp_path / "o.nir")
    np.testing.assert_allclose(result["a"].weight, np.full((2, 3), 2.0))
    assert result.semantics.profile_name == "snntorch-nir"


def test_named_passes_with_options(tmp_path, capsys):
    path = foldable(tmp_path)
    argv = [
        "optimize",
        path,
        "--passes",
        "quantize",
        "--option",
        "bits=3",
        "--option",
        "mode=integer",
        "-o",
        str(tmp_path / "q.nir"),
    ]
    assert main(argv) == 0
    assert "quantized to 3 bits (integer, per tensor)" in capsys.readouterr().out
    weights = snnx.read(tmp_path / "q.nir")["b"].weight
    assert set(np.unique(weights)) == {3.0}
    assert main(["optimize", path, "--passes", "fold-all", "-o", str(tmp_path / "x.nir")]) == 1
    assert "unknown passes ['fold-all']" in capsys.readouterr().err
    assert main(["optimize", path, "--option", "bits", "-o", str(tmp_path / "x.nir")]) == 1
    assert "expected KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "x.nir").exists()
