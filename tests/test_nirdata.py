"""NIRData files (`snnx.nirdata`, ``snnx simulate --input/-o``, ``snnx verify --input``): data
written by nir's own `nir.write_data` is read onto the graph's time grid (events binned as
counted by hand), results written by snnx read back with `nir.read_data`, and every disagreement
between the data and the graph is a one-line error naming the file, node and observable."""

from __future__ import annotations

import subprocess
import sys

import nir
import numpy as np
import pytest

from snnx import example_path, read
from snnx.errors import SnnxError
from snnx.ir import Graph, Node
from snnx.nirdata import read_inputs, write_results

BRAILLE = example_path("braille")
DT = 1e-4


def write(path, nodes: dict) -> str:
    nir.write_data(str(path), nir.NIRGraphData(nodes))
    return str(path)


def test_events_are_binned_onto_the_grid(tmp_path):
    """Two samples of events (index -1 pads) in 5 steps of 1e-4 s: two events of neuron 3 in step
    1 count 2, the event at 4.5e-4 s lands in step 4."""
    idx = np.array([[3, 3, 11, -1], [0, -1, -1, -1]])
    time = np.array([[1.2e-4, 1.9e-4, 4.5e-4, np.inf], [0.0, np.inf, np.inf, np.inf]])
    events = nir.EventData(idx=idx, time=time, n_neurons=12, t_max=5e-4)
    path = write(tmp_path / "e.h5", {"input": nir.NIRNodeData({"spikes": events})})
    x = read_inputs(path, read(BRAILLE), DT)["input"]
    want = np.zeros((5, 2, 12))
    want[1, 0, 3], want[4, 0, 11], want[0, 1, 0] = 2, 1, 1
    np.testing.assert_array_equal(x, want)


def test_valued_events_add_their_values(tmp_path):
    events = nir.ValuedEventData(
        idx=np.array([[2, 2]]),
        time=np.array([[0.0, 0.5e-4]]),
        value=np.array([[0.25, 0.5]]),
        n_neurons=12,
        t_max=2e-4,
    )
    path = write(tmp_path / "v.h5", {"input": nir.NIRNodeData({"current": events})})
    x = read_inputs(path, read(BRAILLE), DT)["input"]
    assert x.shape == (2, 1, 12) and x[0, 0, 2] == 0.75 and x.sum() == 0.75


def test_time_gridded_data_is_reshaped_to_the_input(tmp_path):
    """(samples, steps, neurons) becomes (steps, samples, *shape), neurons in C order."""
    graph = Graph.sequential(
        {"in": Node("Input", shape=[2, 3]), "out": Node("Output", shape=[2, 3])}
    )
    data = np.arange(2 * 4 * 6, dtype=np.float64).reshape(2, 4, 6)
    grid = nir.TimeGriddedData(data, DT)
    path = write(tmp_path / "g.h5", {"in": nir.NIRNodeData({"values": grid})})
    x = read_inputs(path, graph, DT)["in"]
    assert x.shape == (4, 2, 2, 3)
    assert x[3, 1, 1, 2] == data[1, 3, 5] and x[0, 0, 0, 1] == data[0, 0, 1]


def spikes(samples=2, steps=5, neurons=12, dt=DT):
    return nir.TimeGriddedData(np.zeros((samples, steps, neurons), bool), dt)


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ({"input": nir.NIRNodeData({"spikes": spikes(dt=1e-3)})}, "time grid dt=0.001 s"),
        ({"input": nir.NIRNodeData({"spikes": spikes(neurons=11)})}, "11 neurons"),
        ({"inputs": nir.NIRNodeData({"spikes": spikes()})}, "node 'inputs' in the data is not"),
        ({"output": nir.NIRNodeData({"spikes": spikes(neurons=7)})}, "no data for Input 'input'"),
        (
            {"input": nir.NIRNodeData({"a": spikes(), "b": spikes()})},
            "none is named 'spikes' among ['a', 'b']",
        ),
        (
            {
                "input": nir.NIRNodeData(
                    {"spikes": nir.EventData(np.zeros((1, 1), int), np.zeros((1, 1)), 12, 2.5e-4)}
                )
            },
            "not a whole number of steps",
        ),
        (
            {
                "input": nir.NIRNodeData(
                    {"spikes": nir.EventData(np.array([[12]]), np.zeros((1, 1)), 12, 2e-4)}
                )
            },
            "events outside the neurons",
        ),
    ],
)
def test_disagreements_are_clear_errors(tmp_path, nodes, message):
    path = write(tmp_path / "bad.h5", nodes)
    with pytest.raises(SnnxError) as err:
        read_inputs(path, read(BRAILLE), DT)
    assert message in str(err.value) and "bad.h5" in str(err.value)


def test_not_a_nirdata_file(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\nbroken")
    with pytest.raises(SnnxError, match="cannot read NIRData"):
        read_inputs(path, read(BRAILLE), DT)


def test_results_inside_subgraphs_are_written_by_flat_name(tmp_path):
    """A record of a node inside a subgraph is written under its flattened name (nir 1.0.8
    cannot write nested graph data: `nir.write_data` recurses forever), and such a file is
    accepted back as input data of the same graph."""
    inner = Graph.sequential(
        {
            "i": Node("Input", shape=[1]),
            "li": Node("LI", tau=[1e-3], r=[1.0], v_leak=[0.0]),
            "o": Node("Output", shape=[1]),
        }
    )
    outer = Graph.sequential(
        {"in": Node("Input", shape=[1]), "sub": inner, "out": Node("Output", shape=[1])}
    )
    arrays = {"out": np.ones((3, 2, 1)) * 0.5, "sub.li.v": np.zeros((3, 2, 1))}
    write_results(tmp_path / "r.h5", arrays, outer, DT)
    data = nir.read_data(str(tmp_path / "r.h5"))
    assert data.nodes["sub.li"].observables["v"].data.shape == (2, 3, 1)
    assert data.nodes["out"].observables["output"].dt == DT
    arrays["in"] = np.ones((3, 2, 1))
    write_results(tmp_path / "s.h5", arrays, outer, DT)
    assert read_inputs(tmp_path / "s.h5", outer, DT)["in"].shape == (3, 2, 1)


def test_nested_graph_data_breaks_nir_1_0_8(tmp_path):
    """Why snnx writes flat names: nir 1.0.8 cannot write a nested NIRGraphData. When this
    fails, nir is fixed and `write_results` may nest as the graph does."""
    inner = nir.NIRGraphData({"li": nir.NIRNodeData({"v": spikes()})})
    with pytest.raises(RecursionError):
        nir.write_data(str(tmp_path / "n.h5"), nir.NIRGraphData({"sub": inner}))


def snnx_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snnx", *args], capture_output=True, text=True)


def test_simulate_writes_nirdata_that_runs_again(tmp_path):
    """``simulate -o out.h5`` holds the inputs, the outputs (as spikes, bool) and the records;
    the npz written from the same run holds the same outputs; ``--input out.h5`` reproduces
    them, and ``verify --input`` reads the file too."""
    common = ["--profile", "snntorch-nir", "--record", "lif1.lif"]
    first = tmp_path / "a.h5"
    done = snnx_cli("simulate", str(BRAILLE), "--random-input", "0.3", "--steps", "40",
                    "--batch", "3", *common, "-o", str(first))  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = nir.read_data(str(first))
    assert set(data.nodes) == {"input", "output", "lif1.lif"}
    out = data.nodes["output"].observables["spikes"]
    assert out.data.dtype == bool and out.data.shape == (3, 40, 7) and out.dt == DT
    assert set(data.nodes["lif1.lif"].observables) == {"spikes", "v", "i"}
    again = tmp_path / "b.npz"
    done = snnx_cli("simulate", str(BRAILLE), "--input", str(first), *common, "-o", str(again))
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(again)["output"], out.data.swapaxes(0, 1))
    assert out.data.any()
    done = snnx_cli("verify", str(BRAILLE), "--target", "loihi", "--input", str(first), *common[:2])
    assert "3 samples x 40 steps" in done.stdout, done.stderr


def test_simulate_refuses_other_output_names(tmp_path):
    done = snnx_cli("simulate", str(BRAILLE), "--random-input", "0.1", "--steps", "5",
                    "-o", str(tmp_path / "out.csv"))  # fmt: skip
    assert done.returncode == 1 and "write .npz or NIRData" in done.stderr
    assert not (tmp_path / "out.csv").exists()
