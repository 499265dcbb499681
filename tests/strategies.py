"""Hypothesis strategies for random, valid snnx graphs of every NIR node type.

`graphs()` draws a chain of stages from an `Input` to an `Output`, each stage a node that fits the
current shape (dense, conv, pooling, flatten, element-wise neurons, delays...), with optional
recurrence (a dense back edge or a self-loop), skip connections (summed edges), and stretches
wrapped into nested subgraphs (one or two ports). Field values vary in dtype (float16/32/64),
scalar versus array form, and presence of optional fields; metadata is random and nested.

`rewritable(name)` draws, for each compiler pass, graphs in which that pass finds something to
rewrite (see the section at the end).
"""

from __future__ import annotations

import dataclasses
import string

import numpy as np
from hypothesis import strategies as st

from snnx.ir import Graph, Node
from snnx.semantics import Semantics

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


# --- graphs each compiler pass rewrites ---------------------------------------------------------
#
# `rewritable(name)` draws a `Rewrite`: a graph in which pass ``name`` finds something to change,
# and the semantics and options it runs under. Neurons are driven hard enough to spike (one input
# spike through a weight of 1 moves v by 0.5-3 thresholds) and many graphs end in a value that is
# not a spike train, so that a pass that changes the meaning changes what the equivalence check
# compares. Beside what a pass must rewrite, some graphs hold what it must leave alone (an Affine
# that only just is not an identity, a delay followed by a bias).

DT = 1e-4
EULER = Semantics(dt=DT)


@dataclasses.dataclass(frozen=True)
class Rewrite:
    """A graph for a pass to rewrite, the semantics it is simulated under, the pass options."""

    graph: Graph
    semantics: Semantics = EULER
    options: dict = dataclasses.field(default_factory=dict)


def _rng(draw) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def _dense(draw, n_out: int, n_in: int, kind: str | None = None, bias: bool = True) -> Node:
    """A Linear or Affine (float64 or float32) of mostly positive weights; ``bias=False``: an
    Affine's bias is zero."""
    rng = _rng(draw)
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    weight = rng.uniform(-0.5, 1.5, (n_out, n_in)).astype(dtype)
    kind = kind or draw(st.sampled_from(["Linear", "Affine"]))
    if kind == "Linear":
        return Node("Linear", weight=weight)
    offset = rng.uniform(-0.3, 0.3, n_out) if bias else np.zeros(n_out)
    return Node("Affine", weight=weight, bias=offset.astype(dtype))


def driven(draw, kind: str, shape) -> Node:
    """A neuron of ``kind`` over ``shape`` whose gain on its input is 0.5-3 per step (time
    constants 2-10 steps of ``DT``), ``v_reset`` present or not."""
    rng = _rng(draw)
    shape = tuple(np.atleast_1d(shape))
    k_mem, k_syn = rng.uniform(2, 10, shape), rng.uniform(2, 10, shape)
    threshold = rng.uniform(0.5, 1.5, shape)
    if kind == "IF":
        return Node("IF", r=rng.uniform(0.5, 2, shape) / DT, v_threshold=threshold)
    leak = rng.uniform(-0.2, 0.2, shape)
    if kind in ("LIF", "LI"):
        fields = dict(tau=k_mem * DT, r=rng.uniform(0.5, 3, shape) * k_mem, v_leak=leak)
    else:
        fields = dict(
            tau_syn=k_syn * DT,
            tau_mem=k_mem * DT,
            r=rng.uniform(0.5, 3, shape) * k_mem,
            v_leak=leak,
            w_in=rng.uniform(0.5, 2, shape) * k_syn,
        )
    if kind in ("LIF", "CubaLIF"):
        fields["v_threshold"] = threshold
        if draw(st.booleans()):
            fields["v_reset"] = rng.uniform(-0.3, 0.3, shape)
    return Node(kind, fields)


def _chain(nodes: dict, out_shape) -> Graph:
    """``nodes`` (the first an Input) in a chain into an Output of ``out_shape``."""
    return Graph.sequential({**nodes, "output": Node("Output", shape=list(out_shape))})


def _conv(draw, c_in: int, spatial: list[int], bias: bool = True) -> tuple[Node, list[int]]:
    """A 1-D or 2-D convolution (groups 1 or 2, padding 0 or 1) and its output shape."""
    rng = _rng(draw)
    groups = draw(st.sampled_from([g for g in (1, 2) if c_in % g == 0]))
    c_out = groups * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, min(2, n))) for n in spatial]
    padding = [draw(st.integers(0, 1)) for _ in spatial]
    node = Node(
        "Conv1d" if len(spatial) == 1 else "Conv2d",
        weight=rng.uniform(-1, 1, (c_out, c_in // groups, *kernel)),
        bias=rng.uniform(-0.5, 0.5, c_out) if bias else np.zeros(c_out),
        stride=[1] * len(spatial),
        padding=padding,
        dilation=[1] * len(spatial),
        groups=groups,
    )
    out = [n + 2 * p - k + 1 for n, p, k in zip(spatial, padding, kernel, strict=True)]
    return node, [c_out, *out]


def _per_channel(draw, shape) -> Node:
    """A Scale constant over all but the first (channel) dimension."""
    factor = _rng(draw).uniform(0.5, 2, shape[0]).reshape(-1, *([1] * (len(shape) - 1)))
    return Node("Scale", scale=np.broadcast_to(factor, shape).copy())


@st.composite
def _remove_dead(draw):
    n = draw(st.integers(2, 5))
    nodes = {
        "input": Node("Input", shape=[n]),
        "w": _dense(draw, n, n),
        "lif": driven(draw, "LIF", n),
    }
    graph = _chain(nodes, [n])
    for k in range(draw(st.integers(1, 3))):
        source = draw(st.sampled_from(["input", "w", "lif", *(f"dead{j}" for j in range(k))]))
        dead = _dense(draw, n, n) if draw(st.booleans()) else driven(draw, "LIF", n)
        graph.add_node(f"dead{k}", dead)
        graph.add_edge(source, f"dead{k}")
        if draw(st.booleans()):
            graph.add_edge(f"dead{k}", f"dead{k}")
    return Rewrite(graph)


def _identity_or_not(draw, n: int, kind: str, identity: bool) -> Node:
    """An element-wise identity of ``kind`` (Scale of ones, zero Delay, identity Linear or
    zero-bias Affine, a Flatten of a vector), or one changed in one place."""
    if kind == "Flatten":
        return Node("Flatten", start_dim=0, end_dim=-1)
    value = np.eye(n) if kind in ("Linear", "Affine") else np.full(n, float(kind == "Scale"))
    bias = np.zeros(n)
    if not identity:
        spot = (draw(st.integers(0, n - 1)),) * value.ndim
        if kind == "Affine":
            bias[spot[0]] = 0.25
        else:
            value[spot] += DT if kind == "Delay" else 0.5
    field = {"Scale": "scale", "Delay": "delay"}.get(kind, "weight")
    return Node(kind, {field: value, **({"bias": bias} if kind == "Affine" else {})})


@st.composite
def _remove_identity(draw):
    """Identities of any kind, and beside them at least one node of each kind but Flatten that
    only just is not one (in some order, some followed by a neuron)."""
    n = draw(st.integers(1, 4))
    kinds = ["Scale", "Delay", "Linear", "Affine"]
    identities = draw(st.lists(st.sampled_from([*kinds, "Flatten"]), min_size=1, max_size=3))
    stages = [(kind, True) for kind in identities] + [(kind, False) for kind in kinds]
    nodes = {"input": Node("Input", shape=[n]), "w": _dense(draw, n, n)}
    for k, (kind, identity) in enumerate(draw(st.permutations(stages))):
        nodes[f"e{k}"] = _identity_or_not(draw, n, kind, identity)
        if draw(st.integers(0, 3)) == 0:
            nodes[f"n{k}"] = driven(draw, draw(st.sampled_from(["LIF", "LI"])), n)
    return Rewrite(_chain(nodes, [n]))


@st.composite
def _fold_flatten(draw):
    shape = [draw(st.integers(2, 3)), draw(st.integers(1, 3)), draw(st.integers(2, 3))]
    n = draw(st.integers(1, 4))
    nodes = {"input": Node("Input", shape=shape)}
    if draw(st.booleans()):
        nodes["pre"] = driven(draw, "LI", shape)
    nodes["flat"] = Node("Flatten", start_dim=0, end_dim=-1)
    nodes["dense"] = _dense(draw, n, int(np.prod(shape)))
    if draw(st.booleans()):
        nodes["lif"] = driven(draw, "LIF", n)
    return Rewrite(_chain(nodes, [n]))


@st.composite
def _fold_scale(draw):
    spatial = [draw(st.integers(2, 4)) for _ in range(draw(st.integers(1, 2)))]
    shape = [draw(st.sampled_from([1, 2, 4])), *spatial]
    nodes = {"input": Node("Input", shape=shape)}
    before, after = draw(st.sampled_from([(True, False), (False, True), (True, True)]))
    if before:
        nodes["s_in"] = _per_channel(draw, shape)
    nodes["conv"], shape = _conv(draw, shape[0], spatial)
    if after:
        nodes["s_out"] = _per_channel(draw, shape)
    if draw(st.booleans()):
        nodes["lif"] = driven(draw, "LIF", shape)
    return Rewrite(_chain(nodes, shape))


def _into_neuron(draw, kinds, neuron: Node | None = None, n: int = 0) -> Graph:
    """``input -> Linear/Affine -> neuron -> output``: ``neuron`` (of ``n`` elements), or one
    drawn from ``kinds``."""
    n_in, n = draw(st.integers(1, 4)), n or draw(st.integers(1, 4))
    neuron = neuron or driven(draw, draw(st.sampled_from(kinds)), n)
    nodes = {"input": Node("Input", shape=[n_in]), "w": _dense(draw, n, n_in), "n": neuron}
    return _chain(nodes, [n])


@st.composite
def _fold_w_in(draw):
    return Rewrite(_into_neuron(draw, ["CubaLIF", "CubaLI"]))


@st.composite
def _cuba_to_lif(draw):
    n = draw(st.integers(1, 4))
    cuba = driven(draw, draw(st.sampled_from(["CubaLIF", "CubaLI"])), n)
    cuba = cuba.replace(tau_syn=np.full(n, DT), w_in=_rng(draw).uniform(0.5, 2, n))
    if draw(st.booleans()):
        cuba = cuba.replace(w_in=None)
    return Rewrite(_into_neuron(draw, [], cuba, n))


@st.composite
def _lif_to_cuba(draw):
    return Rewrite(_into_neuron(draw, ["LIF", "LI"]))


@st.composite
def _normalize_threshold(draw):
    reset = draw(st.sampled_from(["zero", "subtract"]))
    return Rewrite(_into_neuron(draw, ["IF", "LIF", "CubaLIF"]), EULER.replace(reset=reset))


@st.composite
def _fuse_linear(draw):
    """2-4 linear stages, an Affine (its bias goes through what follows) among the first."""
    n = draw(st.integers(1, 4))
    kinds = draw(st.lists(st.sampled_from(["Scale", "Linear", "Affine"]), min_size=2, max_size=4))
    if "Affine" not in kinds[:-1]:
        kinds[draw(st.integers(0, len(kinds) - 2))] = "Affine"
    nodes = {"input": Node("Input", shape=[n])}
    for k, kind in enumerate(kinds):
        if kind == "Scale":
            nodes[f"l{k}"] = Node("Scale", scale=_rng(draw).uniform(-1, 2, n))
        else:
            nodes[f"l{k}"] = _dense(draw, n, n, kind)
    if draw(st.booleans()):
        nodes["lif"] = driven(draw, "LIF", n)
    return Rewrite(_chain(nodes, [n]))


@st.composite
def _avgpool_to_sumpool(draw):
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(2, 4)), draw(st.integers(2, 4))
    kernel = [draw(st.integers(1, h)), draw(st.integers(2, w))]
    stride = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pooled = [c, (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1]
    nodes = {
        "input": Node("Input", shape=[c, h, w]),
        "avg": Node("AvgPool2d", kernel_size=kernel, stride=stride, padding=[0, 0]),
    }
    target = draw(st.sampled_from(["dense", "conv", "scale"]))
    if target == "scale":
        nodes["s"] = Node("Scale", scale=_rng(draw).uniform(0.5, 2, pooled))
        return Rewrite(_chain(nodes, pooled))
    if target == "conv":
        nodes["conv"], shape = _conv(draw, c, pooled[1:])
        return Rewrite(_chain(nodes, shape))
    if draw(st.booleans()):
        nodes["sum"] = Node("SumPool2d", kernel_size=[1, 1], stride=[1, 1], padding=[0, 0])
    nodes["flat"] = Node("Flatten", start_dim=0, end_dim=-1)
    n = draw(st.integers(1, 3))
    nodes["dense"] = _dense(draw, n, int(np.prod(pooled)))
    return Rewrite(_chain(nodes, [n]))


@st.composite
def _flatten_subgraphs(draw):
    n = draw(st.integers(1, 4))
    graph = Graph({"input": Node("Input", shape=[n]), "w": _dense(draw, n, n)}, [("input", "w")])
    last, shape = "w", (n,)
    for k in range(draw(st.integers(1, 2))):
        inner, shape = draw(subgraph(shape, 1))
        graph.add_node(f"sub{k}", inner)
        for port in entry_ports(f"sub{k}", inner):
            graph.add_edge(last, port)
        last = f"sub{k}"
    graph.add_node("output", Node("Output", shape=list(shape)))
    graph.add_edge(last, "output")
    return Rewrite(graph)


def _uniform_delay(draw, shape, low=1) -> Node:
    return Node("Delay", delay=np.full(shape, draw(st.integers(low, 3)) * DT))


@st.composite
def _move_delays(draw):
    if draw(st.booleans()):
        n = draw(st.integers(1, 4))
        nodes = {"input": Node("Input", shape=[n]), "d": _uniform_delay(draw, n)}
        kind = draw(st.sampled_from(["Linear", "Affine", "Scale"]))
        nodes["w"] = (
            Node("Scale", scale=_rng(draw).uniform(-1, 2, n))
            if kind == "Scale"
            else _dense(draw, n, n, kind, bias=False)
        )
        if draw(st.booleans()):  # a bias stops the delay
            nodes["b"] = _dense(draw, n, n, "Affine")
        return Rewrite(_chain(nodes, [n]))
    shape = [draw(st.integers(1, 2)), draw(st.integers(2, 3)), draw(st.integers(2, 3))]
    nodes = {"input": Node("Input", shape=shape), "d": _uniform_delay(draw, shape)}
    kind = draw(st.sampled_from(["conv", "SumPool2d", "AvgPool2d"]))
    if kind == "conv":
        nodes["c"], shape = _conv(draw, shape[0], shape[1:], bias=False)
    else:
        nodes["p"] = Node(kind, kernel_size=[2, 2], stride=[1, 1], padding=[0, 0])
        shape = [shape[0], shape[1] - 1, shape[2] - 1]
    nodes["flat"] = Node("Flatten", start_dim=0, end_dim=-1)
    nodes["w"] = _dense(draw, 2, int(np.prod(shape)))
    return Rewrite(_chain(nodes, [2]))


def _delays(draw, n, low=0, high=3) -> np.ndarray:
    return _rng(draw).integers(low, high + 1, n) * DT


@st.composite
def _merge_delays(draw):
    n = draw(st.integers(1, 4))
    nodes = {"input": Node("Input", shape=[n])}
    for k in range(draw(st.integers(2, 3))):
        nodes[f"d{k}"] = Node("Delay", delay=_delays(draw, n))
    nodes["w"] = _dense(draw, n, n)
    return Rewrite(_chain(nodes, [n]))


@st.composite
def _split_delays(draw):
    n, limit = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    delay = _delays(draw, n, 0, 8)
    delay[draw(st.integers(0, n - 1))] = draw(st.integers(limit + 1, 8)) * DT
    nodes = {"input": Node("Input", shape=[n]), "d": Node("Delay", delay=delay)}
    nodes["w"] = _dense(draw, n, n)
    return Rewrite(_chain(nodes, [n]), options={"max_delay_steps": limit})


@st.composite
def _relay_delays(draw):
    n_in, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    nodes = {
        "input": Node("Input", shape=[n_in]),
        "w1": _dense(draw, n, n_in),
        "a": driven(draw, draw(st.sampled_from(["IF", "LIF", "CubaLIF"])), n),
        "d": _uniform_delay(draw, n),
        "w2": _dense(draw, n, n),
        "b": driven(draw, "LI", n),
    }
    return Rewrite(_chain(nodes, [n]), Semantics.profile("lava"))


@st.composite
def _delays_to_steps(draw):
    n = draw(st.integers(1, 4))
    off = _rng(draw).uniform(-1e-7, 1e-7, n)  # within the simulator's tolerance of the grid
    delay = (_rng(draw).integers(1, 4, n) + off) * DT
    nodes = {"input": Node("Input", shape=[n]), "d": Node("Delay", delay=delay)}
    nodes["w"] = _dense(draw, n, n)
    return Rewrite(_chain(nodes, [n]))


REWRITES = {
    "avgpool-to-sumpool": _avgpool_to_sumpool,
    "cuba-to-lif": _cuba_to_lif,
    "delays-to-steps": _delays_to_steps,
    "flatten-subgraphs": _flatten_subgraphs,
    "fold-flatten": _fold_flatten,
    "fold-scale": _fold_scale,
    "fold-w-in": _fold_w_in,
    "fuse-linear": _fuse_linear,
    "lif-to-cuba": _lif_to_cuba,
    "merge-delays": _merge_delays,
    "move-delays": _move_delays,
    "normalize-threshold": _normalize_threshold,
    "relay-delays": _relay_delays,
    "remove-dead": _remove_dead,
    "remove-identity": _remove_identity,
    "split-delays": _split_delays,
}


def rewritable(name: str) -> st.SearchStrategy[Rewrite]:
    """Graphs in which the pass ``name`` finds something to rewrite."""
    return REWRITES[name]()
