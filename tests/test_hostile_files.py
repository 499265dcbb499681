"""Hostile and huge files: each gives one clean line and exit code 1, never a hang, a traceback, an
internal error, a huge allocation or a wrong answer.

The hang reproducers are rebuilt from a file nir writes: one byte of its global heap collection
(``GCOL``) changed, where libhdf5 (h5py 3.16, libhdf5 2.0) spins forever at the first string read.
Each runs in a subprocess with a generous deadline: the assertion is that it ends, with the clean
error, not how fast.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import nir
import numpy as np
import pytest

import snnx
from snnx.cli import main
from snnx.errors import GraphError, LoweringError, NIRFormatError
from snnx.ir import Graph, Node
from snnx.ir.hdf5guard import Limits
from snnx.semantics import Semantics
from snnx.sim import simulate
from snnx.targets import get_target

#: Seconds a command may take before it counts as a hang (it takes well under one).
DEADLINE = 20


def nir_file(path: Path) -> bytes:
    """A small LIF graph written by nir itself; its bytes."""
    graph = nir.NIRGraph.from_list(
        nir.Input(np.array([2])),
        nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
        nir.Output(np.array([2])),
    )
    nir.write(path, graph)
    return path.read_bytes()


def snnx_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m snnx ARGV`` with the deadline (a hang fails the test by timing out)."""
    return subprocess.run(
        [sys.executable, "-m", "snnx", *argv], capture_output=True, text=True, timeout=DEADLINE
    )


def one_clean_line(done: subprocess.CompletedProcess[str]) -> str:
    err = done.stderr
    assert done.returncode == 1, (done.returncode, err)
    assert err.startswith("snnx: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return err


# Offsets from the GCOL signature: collection size (8 bytes at 8), the first object's size
# (8 bytes at 16 + 8) and the second's (at 16 + 24 + 8): each set to 0xff in its lowest byte.
HEAP_FIELDS = {"collection size": 8, "first object size": 24, "second object size": 48}


@pytest.mark.parametrize("field", sorted(HEAP_FIELDS))
def test_corrupted_global_heap_is_a_clean_error(field, tmp_path):
    data = bytearray(nir_file(tmp_path / "good.nir"))
    heap = data.find(b"GCOL")
    assert heap > 0 and data.find(b"GCOL", heap + 1) < 0
    data[heap + HEAP_FIELDS[field]] = 0xFF
    path = tmp_path / "bad.nir"
    path.write_bytes(bytes(data))
    err = one_clean_line(snnx_cli("inspect", str(path)))
    assert "global heap collection" in err and "corrupted" in err, err


def test_every_byte_of_the_heap_headers(tmp_path):
    """Every byte of the collection header and the first objects' headers, set to 0 and to 0xff:
    a graph, or one clean line; never a hang (the file format has no checksums, so a changed
    reference count or reserved byte reads as the file it was)."""
    data = nir_file(tmp_path / "good.nir")
    heap = data.find(b"GCOL")
    path = tmp_path / "bad.nir"
    script = (
        "import sys, snnx\n"
        "from snnx.errors import SnnxError\n"
        "data, path = open(sys.argv[1], 'rb').read(), sys.argv[2]\n"
        "for at in range(int(sys.argv[3]), int(sys.argv[3]) + 64):\n"
        "    for value in (0, 255):\n"
        "        changed = bytearray(data); changed[at] = value\n"
        "        open(path, 'wb').write(changed)\n"
        "        try:\n"
        "            snnx.read(path)\n"
        "        except SnnxError as err:\n"
        "            assert '\\n' not in str(err)\n"
        "print('done')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "good.nir"), str(path), str(heap)],
        capture_output=True,
        text=True,
        timeout=3 * DEADLINE,
    )
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr[-2000:]


# -- limits ----------------------------------------------------------------------------------


@pytest.fixture
def braille(nir_paper: Path, tmp_path: Path) -> Path:
    path = tmp_path / "braille.nir"
    shutil.copy(nir_paper / "braille_noDelay_bias_zero.nir", path)
    return path


def in_file(path: Path, change: Callable[[h5py.Group], None]) -> Path:
    with h5py.File(path, "r+") as handle:
        change(handle["node"])
    return path


def replace(group: h5py.Group, name: str, **dataset: Any) -> None:
    del group[name]
    group.create_dataset(name, **dataset)


def test_a_dataset_declared_huge_and_never_written_is_refused_before_allocation(braille):
    """A chunked (1e9, 8) weight with no chunk written: 17 KB on disk, 60 GiB declared."""
    in_file(
        braille,
        lambda node: replace(
            node["nodes/fc1"], "weight", shape=(10**9, 8), chunks=(1024, 8), dtype="f8"
        ),
    )
    with pytest.raises(NIRFormatError, match="past the read budget") as err:
        snnx.read(braille)
    assert (err.value.node, err.value.field) == ("fc1", "weight")


def test_the_read_budget_is_configurable(braille, monkeypatch):
    snnx.read(braille)
    monkeypatch.setenv("SNNX_MAX_BYTES", "1K")
    with pytest.raises(NIRFormatError, match=r"budget of 1\.0 KiB .*SNNX_MAX_BYTES"):
        snnx.read(braille)
    with pytest.raises(NIRFormatError, match="past the read budget"):
        snnx.read(braille, limits=Limits(max_bytes=100))


def test_deep_nesting_is_a_clean_error(tmp_path):
    """1000 subgraphs inside each other: a limit, not a RecursionError."""
    path = tmp_path / "deep.nir"
    string = h5py.string_dtype()
    with h5py.File(path, "w") as handle:
        handle.create_dataset("version", data="1.0.8", dtype=string)
        group = handle.create_group("node")
        for _ in range(1000):
            group.create_dataset("type", data="NIRGraph", dtype=string)
            group.create_dataset("edges", data=np.zeros((0, 2), dtype=object), dtype=string)
            group = group.create_group("nodes").create_group("sub")
        group.create_dataset("type", data="Input", dtype=string)
        group.create_dataset("shape", data=np.array([1]))
    err = one_clean_line(snnx_cli("inspect", str(path)))
    assert "nest more than 64 levels" in err, err


def test_node_count_limit(braille):
    with pytest.raises(NIRFormatError, match=r"more than 3 nodes .*SNNX_MAX_NODES"):
        snnx.read(braille, limits=Limits(max_nodes=3))


def test_field_names_that_are_not_utf8(braille):
    in_file(braille, lambda node: node["nodes/lif2"].create_dataset(b"t\xffau", data=1.0))
    with pytest.raises(GraphError, match="not valid UTF-8") as err:
        snnx.read(braille)
    assert err.value.node == "lif2"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("groups", np.zeros(0, np.int64), "is empty"),
        ("groups", np.array([1, 1]), "groups must be one integer"),
        ("stride", np.array(1e12), "must fit in int32"),
        ("dilation", np.array(2**40), "must fit in int32"),
    ],
)
def test_integer_fields_are_range_checked(field, value, message):
    conv = Node(
        "Conv1d",
        weight=np.ones((2, 1, 3)),
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(2),
        input_shape=[8],
    ).replace(**{field: value})
    graph = Graph.sequential(
        {"in": Node("Input", shape=[1, 8]), "conv": conv, "out": Node("Output", shape=[2, 6])}
    )
    with pytest.raises(GraphError, match=message) as err:
        graph.check()
    assert (err.value.node, err.value.field) == ("conv", field)


def test_a_shape_too_large_to_index_is_refused():
    graph = Graph.sequential(
        {"in": Node("Input", shape=[2**20, 2**20]), "out": Node("Output", shape=[2**20, 2**20])}
    )
    with pytest.raises(GraphError, match="more than 2,147,483,647") as err:
        graph.check()
    assert (err.value.node, err.value.field) == ("in", "shape")


# -- delays ----------------------------------------------------------------------------------

DT = 1e-4


def delayed(delay: float) -> Graph:
    return Graph.sequential(
        {
            "in": Node("Input", shape=[2]),
            "d": Node("Delay", delay=np.full(2, delay)),
            "fc": Node("Linear", weight=np.eye(2)),
            "lif": Node(
                "LIF",
                tau=np.full(2, 1e-3),
                r=np.ones(2),
                v_leak=np.zeros(2),
                v_threshold=np.ones(2),
            ),
            "out": Node("Output", shape=[2]),
        }
    )


@pytest.mark.parametrize(
    ("delay", "message"), [(1e38, "buffers at most"), (1e9, "buffers at most")]
)
def test_huge_delays_are_refused_not_overflowed(delay, message):
    """1e38 s is INT64_MIN once cast, 1e9 s overflows int32 indices: both refused by name."""
    semantics = Semantics.profile("nir-reference").replace(dt=DT)
    with pytest.raises(GraphError, match=message) as err:
        simulate(delayed(delay), np.ones((20, 1, 2)), semantics)
    assert (err.value.node, err.value.field) == ("d", "delay")
    with pytest.raises(LoweringError) as err:
        get_target("loihi").lower(delayed(delay), semantics)
    assert (err.value.node, err.value.field) == ("d", "delay")


def test_a_long_delay_costs_no_gigabytes():
    """1e4 s at dt = 0.1 ms is 1e8 steps: refused before any buffer is allocated."""
    semantics = Semantics.profile("nir-reference").replace(dt=DT)
    with pytest.raises(GraphError, match="1e\\+08 steps"):
        simulate(delayed(1e4), np.ones((20, 1, 2)), semantics)


# -- names -----------------------------------------------------------------------------------

EVIL = "lif\x1b[2J\nboom"


def test_names_are_printed_escaped(braille, capsys):
    def rename(node: h5py.Group) -> None:
        node["nodes"].move("lif2", EVIL)
        edges = node["edges"].asstr()[()]
        edges[edges == "lif2"] = EVIL
        replace(node, "edges", data=edges.astype(object), dtype=h5py.string_dtype())

    in_file(braille, rename)
    assert main(["inspect", str(braille)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "lif\\x1b[2J\\nboom" in out
    in_file(braille, lambda node: replace(node[f"nodes/{EVIL}"], "tau_mem", data=-np.ones(7)))
    assert main(["inspect", str(braille)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "node 'lif\\x1b[2J\\nboom'" in err


def test_a_near_miss_edge_says_did_you_mean(braille):
    def misname(node: h5py.Group) -> None:
        edges = node["edges"].asstr()[()]
        edges[edges == "lif2"] = "lif"
        replace(node, "edges", data=edges.astype(object), dtype=h5py.string_dtype())

    in_file(braille, misname)
    with pytest.raises(GraphError, match=r"refers to node 'lif', .* did you mean 'lif2'"):
        snnx.read(braille)


def test_a_per_dimension_field_of_too_many_dimensions():
    """Found by the fuzz tier: a 5-d ``kernel_size`` was an internal error."""
    pool = Node("SumPool2d", kernel_size=np.ones((1, 2, 1, 2, 1)), stride=1, padding=0)
    graph = Graph.sequential(
        {"in": Node("Input", shape=[1, 4, 4]), "pool": pool, "out": Node("Output", shape=[1, 3, 3])}
    )
    with pytest.raises(GraphError, match="one per dimension") as err:
        graph.check()
    assert (err.value.node, err.value.field) == ("pool", "kernel_size")


def test_repair_writes_the_near_miss_fix_to_a_new_file(braille, tmp_path, capsys):
    """The NIR paper's subgraph files wire edges to ``lif`` while the node is ``lif1``: here the
    same break, made in the Braille graph; the repaired copy is the original graph."""
    original = snnx.read(braille)

    def misname(node: h5py.Group) -> None:
        edges = node["edges"].asstr()[()]
        edges[edges == "lif2"] = "lif"
        replace(node, "edges", data=edges.astype(object), dtype=h5py.string_dtype())

    in_file(braille, misname)
    broken = braille.read_bytes()
    assert main(["repair", str(braille), "-o", str(braille)]) == 1
    assert "repair writes a new file" in capsys.readouterr().err
    fixed = tmp_path / "fixed.nir"
    assert main(["repair", str(braille), "-o", str(fixed)]) == 0
    assert "edge endpoint 'lif' -> 'lif2'" in capsys.readouterr().out
    assert braille.read_bytes() == broken
    assert snnx.read(fixed).edges == original.edges
    assert main(["repair", str(fixed), "-o", str(tmp_path / "again.nir")]) == 0
    assert "nothing to repair" in capsys.readouterr().out
    assert not (tmp_path / "again.nir").exists()


def test_xylo_refuses_a_synapse_that_never_decays():
    """tau_syn = 1e300 s makes the decay exactly 1 in float64: its steady state would divide by
    zero (before the guard: an internal error, a NaN cast to an integer in the quantizer)."""

    def cuba(n: int, tau_syn: float) -> Node:
        return Node(
            "CubaLIF",
            tau_syn=np.full(n, tau_syn),
            tau_mem=np.full(n, 1e-2),
            r=np.ones(n),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
        )

    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[2]),
            "w1": Node("Linear", weight=np.ones((3, 2))),
            "h": cuba(3, 1e300),
            "w2": Node("Linear", weight=np.ones((2, 3))),
            "o": cuba(2, 5e-3),
            "out": Node("Output", shape=[2]),
        }
    )
    semantics = Semantics.profile("nir-reference").replace(dt=1e-3)
    with pytest.raises(LoweringError, match="never decays") as err:
        get_target("xylo").lower(graph, semantics)
    assert (err.value.node, err.value.field) == ("h", "tau_syn")


def test_a_corrupted_string_datatype_is_a_clean_error_not_a_crash(tmp_path):
    """Found by the fuzz tier: one byte of a variable-length string's datatype message (the
    class bits ``01`` of ``19 01 01 00``: string, UTF-8) set to ``eb`` turns it into a sequence
    of an unknown kind, and libhdf5 crashed the process (SIGSEGV) reading it."""
    data = bytearray(nir_file(tmp_path / "good.nir"))
    message = data.find(b"\x19\x01\x01\x00")
    assert message > 0
    data[message + 1] = 0xEB
    path = tmp_path / "bad.nir"
    path.write_bytes(bytes(data))
    err = one_clean_line(snnx_cli("inspect", str(path)))
    assert "HDF5 type class 9" in err, err


# -- other files a user passes in ---------------------------------------------------------------


def test_nirdata_with_a_huge_declared_dataset_is_refused_before_allocation(tmp_path):
    """`snnx.nirdata.read_inputs` checks the file as `snnx.read` does before nir reads it."""
    from snnx.nirdata import read_inputs

    path = tmp_path / "inputs.h5"
    nir.write_data(str(path), nir.NIRGraphData({"input": nir.NIRNodeData({})}))
    with h5py.File(path, "r+") as handle:
        handle.create_dataset("junk", shape=(10**9, 8), dtype="f4", chunks=(1, 8))
    graph = nir_graph_for_inputs()
    with pytest.raises(
        NIRFormatError, match=r"inputs\.h5: field 'junk': cannot read NIRData: declares 29\.8 GiB"
    ):
        read_inputs(path, graph, dt=1e-4)


def nir_graph_for_inputs() -> Graph:
    return Graph.sequential(
        {
            "input": Node("Input", shape=[2]),
            "lif": Node(
                "LIF",
                tau=np.full(2, 0.01),
                r=np.ones(2),
                v_leak=np.zeros(2),
                v_threshold=np.ones(2),
            ),
            "output": Node("Output", shape=[2]),
        }
    )


@pytest.mark.parametrize("field", sorted(HEAP_FIELDS))
def test_a_netx_file_with_a_corrupted_global_heap_is_a_clean_error(field, tmp_path):
    """`snnx.targets.loihi.artifact.read` (what ``snnx verify`` reads) ends with one clean error
    where libhdf5 alone would spin at the first string read."""
    from snnx.targets.loihi import artifact

    target = get_target("loihi")
    lowered = target.lower(nir_graph_for_inputs(), Semantics())
    good = tmp_path / "model.net"
    artifact.write(lowered.program, good)
    data = bytearray(good.read_bytes())
    heap = data.find(b"GCOL")
    assert heap > 0
    data[heap + HEAP_FIELDS[field]] = 0xFF
    bad = tmp_path / "bad.net"
    bad.write_bytes(bytes(data))
    script = (
        "import sys\n"
        "from snnx.errors import SnnxError\n"
        "from snnx.targets.loihi import artifact\n"
        "try:\n"
        "    artifact.read(sys.argv[1])\n"
        "except SnnxError as err:\n"
        "    print(err)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(bad)], capture_output=True, text=True, timeout=DEADLINE
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "global heap collection" in done.stdout and "corrupted" in done.stdout, done.stdout
    assert done.stdout.count("\n") == 1 and "bad.net" in done.stdout, done.stdout
