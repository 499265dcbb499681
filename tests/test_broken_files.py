"""A corpus of broken files: each gives its expected one-line message and exit code 1, never a
traceback. Each case starts from the real Braille graph and breaks one thing with h5py."""

from __future__ import annotations

import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from snnx.cli import main

STRING = h5py.string_dtype()


def set_dataset(group, name, value, dtype=None):
    if name in group:
        del group[name]
    group.create_dataset(name, data=value, dtype=dtype)


def edit(change):
    def apply(path):
        with h5py.File(path, "r+") as handle:
            change(handle["node"], handle)

    return apply


def add_edges(extra):
    def change(node, _):
        edges = node["edges"].asstr()[()].tolist() + extra
        set_dataset(node, "edges", np.array(edges, dtype=object), STRING)

    return edit(change)


def add_cycle_without_entry(node, _):
    for name in ("a", "b"):
        group = node["nodes"].create_group(name)
        set_dataset(group, "type", "Linear", STRING)
        set_dataset(group, "weight", np.eye(3))
    set_dataset(
        node,
        "edges",
        np.array([*node["edges"].asstr()[()].tolist(), ["a", "b"], ["b", "a"]], dtype=object),
        STRING,
    )


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def nan_weight(node, _):
    weight = node["nodes/fc2/weight"][()]
    weight[3, 5] = np.nan
    set_dataset(node["nodes/fc2"], "weight", weight)


CASES = {
    "not_hdf5": (lambda p: p.write_text("input -> fc1\n"), r"not a readable HDF5 file"),
    "empty": (lambda p: p.write_bytes(b""), r"not a readable HDF5 file"),
    "truncated": (truncate, r"(not a readable HDF5 file|cannot read the file)"),
    "no_node_group": (
        edit(lambda n, f: f.__delitem__("node")),
        r"no 'node' group: this HDF5 file is not a NIR file",
    ),
    "missing_field": (
        edit(lambda n, _: n["nodes/lif2"].__delitem__("tau_mem")),
        r"node 'lif2': field 'tau_mem': required field of CubaLIF is missing",
    ),
    "missing_type": (
        edit(lambda n, _: n["nodes/fc1"].__delitem__("type")),
        r"node 'fc1': field 'type': the node has no 'type'",
    ),
    "wrong_dtype": (
        edit(
            lambda n, _: set_dataset(
                n["nodes/fc1"], "weight", np.array([["a"] * 12] * 38, dtype=object), STRING
            )
        ),
        r"node 'fc1': field 'weight': Affine.weight must hold real numbers, got dtype object",
    ),
    "wrong_rank": (
        edit(lambda n, _: set_dataset(n["nodes/fc1"], "weight", np.zeros(12))),
        r"node 'fc1': field 'weight': Affine.weight must have 2 dimensions, got shape \(12,\)",
    ),
    "unknown_type": (
        edit(lambda n, _: set_dataset(n["nodes/lif2"], "type", "Izhikevich", STRING)),
        r"node 'lif2': field 'type': unknown node type 'Izhikevich'; known types: Input, Output",
    ),
    "dangling_edge": (
        add_edges([["fc2", "ghost"]]),
        r"field 'edges': edge \('fc2', 'ghost'\) refers to node 'ghost', which does not exist",
    ),
    "duplicate_edge": (
        add_edges([["fc1", "lif1.lif"]]),
        r"field 'edges': duplicate edge \('fc1', 'lif1.lif'\)",
    ),
    "bad_edges_shape": (
        edit(
            lambda n, _: set_dataset(
                n, "edges", np.array(["input", "fc1", "fc2"], dtype=object), STRING
            )
        ),
        r"field 'edges': expected an \(E, 2\) array of node names, got shape \(3,\)",
    ),
    "nan_weight": (edit(nan_weight), r"node 'fc2': field 'weight': Affine.weight holds NaN values"),
    "inf_tau": (
        edit(lambda n, _: set_dataset(n["nodes/lif2"], "tau_syn", np.full(7, np.inf))),
        r"node 'lif2': field 'tau_syn': CubaLIF.tau_syn holds infinite values",
    ),
    "negative_tau": (
        edit(lambda n, _: set_dataset(n["nodes/lif2"], "tau_mem", -np.ones(7))),
        r"node 'lif2': field 'tau_mem': CubaLIF.tau_mem must be positive",
    ),
    "misshaped_parameter": (
        edit(lambda n, _: set_dataset(n["nodes/lif2"], "r", np.ones(6))),
        r"node 'lif2': field 'r': parameters of CubaLIF must share one shape",
    ),
    "shape_mismatch": (
        edit(lambda n, _: set_dataset(n["nodes/fc2"], "weight", np.zeros((7, 37), np.float32))),
        r"node 'fc2': edge \('lif1.lif', 'fc2'\): 'lif1.lif' produces shape \(38,\) but 'fc2' takes \(37,\)",
    ),
    "cycle_without_entry": (
        edit(add_cycle_without_entry),
        r"node 'a': the cycle \['a', 'b'\] has no entry: no edge reaches it from outside",
    ),
    "bad_input_shape": (
        edit(lambda n, _: set_dataset(n["nodes/input"], "shape", np.array([0]))),
        r"node 'input': field 'shape': a shape must be a 1-D array of positive integers",
    ),
    "no_output": (
        edit(
            lambda n, _: (
                n["nodes"].__delitem__("output"),
                set_dataset(
                    n,
                    "edges",
                    np.array(
                        [e for e in n["edges"].asstr()[()].tolist() if e[1] != "output"],
                        dtype=object,
                    ),
                    STRING,
                ),
            )
        ),
        r"the graph has no Output node",
    ),
}


@pytest.fixture
def braille(nir_paper):
    return nir_paper / "braille_noDelay_bias_zero.nir"


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_file_gives_clear_error(case, braille, tmp_path, capsys):
    path = tmp_path / f"{case}.nir"
    shutil.copy(braille, path)
    breaker, expected = CASES[case]
    breaker(path)
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"snnx: error: {path}: "), err
    assert "\n" not in err and "Traceback" not in err and "internal error" not in err
    assert __import__("re").search(expected, err), err


def test_missing_file(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.nir")]) == 1
    assert capsys.readouterr().err.strip() == f"snnx: error: {tmp_path / 'nope.nir'}: no such file"


def test_console_script_prints_no_traceback(braille, tmp_path):
    """The installed command, as a user runs it: one line on stderr, exit code 1."""
    path = tmp_path / "broken.nir"
    shutil.copy(braille, path)
    edit(lambda n, _: set_dataset(n["nodes/lif2"], "type", "Izhikevich", STRING))(path)
    done = subprocess.run(
        [sys.executable, "-m", "snnx", "inspect", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "snnx", "inspect", "--debug", str(path)],
        capture_output=True,
        text=True,
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


@pytest.mark.parametrize("argv", [[], ["inspect"], ["frobnicate"], ["show", "x.nir"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: snnx" in capsys.readouterr().err
