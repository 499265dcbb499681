"""The snnx command: version, inspect (text and JSON), show, and lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_graph import two_port_subgraph

import snnx
from snnx.cli import main
from snnx.ir import Graph, Node


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"snnx {snnx.__version__}"


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from snnx.cli import build_parser; build_parser().format_help(); "
        "print(sorted(m for m in ('jax', 'torch', 'h5py', 'networkx', 'numpy', 'matplotlib') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_inspect_braille_text(nir_paper, capsys):
    assert main(["inspect", str(nir_paper / "braille_noDelay_bias_zero.nir")]) == 0
    out = capsys.readouterr().out
    assert "(NIR 0.2.0; 7 nodes, 7 edges," in out
    assert "lif1.lif    CubaLIF  38     38" in out
    assert "lif1.lif <-> lif1.w_rec" in out
    assert "reset: subtract (implied: written by nir 0.2.0 (before 1.0.6)" in out


def test_inspect_json(nir_paper, capsys):
    assert main(["inspect", "--json", str(nir_paper / "cnn_sinabs.nir")]) == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {n["name"]: n for n in report["nodes"]}
    assert report["nir_version"] == "0.2.0" and report["recurrent_groups"] == []
    assert by_name["0"]["input_shape"] == [2, 34, 34] and by_name["0"]["output_shape"] == [
        16,
        16,
        16,
    ]
    assert by_name["8"]["output_shape"] == [128]
    assert by_name["9"]["num_params"] == 256 * 128 + 256
    assert by_name["0"]["fields"]["weight"] == {"shape": [16, 2, 5, 5], "dtype": "float32"}
    assert report["implied_semantics"]["reset"] == "subtract"


def test_inspect_shows_stored_semantics(nir_paper, tmp_path, capsys):
    graph = snnx.read(nir_paper / "lif_norse.nir")
    graph.semantics = snnx.Semantics.profile("norse", dt=1e-4)
    snnx.write(graph, tmp_path / "g.nir")
    assert main(["inspect", "--json", str(tmp_path / "g.nir")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["semantics"]["dt"] == 1e-4 and report["semantics"]["profile_name"] == "norse"
    assert report["implied_semantics"] is None


def nested_graph() -> Graph:
    return Graph(
        {
            "in": Node("Input", shape=[3]),
            "sub": two_port_subgraph(),
            "out": Node("Output", shape=[3]),
        },
        [("in", "sub.a"), ("sub", "sub.b"), ("sub", "out")],
    )


def test_inspect_nested_lists_inner_nodes(tmp_path, capsys):
    snnx.write(nested_graph(), tmp_path / "nested.nir")
    assert main(["inspect", str(tmp_path / "nested.nir")]) == 0
    out = capsys.readouterr().out
    assert "  sum  " in out and "sub/a -> sub/sum" in out and "sub <-> " not in out
    assert "recurrent groups:\n  sub" in out  # the subgraph feeds itself


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_show_draws_subgraphs_and_recurrence(tmp_path, suffix, capsys):
    snnx.write(nested_graph(), tmp_path / "nested.nir")
    picture = tmp_path / f"nested{suffix}"
    assert main(["show", str(tmp_path / "nested.nir"), "-o", str(picture)]) == 0
    data = picture.read_bytes()
    if suffix == ".svg":
        text = data.decode()
        assert "sub" in text and "recurrent edge" in text and "sum" in text
    else:
        assert data.startswith(b"\x89PNG")


def test_show_refuses_unknown_format(nir_paper, tmp_path, capsys):
    assert main(["show", str(nir_paper / "lif_norse.nir"), "-o", str(tmp_path / "x.bmp")]) == 1
    assert "cannot draw to .bmp; use one of .svg, .png, .pdf" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
