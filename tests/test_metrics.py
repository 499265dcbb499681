"""NeuroBench metrics (`snnx.metrics`) against analytic counts and a brute-force count written
out loop by loop; the cross-check against the ``neurobench`` package itself is
``tests/crosscheck/peers/test_neurobench.py``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from snnx import example_path
from snnx.ir import Graph, Node
from snnx.metrics import count_workload, measure, recorded_nodes, static_metrics
from snnx.semantics import Semantics
from snnx.sim import Simulator

UNIT_STEP = Semantics(dt=1.0)  # an IF neuron adds r * dt * x = x per step


def if_graph(weight: np.ndarray, threshold: float = 2.5) -> Graph:
    n_out, n_in = weight.shape
    return Graph.sequential(
        {
            "in": Node("Input", shape=[n_in]),
            "fc": Node("Linear", weight=weight),
            "if": Node("IF", r=np.ones(n_out), v_threshold=np.full(n_out, threshold)),
            "out": Node("Output", shape=[n_out]),
        }
    )


def test_integrate_and_fire_counts_by_hand():
    """Neuron 0 gets 1 per step: v = 1, 2, 3 -> spike, reset to 0, ...: it fires at steps 2, 5, 8
    and its v changes every step; neuron 1 gets nothing: v stays 0, one update (the first)."""
    graph = if_graph(np.array([[1.0], [0.0]]))
    steps = 9
    m = measure(graph, np.ones((steps, 1, 1)), UNIT_STEP)
    assert m["activation_sparsity"] == pytest.approx(1 - 3 / (2 * steps))
    assert m["membrane_updates"] == steps + 1
    ops = m["synaptic_operations"]
    assert (ops["effective_acs"], ops["effective_macs"], ops["dense"]) == (steps, 0, 2 * steps)
    assert static_metrics(graph)["connection_sparsity"] == 0.5


def test_graded_inputs_are_macs():
    """An input that is not -1, 0 or 1 makes that step's operations multiply-accumulates."""
    graph = if_graph(np.array([[1.0, 1.0]]))
    x = np.array([[[1.0, 0.0]], [[0.5, 1.0]], [[0.0, -1.0]]])
    ops = measure(graph, x, "nir-reference")["synaptic_operations"]
    assert (ops["effective_acs"], ops["effective_macs"]) == (2, 2)


def test_counts_are_per_sample_and_add_over_batches():
    graph = if_graph(np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 1.0]]), threshold=1.5)
    x = (np.random.default_rng(0).random((20, 6, 3)) < 0.4).astype(np.float32)
    whole = measure(graph, x, "nir-reference")
    parts = measure(graph, x, "nir-reference", batch_size=4)
    assert whole == parts
    one = [measure(graph, x[:, i : i + 1], "nir-reference") for i in range(6)]
    mean = np.mean([m["synaptic_operations"]["effective_acs"] for m in one])
    assert whole["synaptic_operations"]["effective_acs"] == pytest.approx(mean)


def brute_force_conv_ops(x: np.ndarray, weight: np.ndarray, stride, padding, dilation, groups):
    """Pairs of a nonzero weight and a nonzero input that a Conv2d multiplies, loop by loop."""
    steps, batch, _, height, width = x.shape
    out_channels, per_group, kh, kw = weight.shape
    out_h = (height + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    out_w = (width + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    total = 0
    for t in range(steps):
        for b in range(batch):
            for o in range(out_channels):
                group = o // (out_channels // groups)
                for i in range(out_h):
                    for j in range(out_w):
                        for c in range(per_group):
                            for u in range(kh):
                                for v in range(kw):
                                    r = i * stride - padding + u * dilation
                                    s = j * stride - padding + v * dilation
                                    if 0 <= r < height and 0 <= s < width:
                                        src = x[t, b, group * per_group + c, r, s]
                                        total += weight[o, c, u, v] != 0 and src != 0
    return total


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups"), [(1, 1, 1, 1), (2, 0, 1, 2), (1, 2, 2, 1)]
)
def test_convolution_operations_match_a_brute_force_count(stride, padding, dilation, groups):
    rng = np.random.default_rng(stride + padding + dilation)
    weight = rng.normal(size=(4, 4 // groups, 3, 3)) * (rng.random((4, 4 // groups, 3, 3)) > 0.4)
    conv = Node(
        "Conv2d",
        weight=weight,
        bias=np.zeros(4),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        input_shape=np.array([7, 7]),
    )
    side = (7 + 2 * padding - dilation * 2 - 1) // stride + 1
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[4, 7, 7]),
            "conv": conv,
            "out": Node("Output", shape=[4, side, side]),
        }
    )
    x = (rng.random((3, 2, 4, 7, 7)) < 0.3).astype(np.float32)
    sim = Simulator(graph, "nir-reference", record=recorded_nodes(graph))
    counts = count_workload(graph, {"in": x}, sim(x).records)
    want = brute_force_conv_ops(x, weight, stride, padding, dilation, groups)
    assert counts.effective_acs == want
    assert counts.dense == brute_force_conv_ops(
        np.ones_like(x), np.ones_like(weight), stride, padding, dilation, groups
    )


def test_verify_reports_the_metrics(tmp_path):
    """`snnx verify --json` carries the metrics and the published estimates with their sources;
    the terminal report names them."""
    command = [sys.executable, "-m", "snnx", "verify", str(example_path("braille"))]
    command += ["--target", "loihi", "--profile", "snntorch-nir", "--random", "4", "--steps", "30"]
    report = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True).stdout)
    metrics = report["metrics"]
    assert metrics["connection_weights"] > 0 and 0 < metrics["activation_sparsity"] < 1
    assert metrics["synaptic_operations"]["effective_acs"] > 0
    estimates = report["estimates"]
    assert estimates["energy_per_sample_j"] > 0 and estimates["sources"]
    text = subprocess.run(command, capture_output=True, text=True).stdout
    assert "NeuroBench: footprint" in text and "source: M. Davies" in text
