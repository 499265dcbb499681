"""``snnx convert``: .nir <-> PyTorch model (factory + weights), TorchScript, Equinox; clear
one-line errors with exit code 1 and nothing written on failure."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import snnx
from snnx.cli import main
from snnx.sim import simulate

FACTORY = """
import torch

def net():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3))

def bad():
    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.GELU())
"""


@pytest.fixture
def factory(tmp_path, monkeypatch):
    (tmp_path / "snnx_test_models.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "snnx_test_models"
    sys.modules.pop("snnx_test_models", None)


def test_torch_factory_with_weights_to_nir_and_on(tmp_path, factory, capsys):
    import snnx_test_models

    torch.manual_seed(0)
    weights = snnx_test_models.net().state_dict()
    torch.save(weights, tmp_path / "w.pt")
    nir_path = tmp_path / "m.nir"
    argv = ["convert", "--torch", f"{factory}:net", "--weights", str(tmp_path / "w.pt")]
    assert main([*argv, "--shape", "1,4,4", "--profile", "snntorch-nir", "-o", str(nir_path)]) == 0
    graph = snnx.read(nir_path)
    assert np.array_equal(graph["2"].weight, weights["2.weight"].numpy())
    assert graph.semantics.profile_name == "snntorch-nir"
    assert main(["convert", str(nir_path), "-o", str(tmp_path / "m.pt")]) == 0
    assert main(["convert", str(nir_path), "-o", str(tmp_path / "m.eqx")]) == 0
    x = np.random.default_rng(0).normal(size=(3, 2, 1, 4, 4)).astype(np.float32)
    ys, _ = torch.jit.load(str(tmp_path / "m.pt"))(torch.from_numpy(x))
    np.testing.assert_allclose(ys.detach().numpy(), simulate(graph, x).outputs["output"], atol=1e-5)
    assert "wrote" in capsys.readouterr().out


def test_profile_re_expresses_a_file_that_has_semantics(tmp_path):
    graph = snnx.read(snnx.example_path("braille"))
    graph.semantics = snnx.Semantics.profile("snntorch-nir")
    snnx.write(graph, tmp_path / "a.nir")
    assert (
        main(["convert", str(tmp_path / "a.nir"), "-o", str(tmp_path / "b.nir"), "--dt", "1e-3"])
        == 0
    )
    moved = snnx.read(tmp_path / "b.nir")
    assert moved.semantics.dt == 1e-3
    x = (np.random.default_rng(1).random((30, 2, 12)) < 0.3).astype(np.float32)
    assert np.array_equal(
        simulate(moved, x).outputs["output"], simulate(graph, x).outputs["output"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--torch", "{f}:bad", "--shape", "4"], "node '1': unsupported layer type torch.GELU"),
        (["--torch", "{f}:net"], "--shape"),
        (["--torch", "{f}:nothing", "--shape", "4"], "has no 'nothing'"),
        (["--torch", "no_such_module_xyz:net", "--shape", "4"], "cannot import"),
        (["--torch", "{f}:net", "--shape", "1,4,4", "--weights", "{tmp}/junk.pt"], "junk.pt"),
        (["{tmp}/missing.nir"], "no such file"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_writes_nothing(tmp_path, factory, capsys, args, message):
    (tmp_path / "junk.pt").write_bytes(b"not a state dict")
    out = tmp_path / "out.nir"
    args = [a.format(f=factory, tmp=tmp_path) for a in args]
    assert main(["convert", *args, "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt", "snnx_test_models.py"]


def test_unknown_destination_kind(tmp_path, capsys):
    assert main(["convert", str(snnx.example_path("braille")), "-o", str(tmp_path / "x.bin")]) == 1
    assert "extension" in capsys.readouterr().err
