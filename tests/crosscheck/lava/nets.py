"""Random NIR graphs of every kind the Loihi target lowers: dense, recurrent, convolutional (with
pooling, groups, padding), delays, biases and leaks, LIF / CubaLIF / IF, single-sign weights.

Each builder takes a numpy ``Generator`` and returns ``(graph, semantics)``; weights are drawn
so that layers fire at moderate rates under the ``snntorch`` profile (gains of 1: ``r = tau/dt``,
``w_in = tau_syn/dt``).
"""

from __future__ import annotations

import numpy as np

from snnx.ir import Graph, Node
from snnx.semantics import Semantics

DT = 1e-4
SNNTORCH = Semantics.profile("snntorch-nir")


def _lif(rng, n, threshold_spread=False):
    tau = float(rng.uniform(3e-4, 3e-3))
    thr = rng.uniform(0.7, 1.4, n) if threshold_spread else np.ones(n)  # n: int or a shape
    return Node(
        "LIF",
        tau=np.full(n, tau),
        r=np.full(n, tau / DT),
        v_leak=np.zeros(n),
        v_threshold=thr,
        v_reset=np.zeros(n),
    )


def _cuba(rng, n):
    tau_syn, tau_mem = float(rng.uniform(2e-4, 1e-3)), float(rng.uniform(5e-4, 3e-3))
    return Node(
        "CubaLIF",
        tau_syn=np.full(n, tau_syn),
        tau_mem=np.full(n, tau_mem),
        r=np.full(n, tau_mem / DT),
        w_in=np.full(n, tau_syn / DT),
        v_leak=np.zeros(n),
        v_threshold=np.ones(n),
        v_reset=np.zeros(n),
    )


def _if(n):
    return Node("IF", r=np.full(n, 1 / DT), v_threshold=np.full(n, 2.0), v_reset=np.zeros(n))


def _affine(rng, n_out, n_in, scale, bias=True, sign=0):
    w = rng.normal(0, scale, (n_out, n_in))
    if sign:
        w = sign * np.abs(w)
    if not bias:
        return Node("Linear", weight=w)
    return Node("Affine", weight=w, bias=rng.normal(0, 0.1, n_out))


def _chain(nodes: dict, extra_edges=()) -> Graph:
    graph = Graph.sequential(nodes)
    for src, dst in extra_edges:
        graph.add_edge(src, dst)
    return graph


def dense(rng, neuron="LIF"):
    """Input 10 -> Affine -> neuron(24) -> Affine -> neuron(6), biases on."""
    make = {"LIF": lambda n: _lif(rng, n, True), "CubaLIF": lambda n: _cuba(rng, n), "IF": _if}[
        neuron
    ]
    return _chain(
        {
            "input": Node("Input", shape=[10]),
            "fc1": _affine(rng, 24, 10, 1.2),
            "n1": make(24),
            "fc2": _affine(rng, 6, 24, 0.8),
            "n2": make(6),
            "output": Node("Output", shape=[6]),
        }
    ), SNNTORCH


def recurrent(rng, rec_sign=0):
    """The Braille shape, smaller: Affine -> CubaLIF with a recurrent Affine -> Affine -> CubaLIF."""
    graph = _chain(
        {
            "input": Node("Input", shape=[8]),
            "fc1": _affine(rng, 20, 8, 1.0),
            "lif1": _cuba(rng, 20),
            "fc2": _affine(rng, 5, 20, 0.7),
            "lif2": _cuba(rng, 5),
            "output": Node("Output", shape=[5]),
        }
    )
    graph.add_node("w_rec", _affine(rng, 20, 20, 0.6, sign=rec_sign))
    graph.add_edge("lif1", "w_rec")
    graph.add_edge("w_rec", "lif1")
    return graph, SNNTORCH


def single_sign(rng):
    """Excitatory-only feed-forward weights, inhibitory-only recurrence, no biases."""
    graph = _chain(
        {
            "input": Node("Input", shape=[9]),
            "fc1": _affine(rng, 16, 9, 1.0, bias=False, sign=1),
            "lif1": _lif(rng, 16),
            "fc2": _affine(rng, 4, 16, 0.5, bias=False, sign=1),
            "lif2": _lif(rng, 4),
            "output": Node("Output", shape=[4]),
        }
    )
    graph.add_node("w_rec", _affine(rng, 16, 16, 0.4, bias=False, sign=-1))
    graph.add_edge("lif1", "w_rec")
    graph.add_edge("w_rec", "lif1")
    return graph, SNNTORCH


def _conv(rng, c_out, c_in, k, groups=1, stride=1, padding=0, bias=True, scale=0.8):
    return Node(
        "Conv2d",
        weight=rng.normal(0, scale, (c_out, c_in // groups, *k)),
        stride=stride,
        padding=padding,
        dilation=1,
        groups=groups,
        bias=rng.normal(0, 0.1, c_out) if bias else np.zeros(c_out),
    )


def conv(rng, bias=True):
    """Conv -> LIF -> SumPool -> Conv -> IF -> Flatten -> Affine -> LIF (pooling folded)."""
    return _chain(
        {
            "input": Node("Input", shape=[2, 8, 8]),
            "c1": _conv(rng, 4, 2, (3, 3), padding=1, bias=bias),
            "l1": _lif(rng, (4, 8, 8)),
            "p1": Node("SumPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]),
            "c2": _conv(rng, 4, 4, (3, 2), groups=2, bias=bias, scale=0.6),
            "l2": _if((4, 2, 3)),
            "flat": Node("Flatten", start_dim=0, end_dim=-1),
            "fc": _affine(rng, 5, 24, 0.7, bias=bias),
            "l3": _lif(rng, 5),
            "output": Node("Output", shape=[5]),
        }
    ), SNNTORCH


def pooling(rng):
    """Conv (stride 2, grouped) -> LIF -> AvgPool -> IF: a pooling-only layer."""
    return _chain(
        {
            "input": Node("Input", shape=[2, 9, 7]),
            "c1": _conv(rng, 4, 2, (3, 3), groups=2, stride=2, padding=1, bias=False, scale=1.2),
            "l1": _lif(rng, (4, 5, 4)),
            "p1": Node("AvgPool2d", kernel_size=[2, 2], stride=[1, 1], padding=[0, 0]),
            "l2": Node("IF", r=np.full((4, 4, 3), 1 / DT), v_threshold=np.full((4, 4, 3), 0.5)),
            "output": Node("Output", shape=[4, 4, 3]),
        }
    ), SNNTORCH


def delays(rng):
    """Delay (per input) -> Linear -> LIF -> Affine -> Delay (per neuron) -> LIF."""
    return _chain(
        {
            "input": Node("Input", shape=[6]),
            "d1": Node("Delay", delay=rng.integers(0, 4, 6) * DT),
            "fc1": _affine(rng, 12, 6, 1.2, bias=False),
            "l1": _lif(rng, 12),
            "fc2": _affine(rng, 4, 12, 0.8),
            "d2": Node("Delay", delay=rng.integers(0, 5, 4) * DT),
            "l2": _lif(rng, 4),
            "output": Node("Output", shape=[4]),
        }
    ), SNNTORCH


def image_lava(rng):
    """An image read by a dense layer (Flatten -> Affine), under lava's profile
    (spikes emitted one step late: latency 0)."""
    nodes = {
        "input": Node("Input", shape=[1, 4, 4]),
        "flat": Node("Flatten", start_dim=0, end_dim=-1),
        "fc1": _affine(rng, 10, 16, 1.0, bias=False),
        "l1": _lif(rng, 10),
        "fc2": _affine(rng, 3, 10, 0.8, bias=False),
        "l2": _lif(rng, 3),
        "output": Node("Output", shape=[3]),
    }
    return _chain(nodes), Semantics.profile("lava")


def leak_line(rng):
    """LIF with v_leak (a constant into v on the bias line) feeding an IF."""
    lif = _lif(rng, 12).replace(v_leak=np.full(12, 0.3))
    return _chain(
        {
            "input": Node("Input", shape=[5]),
            "fc1": _affine(rng, 12, 5, 1.0, bias=False),
            "l1": lif,
            "fc2": _affine(rng, 3, 12, 0.8),
            "l2": _if(3),
            "output": Node("Output", shape=[3]),
        }
    ), SNNTORCH


#: name -> builder, every family the tier runs through Lava.
FAMILIES = {
    "dense-lif": lambda rng: dense(rng, "LIF"),
    "dense-cuba": lambda rng: dense(rng, "CubaLIF"),
    "dense-if": lambda rng: dense(rng, "IF"),
    "recurrent": recurrent,
    "recurrent-inhibitory": lambda rng: recurrent(rng, rec_sign=-1),
    "single-sign": single_sign,
    "conv-bias": lambda rng: conv(rng, bias=True),
    "conv": lambda rng: conv(rng, bias=False),
    "pooling": pooling,
    "delays": delays,
    "image-dense-lava-profile": image_lava,
    "leak-line": leak_line,
}
