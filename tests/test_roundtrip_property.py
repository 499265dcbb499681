"""Property: random valid graphs of every node type, with cycles and nested subgraphs, survive
Graph -> .nir -> Graph -> .nir with every dataset equal."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import nir
import numpy as np
from hypothesis import HealthCheck, given, settings
from strategies import graphs

import snnx
from snnx.ir import SCHEMA, Graph, Node
from snnx.ir.nirfile import datasets


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_round_trip(graph):
    graph.check()
    with tempfile.TemporaryDirectory() as folder:
        first, second = Path(folder) / "a.nir", Path(folder) / "b.nir"
        snnx.write(graph, first)
        back = snnx.read(first)
        assert back.nir_version == nir.version
        back.nir_version = None
        assert back == graph
        snnx.write(back, second)
        assert datasets(first) == datasets(second)


def every_type_graph() -> Graph:
    """One graph holding all 19 node types, with a subgraph and a recurrent loop."""
    rng = np.random.default_rng(0)
    ones = np.ones(4)
    inner = Graph.sequential(
        {
            "in": Node("Input", shape=[4]),
            "delay": Node("Delay", delay=np.full(4, 2e-4)),
            "thr": Node("Threshold", threshold=ones),
            "out": Node("Output", shape=[4]),
        }
    )
    nodes = {
        "input": Node("Input", shape=[2, 6, 5]),
        "conv": Node(
            "Conv2d",
            weight=rng.normal(size=(4, 1, 3, 2)),
            stride=[1, 2],
            padding=[1, 0],
            dilation=1,
            groups=2,
            bias=np.zeros(4),
        ),
        "if": Node("IF", r=np.ones((4, 6, 2)), v_threshold=np.ones((4, 6, 2))),
        "sum": Node("SumPool2d", kernel_size=[2, 1], stride=[2, 1], padding=[0, 0]),
        "avg": Node("AvgPool2d", kernel_size=[3, 2], stride=[1, 1], padding=[0, 0]),
        "flat": Node("Flatten", start_dim=1, end_dim=-1, input_type=np.array([4, 1, 1])),
        "conv1": Node(
            "Conv1d",
            weight=rng.normal(size=(2, 4, 1)),
            stride=1,
            padding="valid",
            dilation=1,
            groups=1,
            bias=np.zeros(2),
        ),
        "flat2": Node("Flatten", start_dim=0, end_dim=-1),
        "aff": Node("Affine", weight=rng.normal(size=(4, 2)), bias=np.zeros(4)),
        "lif": Node("LIF", tau=ones * 0.01, r=ones, v_leak=0.0, v_threshold=ones, v_reset=0.0),
        "rec": Node("Linear", weight=rng.normal(size=(4, 4))),
        "sub": inner,
        "i": Node("I", r=ones),
        "li": Node("LI", tau=ones * 0.01, r=ones, v_leak=ones * 0),
        "culi": Node(
            "CubaLI", tau_syn=ones * 0.01, tau_mem=ones * 0.02, r=ones, v_leak=ones * 0, w_in=2.0
        ),
        "culif": Node(
            "CubaLIF",
            tau_syn=ones * 0.01,
            tau_mem=ones * 0.02,
            r=ones,
            v_leak=ones * 0,
            v_threshold=ones,
        ),
        "scale": Node("Scale", scale=ones * 0.5),
        "output": Node("Output", shape=[4]),
    }
    chain = [
        "input",
        "conv",
        "if",
        "sum",
        "avg",
        "flat",
        "conv1",
        "flat2",
        "aff",
        "lif",
        "sub",
        "i",
        "li",
        "culi",
        "culif",
        "scale",
        "output",
    ]
    edges = [*itertools.pairwise(chain), ("lif", "rec"), ("rec", "lif")]
    return Graph(nodes, edges, metadata={"about": {"what": "every type"}})


def test_every_node_type_round_trips(tmp_path):
    graph = every_type_graph()
    shapes = graph.check()
    assert {p.type for _, p in graph.walk()} == set(SCHEMA)
    assert shapes["flat"].output == (4, 1) and shapes["conv1"].output == (2, 1)
    assert graph.recurrent_groups() == [["lif", "rec"]]
    snnx.write(graph, tmp_path / "all.nir")
    back = snnx.read(tmp_path / "all.nir")
    back.nir_version = None
    assert back == graph
    snnx.write(back, tmp_path / "again.nir")
    assert datasets(tmp_path / "all.nir") == datasets(tmp_path / "again.nir")
