"""`snnx simulate`: inputs from files or random, profiles and dt, records, plots, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from snnx.cli import main
from snnx.ir import Graph, Node, write


def test_lif_trace_through_the_command(nir_paper, tmp_path, capsys):
    data = np.loadtxt(nir_paper / "lif_norse.csv", delimiter=",")
    np.save(tmp_path / "x.npy", data[:, :1].reshape(1000, 1, 1))
    out = tmp_path / "out.npz"
    argv = [
        "simulate",
        str(nir_paper / "lif_norse.nir"),
        "--input",
        str(tmp_path / "x.npy"),
        "--profile",
        "norse-nir",
        "--dt",
        "1e-4",
        "--record",
        "1",
        "-o",
        str(out),
        "--plot",
        str(tmp_path / "r.png"),
    ]
    assert main(argv) == 0
    saved = np.load(out)
    assert sorted(saved) == ["1.out", "1.v", "output"]
    assert np.nonzero(saved["output"].reshape(-1))[0].tolist() == [460, 510, 710, 760]
    np.testing.assert_allclose(saved["1.v"].reshape(-1), data[:, 1], atol=1e-6)
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    assert "norse-nir: dt=0.0001 s" in capsys.readouterr().out


def test_random_inputs_are_seeded(nir_paper, tmp_path):
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    runs = []
    for name in ("a", "b"):
        argv = [
            "simulate",
            path,
            "--random-input",
            "0.2",
            "--steps",
            "30",
            "--batch",
            "4",
            "--seed",
            "7",
            "--profile",
            "snntorch-nir",
            "-o",
            str(tmp_path / f"{name}.npz"),
        ]
        assert main(argv) == 0
        runs.append(np.load(tmp_path / f"{name}.npz")["output"])
    assert runs[0].shape == (30, 4, 7) and np.array_equal(runs[0], runs[1])


def two_inputs(tmp_path):
    graph = Graph(
        {
            "a": Node("Input", shape=[2]),
            "b": Node("Input", shape=[2]),
            "li": Node("LI", tau=[1e-3, 1e-3], r=[1.0, 1.0], v_leak=[0.0, 0.0]),
            "out": Node("Output", shape=[2]),
        },
        [("a", "li"), ("b", "li"), ("li", "out")],
    )
    write(graph, tmp_path / "two.nir")
    np.save(tmp_path / "ones.npy", np.ones((5, 1, 2)))
    np.save(tmp_path / "zeros.npy", np.zeros((5, 1, 2)))
    return str(tmp_path / "two.nir")


def test_named_inputs(tmp_path):
    path = two_inputs(tmp_path)
    argv = [
        "simulate",
        path,
        "--input",
        f"a={tmp_path / 'ones.npy'}",
        "--input",
        f"b={tmp_path / 'zeros.npy'}",
        "--steps",
        "3",
        "-o",
        str(tmp_path / "o.npz"),
    ]
    assert main(argv) == 0
    v = np.load(tmp_path / "o.npz")["out"]
    np.testing.assert_allclose(
        v[:, 0, 0], 1 - np.exp(-0.1 * np.arange(1, 4)), rtol=1e-5
    )  # exact LI


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--random-input", "0.5"], "--random-input needs --steps"),
        (["--random-input", "1.5", "--steps", "3"], "--random-input is a probability"),
        (["--input", "ones.npy"], r"name one of the Inputs \['a', 'b'\] as NAME=x.npy"),
        (["--input", "a=ones.npy"], r"no --input for Inputs \['b'\]"),
        (
            ["--input", "a=ones.npy", "--input", "b=ones.npy", "--steps", "9"],
            "--steps 9 exceeds the 5 steps",
        ),
        (
            ["--input", "a=flat.npy", "--input", "b=ones.npy"],
            r"must be \(T, B, \*shape\), got shape \(5,\)",
        ),
        (
            ["--input", "a=objects.npy", "--input", "b=ones.npy"],
            "cannot read an array: (Object arrays cannot be loaded|.*Python objects in dtype)",
        ),
        (
            ["--input", "a=ones.npy", "--input", "b=ones.npy", "--profile", "brian"],
            "unknown profile 'brian'",
        ),
    ],
)
def test_simulate_errors(tmp_path, monkeypatch, capsys, extra, message):
    path = two_inputs(tmp_path)
    np.save(tmp_path / "flat.npy", np.zeros(5))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", path, *extra, "-o", "o.npz"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("snnx: error:") and __import__("re").search(message, err), err
    assert not (tmp_path / "o.npz").exists()
