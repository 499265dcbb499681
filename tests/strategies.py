"""Hypothesis strategies for random, valid snnx graphs of every NIR node type.

`graphs()` draws a chain of stages from an `Input` to an `Output`, each stage a node that fits the
current shape (dense, conv, pooling, flatten, element-wise neurons, delays...), with optional
recurrence (a dense back edge or a self-loop), skip connections (summed edges), and stretches
wrapped into nested subgraphs (one or two ports). Field values vary in dtype (float16/32/64),
scalar versus array form, and presence of optional fields; metadata is random and nested.
"""

from __future__ import annotations

import string

import numpy as np
from hypothesis import strategies as st

from snnx.ir import Graph, Node

FLOAT_DTYPES = (np.float32, np.float64, np.float16)
INT_DTYPES = (np.int64, np.int32)
NEURONS = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF", "Threshold", "Scale", "Delay")

names = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)


@st.composite
def reals(draw, shape, low=-2.0, high=2.0, scalar_ok=True):
    """A real array of ``shape`` (or, sometimes, a scalar) in [low, high]."""
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    if scalar_ok and draw(st.booleans()):
        value = draw(st.floats(low, high, allow_nan=False))
        return draw(st.sampled_from([float(value), dtype(value)]))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def whole_steps(draw, shape, dt=1e-4):
    """Delays of 0 to 3 whole steps of ``dt`` (a scalar or one per element)."""
    if draw(st.booleans()):
        return draw(st.integers(0, 3)) * dt
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, 4, size=shape) * dt


def ints(draw, values):
    """Integers as a Python int (one value) or an int array."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return int(values[0])
    return np.asarray(values, dtype=draw(st.sampled_from(INT_DTYPES)))


@st.composite
def metadata(draw):
    leaf = st.one_of(
        st.text(string.printable, max_size=8),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(-(2**31), 2**31 - 1),
    )
    tree = st.recursive(
        st.dictionaries(names, leaf, max_size=3),
        lambda c: st.dictionaries(names, c, max_size=3),
        max_leaves=6,
    )
    return draw(st.one_of(st.none(), tree))


@st.composite
def neuron(draw, shape):
    """An element-wise node over ``shape``: neuron, Threshold, Scale or Delay."""
    kind = draw(st.sampled_from(NEURONS))
    r = lambda **kw: draw(reals(shape, **kw))  # noqa: E731
    fields = {
        "I": lambda: {"r": r()},
        "IF": lambda: {"r": r(), "v_threshold": r(low=0.1)},
        "LI": lambda: {"tau": r(low=1e-3, high=0.1), "r": r(), "v_leak": r()},
        "LIF": lambda: {
            "tau": r(low=1e-3, high=0.1),
            "r": r(),
            "v_leak": r(),
            "v_threshold": r(low=0.1),
        },
        "CubaLI": lambda: {
            "tau_syn": r(low=1e-3, high=0.1),
            "tau_mem": r(low=1e-3, high=0.1),
            "r": r(),
            "v_leak": r(),
        },
        "CubaLIF": lambda: {
            "tau_syn": r(low=1e-3, high=0.1),
            "tau_mem": r(low=1e-3, high=0.1),
            "r": r(),
            "v_leak": r(),
            "v_threshold": r(low=0.1),
        },
        "Threshold": lambda: {"threshold": r()},
        "Scale": lambda: {"scale": r()},
        "Delay": lambda: {"delay": whole_steps(draw, shape)},
    }[kind]()
    if kind in ("IF", "LIF", "CubaLIF") and draw(st.booleans()):
        fields["v_reset"] = r()
    if kind in ("CubaLI", "CubaLIF") and draw(st.booleans()):
        fields["w_in"] = r()
    if all(np.ndim(v) == 0 for v in fields.values()):  # pin the shape with one array field
        key = next(iter(fields))
        fields[key] = np.full(shape, fields[key], dtype=np.float64)
    return Node(kind, fields, metadata=draw(metadata()))


@st.composite
def stage(draw, shape):
    """One node that takes ``shape``; returns ``(node, output shape)``."""
    options = ["neuron"]
    if len(shape) == 1:
        options += ["dense"]
    if len(shape) == 2:
        options += ["conv1d", "flatten"]
    if len(shape) == 3:
        options += ["conv2d", "pool", "flatten"]
    kind = draw(st.sampled_from(options))
    meta = draw(metadata())
    if kind == "neuron":
        return draw(neuron(shape)), shape
    if kind == "dense":
        n_out = draw(st.integers(1, 6))
        weight = draw(reals((n_out, shape[0]), scalar_ok=False))
        if draw(st.booleans()):
            return Node("Linear", weight=weight, metadata=meta), (n_out,)
        return Node("Affine", weight=weight, bias=draw(reals((n_out,))), metadata=meta), (n_out,)
    if kind == "flatten":
        return Node("Flatten", start_dim=0, end_dim=-1, metadata=meta), (int(np.prod(shape)),)
    if kind == "pool":
        c, h, w = shape
        kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
        sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        node = Node(
            draw(st.sampled_from(["SumPool2d", "AvgPool2d"])),
            kernel_size=ints(draw, [kh, kw]),
            stride=ints(draw, [sh, sw]),
            padding=ints(draw, [0, 0]),
            metadata=meta,
        )
        return node, (c, (h - kh) // sh + 1, (w - kw) // sw + 1)
    spatial = shape[1:]
    groups = draw(st.sampled_from([g for g in (1, 2) if shape[0] % g == 0]))
    c_out = groups * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, n)) for n in spatial]
    stride = [draw(st.integers(1, 2)) for _ in spatial]
    padding = [draw(st.integers(0, 1)) for _ in spatial]
    out = tuple(
        (n + 2 * p - k) // s + 1
        for n, k, s, p in zip(spatial, kernel, stride, padding, strict=True)
    )
    weight = draw(reals((c_out, shape[0] // groups, *kernel), scalar_ok=False))
    fields = dict(
        weight=weight,
        stride=ints(draw, stride),
        padding=ints(draw, padding),
        dilation=ints(draw, [1] * len(spatial)),
        groups=draw(st.sampled_from([groups, np.int64(groups)])),
        bias=draw(reals((c_out,))),
    )
    if draw(st.booleans()):
        fields["input_shape"] = ints(draw, list(spatial))
    return Node("Conv1d" if len(spatial) == 1 else "Conv2d", fields, metadata=meta), (c_out, *out)


@st.composite
def chain(draw, shape, prefix, depth):
    """Nodes and edges of a random stretch starting at ``shape``: ``(nodes, edges, first, last, shape)``."""
    nodes: dict = {}
    edges: list = []
    names_used = []
    for i in range(draw(st.integers(1, 4))):
        name = f"{prefix}{i}{draw(st.sampled_from(['', '.lif', '.w', '_x']))}"
        if depth < 2 and draw(st.integers(0, 5)) == 0:
            node, out = draw(subgraph(shape, depth + 1))
        else:
            node, out = draw(stage(shape))
        nodes[name] = node
        if names_used:
            edges += [(names_used[-1], port) for port in entry_ports(name, node)]
        names_used.append(name)
        if isinstance(node, Node) and node.type in NEURONS and out == shape and draw(st.booleans()):
            if draw(st.booleans()):
                edges.append((name, name))  # self-loop
            else:
                rec = f"{name}.rec"
                nodes[rec] = (
                    Node("Linear", weight=draw(reals((out[0],) * 2, scalar_ok=False)))
                    if len(out) == 1
                    else Node("Scale", scale=draw(reals(out, scalar_ok=False)))
                )
                edges += [(name, rec), (rec, name)]
        shape = out
    return nodes, edges, names_used[0], names_used[-1], shape


def entry_ports(name, node):
    """How edges into ``name`` address it: the bare name, or each input port of a subgraph."""
    if isinstance(node, Graph) and len(node.inputs) > 1:
        return [f"{name}.{port}" for port in node.inputs]
    return [name]


@st.composite
def subgraph(draw, shape, depth):
    """A nested graph taking ``shape``, with one input port or two (both summed into its body)."""
    nodes, edges, first, last, out = draw(chain(shape, "s", depth))
    inner = {
        "in": Node("Input", shape=np.asarray(shape)),
        **nodes,
        "out": Node("Output", shape=np.asarray(out)),
    }
    ports = ["in", "in2"] if draw(st.booleans()) else ["in"]
    inner_edges = [(port, target) for port in ports for target in entry_ports(first, nodes[first])]
    inner_edges += [*edges, (last, "out")]
    if len(ports) == 2:
        inner["in2"] = Node("Input", shape=np.asarray(shape))
    return Graph(inner, inner_edges, metadata=draw(metadata())), out


@st.composite
def graphs(draw):
    """A random valid graph from one `Input` to one `Output`."""
    rank = draw(st.sampled_from([1, 2, 3]))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(rank))
    nodes, edges, first, last, out = draw(chain(shape, "n", 0))
    graph = Graph(metadata=draw(metadata()))
    graph.add_node("input", Node("Input", shape=np.asarray(shape)))
    for name, node in nodes.items():
        graph.add_node(name, node)
    graph.add_node("output", Node("Output", shape=np.asarray(out)))
    for port in entry_ports(first, nodes[first]):
        graph.add_edge("input", port)
    for src, dst in edges:
        graph.add_edge(src, dst)
    graph.add_edge(last, "output")
    return graph
