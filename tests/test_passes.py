"""Compiler passes: each exact pass, on random graphs drawn for it (`strategies.rewritable`: graphs
it does rewrite), fires and keeps the reference simulation identical (float64, spikes exact,
other values within 1e-9), and changes nothing when applied again; on random graphs of every
node type, every exact pass leaves a valid graph; each rewrite is also checked against an
independent computation (torch's convolution, composed matrices, hand-derived values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from strategies import REWRITES, graphs, rewritable

import snnx
from snnx.errors import SnnxError
from snnx.ir import Graph, Node
from snnx.passes import PASSES, EquivalenceError, optimize
from snnx.passes.base import register
from snnx.passes.delays import chip_latency

EULER = snnx.Semantics(dt=1e-4)
EXACT_PASSES = sorted(
    name for name, p in PASSES.items() if p.exact and not name.startswith("test-")
)
# each example simulates twice: no shrinking
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


def test_every_exact_pass_has_a_graph_strategy():
    assert sorted(REWRITES) == EXACT_PASSES


@pytest.mark.parametrize("name", EXACT_PASSES)
def test_each_pass_rewrites_its_graphs_and_keeps_the_simulation(name):
    """The pass changes every graph drawn for it (it fired), the simulations before and after
    agree (`optimize`'s equivalence check raises otherwise), and a second run changes nothing."""

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        phases=NO_SHRINK,
    )
    @given(rewritable(name))
    def check(case):
        kwargs = dict(semantics=case.semantics, options=case.options)
        once, records = optimize(
            case.graph, [name], check_equivalence=True, steps=30, batch=2, **kwargs
        )
        assert records[0].changes, f"{name} did not fire: {records[0].skipped}"
        assert records[0].equivalence is not None
        _, again = optimize(once, [name], **kwargs)
        assert again[0].changes == [], again[0].changes

    check()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_SHRINK
)
@given(graphs(), st.sampled_from(EXACT_PASSES))
def test_exact_passes_on_random_graphs_leave_valid_equivalent_graphs(graph, name):
    """Graphs of every node type (most of which a given pass leaves alone): the pass leaves a
    valid graph, equivalent where it changed something, and is idempotent."""
    options = {"max_delay_steps": 1}
    once, _ = optimize(
        graph, [name], semantics=EULER, check_equivalence=True, options=options, steps=12, batch=2
    )
    twice, again = optimize(once, [name], semantics=EULER, options=options)
    assert again[0].changes == [], (name, again[0].changes)
    assert twice == once


def chain(*nodes: tuple[str, Node], shape) -> Graph:
    return Graph.sequential(
        {"in": Node("Input", shape=list(shape)), **dict(nodes), "out": Node("Output", shape=[2])}
    )


def lif(n=2, **changes):
    fields = dict(
        tau=np.full(n, 1e-3), r=np.full(n, 10.0), v_leak=np.zeros(n), v_threshold=np.full(n, 0.8)
    )
    return Node("LIF", {**fields, **changes})


def test_fuse_linear_composes_the_matrices():
    rng = np.random.default_rng(0)
    w1, w2, b2 = rng.normal(size=(3, 4)), rng.normal(size=(2, 3)), rng.normal(size=2)
    s = np.array([2.0, -1.0, 0.5])
    graph = chain(
        ("a", Node("Linear", weight=w1)),
        ("s", Node("Scale", scale=s)),
        ("b", Node("Affine", weight=w2, bias=b2)),
        ("n", lif()),
        shape=[4],
    )
    fused, records = optimize(graph, ["fuse-linear"], semantics=EULER, check_equivalence=True)
    assert sorted(fused.nodes) == ["a", "in", "n", "out"]
    np.testing.assert_allclose(fused["a"].weight, w2 @ np.diag(s) @ w1)
    np.testing.assert_allclose(fused["a"].bias, b2)
    assert len(records[0].changes) == 2


def test_fuse_linear_leaves_branches_and_growth_alone():
    rng = np.random.default_rng(1)
    branch = Graph(
        {
            "in": Node("Input", shape=[2]),
            "a": Node("Linear", weight=rng.normal(size=(2, 2))),
            "b": Node("Linear", weight=rng.normal(size=(2, 2))),
            "c": Node("Linear", weight=rng.normal(size=(2, 2))),
            "out": Node("Output", shape=[2]),
        },
        [("in", "a"), ("a", "b"), ("a", "c"), ("b", "out"), ("c", "out")],
    )
    assert optimize(branch, ["fuse-linear"])[1][0].changes == []
    bottleneck = chain(
        ("a", Node("Linear", weight=np.ones((1, 50)))),
        ("b", Node("Linear", weight=np.ones((50, 1)))),
        shape=[50],
    )
    bottleneck.replace_node("out", Node("Output", shape=[50]))
    assert optimize(bottleneck, ["fuse-linear"])[1][0].changes == []  # 2,500 weights from 100


def test_fold_scale_into_grouped_conv_matches_torch():
    rng = np.random.default_rng(2)
    weight = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    s_in = np.array([1.0, 2.0, -1.0, 0.5]).reshape(4, 1, 1)
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[4, 6, 6]),
            "s": Node("Scale", scale=np.broadcast_to(s_in, (4, 6, 6)).copy()),
            "c": Node(
                "Conv2d",
                weight=weight,
                stride=1,
                padding=1,
                dilation=1,
                groups=2,
                bias=np.zeros(4, np.float32),
            ),
            "out": Node("Output", shape=[4, 6, 6]),
        }
    )
    folded, _ = optimize(graph, ["fold-scale"])
    assert sorted(folded.nodes) == ["in", "out", "s"] and folded["s"].type == "Conv2d"
    x = torch.from_numpy(rng.normal(size=(1, 4, 6, 6)).astype(np.float32))
    expected = torch.nn.functional.conv2d(
        x * torch.from_numpy(s_in.astype(np.float32)), torch.from_numpy(weight), padding=1, groups=2
    )
    got = torch.nn.functional.conv2d(x, torch.from_numpy(folded["s"].weight), padding=1, groups=2)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_avgpool_becomes_sumpool_through_flatten():
    rng = np.random.default_rng(3)
    dense = rng.normal(size=(2, 8)).astype(np.float32)
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[2, 4, 4]),
            "p": Node("AvgPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]),
            "f": Node("Flatten", start_dim=0, end_dim=-1),
            "d": Node("Affine", weight=dense, bias=np.ones(2, np.float32)),
            "n": lif(),
            "out": Node("Output", shape=[2]),
        }
    )
    rewritten, _ = optimize(graph, ["avgpool-to-sumpool"], semantics=EULER, check_equivalence=True)
    assert rewritten["p"].type == "SumPool2d"
    np.testing.assert_allclose(rewritten["d"].weight, dense / 4)
    np.testing.assert_array_equal(rewritten["d"].bias, np.ones(2))


def test_threshold_normalisation_and_cuba_forms_are_exact():
    graph = chain(
        ("w", Node("Affine", weight=[[2.0, -1.0], [0.5, 3.0]], bias=[0.1, 0.0])),
        ("n", lif(v_reset=np.full(2, 0.2))),
        shape=[2],
    )
    normal, _ = optimize(
        graph,
        ["normalize-threshold"],
        semantics=EULER.replace(reset="subtract"),
        check_equivalence=True,
    )
    np.testing.assert_allclose(normal["n"].v_threshold, [1.0, 1.0])
    np.testing.assert_allclose(normal["n"].r, [12.5, 12.5])
    cuba, _ = optimize(graph, ["lif-to-cuba"], semantics=EULER, check_equivalence=True)
    assert cuba["n"].type == "CubaLIF" and np.allclose(cuba["n"].tau_syn, 1e-4)
    back, _ = optimize(cuba, ["cuba-to-lif"], semantics=EULER, check_equivalence=True)
    assert back == graph
    exact, records = optimize(graph, ["lif-to-cuba"], semantics=EULER.replace(integrator="exact"))
    assert exact == graph and records[0].changes == [] and "kept LIF" in records[0].skipped[0]


def test_fold_w_in_into_its_synapse():
    cuba = Node(
        "CubaLIF",
        tau_syn=np.full(2, 2e-4),
        tau_mem=np.full(2, 1e-3),
        r=np.full(2, 10.0),
        v_leak=np.zeros(2),
        v_threshold=np.ones(2),
        w_in=np.array([2.0, 3.0]),
    )
    graph = chain(("w", Node("Affine", weight=np.eye(2), bias=np.ones(2))), ("n", cuba), shape=[2])
    folded, _ = optimize(graph, ["fold-w-in"], semantics=EULER, check_equivalence=True)
    np.testing.assert_allclose(folded["w"].weight, np.diag([2.0, 3.0]))
    np.testing.assert_allclose(folded["w"].bias, [2.0, 3.0])
    assert "w_in" not in folded["n"].fields
    spyx = snnx.Semantics.profile("spyx", dt=1e-4)  # ignores w_in: folding would change its meaning
    assert optimize(graph, ["fold-w-in"], semantics=spyx)[0] == graph


def delayed(steps_per_element, bias=0.0):
    return Graph.sequential(
        {
            "in": Node("Input", shape=[2]),
            "d": Node("Delay", delay=np.asarray(steps_per_element, float) * 1e-4),
            "w": Node("Affine", weight=[[1.0, 2.0], [0.5, -1.0]], bias=[bias, bias]),
            "n": lif(),
            "out": Node("Output", shape=[2]),
        }
    )


def test_delays_move_past_bias_free_synapses_only():
    moved, _ = optimize(delayed([3, 3]), ["move-delays"], semantics=EULER, check_equivalence=True)
    assert sorted(moved.edges) == [("d", "n"), ("in", "w"), ("n", "out"), ("w", "d")]
    assert optimize(delayed([3, 3], bias=0.5), ["move-delays"], semantics=EULER)[1][0].changes == []
    assert optimize(delayed([3, 1]), ["move-delays"], semantics=EULER)[1][0].changes == []


def test_split_and_merge_delays():
    split, _ = optimize(
        delayed([7, 2]),
        ["split-delays"],
        semantics=EULER,
        options={"max_delay_steps": 3},
        check_equivalence=True,
    )
    pieces = [np.round(split[n].delay / 1e-4).tolist() for n in ["d", "d.1", "d.2"]]
    assert pieces == [[3, 2], [3, 0], [1, 0]]
    merged, _ = optimize(split, ["merge-delays"], semantics=EULER, check_equivalence=True)
    np.testing.assert_allclose(merged["d"].delay / 1e-4, [7, 2])
    with pytest.raises(SnnxError, match=r"node 'd': field 'delay': delay 0.00015 s is 1.5 steps"):
        optimize(delayed([1.5, 1]), ["delays-to-steps"], semantics=EULER)


def test_relay_delays_where_every_layer_adds_a_step():
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[2]),
            "w": Node("Linear", weight=np.eye(2) * 2),
            "a": Node("IF", r=np.full(2, 1e4), v_threshold=np.ones(2)),
            "d": Node("Delay", delay=np.full(2, 2e-4)),
            "v": Node("Linear", weight=np.eye(2)),
            "b": Node("IF", r=np.full(2, 1e4), v_threshold=np.full(2, 0.5)),
            "out": Node("Output", shape=[2]),
        }
    )
    lava = snnx.Semantics.profile("lava")
    relayed, records = optimize(
        graph, ["relay-delays"], semantics=lava, check_equivalence=True, steps=30
    )
    assert "d" not in relayed and relayed.of_type("IF") == ["a", "b", "d.relay0", "d.relay1"]
    assert records[0].equivalence["out"]["spike_agreement"] == 1.0
    assert optimize(graph, ["relay-delays"], semantics=EULER)[0] == graph


def test_chip_latency_finds_early_skip_paths():
    graph = Graph(
        {
            "in": Node("Input", shape=[2]),
            "w1": Node("Linear", weight=np.eye(2)),
            "a": lif(),
            "w2": Node("Linear", weight=np.eye(2)),
            "skip": Node("Linear", weight=np.eye(2)),
            "b": lif(),
            "out": Node("Output", shape=[2]),
        },
        [
            ("in", "w1"),
            ("w1", "a"),
            ("a", "w2"),
            ("w2", "b"),
            ("in", "skip"),
            ("skip", "b"),
            ("b", "out"),
        ],
    )
    latency, early = chip_latency(graph, lambda node: 1 if node.type == "Linear" else 0)
    assert latency["b"] == 2 and early == {("skip", "b"): 1}


def test_a_pass_that_changes_the_meaning_is_caught():
    @register("test-break-weights")
    def breaking(graph, ctx):
        graph = graph.copy()
        graph.replace_node("w", graph["w"].replace(weight=np.asarray(graph["w"].weight) * 3))
        ctx.note("tripled", "w")
        return graph

    try:
        with pytest.raises(EquivalenceError, match="pass test-break-weights changed output 'out'"):
            optimize(
                delayed([0, 0]),
                ["test-break-weights"],
                semantics=EULER,
                check_equivalence=True,
                steps=30,
            )
    finally:
        PASSES.pop("test-break-weights")


def test_levels_and_unknown_names(nir_paper):
    cnn = snnx.read(nir_paper / "cnn_sinabs.nir")
    assert optimize(cnn, level="O0")[0] == cnn
    with pytest.raises(SnnxError, match="unknown passes \\['fold-everything'\\]"):
        optimize(cnn, ["fold-everything"])
    with pytest.raises(SnnxError, match="unknown level 'O3'"):
        optimize(cnn, level="O3")


def test_o2_folds_a_nested_network():
    rng = np.random.default_rng(4)
    inner = Graph.sequential(
        {
            "i": Node("Input", shape=[2, 4, 4]),
            "pool": Node("AvgPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]),
            "flat": Node("Flatten", start_dim=0, end_dim=-1),
            "one": Node("Scale", scale=np.ones(8)),
            "dense": Node("Linear", weight=rng.normal(size=(4, 8))),
            "o": Node("Output", shape=[4]),
        }
    )
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[2, 4, 4]),
            "sub": inner,
            "gain": Node("Scale", scale=np.full(4, 2.0)),
            "head": Node("Affine", weight=rng.normal(size=(2, 4)), bias=np.zeros(2)),
            "n": lif(),
            "out": Node("Output", shape=[2]),
        }
    )
    optimized, records = optimize(graph, level="O2", semantics=EULER, check_equivalence=True)
    assert sorted(optimized.nodes) == ["in", "n", "out", "sub.dense", "sub.flat", "sub.pool"]
    assert optimized["sub.pool"].type == "SumPool2d" and optimized["sub.dense"].type == "Affine"
    assert sum(1 for r in records for _ in r.changes) >= 4
