"""Runs of identical blocks (`snnx.sim.runs`) give what stepping each node does: against the
per-node path (runs switched off) on chains with random parameters, and against an independent
numpy computation of a LIF chain (exact integration, reset to zero, NIR's equations)."""

from __future__ import annotations

import numpy as np
import pytest

import snnx
from snnx.ir import Graph, Node
from snnx.sim import runs, simulator


def _chain(rng: np.random.Generator, blocks: list[str], width: int = 3) -> Graph:
    nodes: dict[str, Node] = {"in": Node("Input", shape=[width])}

    def lif(kind: str) -> Node:
        fields = dict(
            tau=rng.uniform(5e-5, 2e-4, width),
            r=rng.uniform(1.0, 3.0, width),
            v_leak=rng.normal(0.0, 0.1, width),
            v_threshold=rng.uniform(0.2, 0.8, width),
        )
        if kind == "CubaLIF":
            fields = dict(
                tau_mem=fields["tau"],
                tau_syn=rng.uniform(5e-5, 2e-4, width),
                r=fields["r"],
                v_leak=fields["v_leak"],
                v_threshold=fields["v_threshold"],
                w_in=rng.uniform(3.0, 6.0, width),
            )
        return Node(kind, **fields)

    for i, kind in enumerate(blocks):
        if kind == "Linear":
            nodes[f"n{i}"] = Node("Linear", weight=rng.uniform(-0.5, 2.0, (width, width)))
        elif kind == "Affine":
            nodes[f"n{i}"] = Node(
                "Affine",
                weight=rng.uniform(-0.5, 2.0, (width, width)),
                bias=rng.uniform(0.5, 1.5, width),
            )
        else:
            nodes[f"n{i}"] = lif(kind)
    nodes["out"] = Node("Output", shape=[width])
    return Graph.sequential(nodes)


def _run(graph: Graph, x: np.ndarray, monkeypatch: pytest.MonkeyPatch, stacked: bool, **kw):
    monkeypatch.setattr(simulator, "_COMPILED", {})  # no program shared between the two paths
    monkeypatch.setattr(runs, "LONGEST_BLOCK", runs.LONGEST_BLOCK if stacked else 0)
    sim = snnx.Simulator(graph, "nir-reference", **kw)
    segments = sim.forward_program.plan.segments
    found = [
        p
        for s in segments
        if s.kind == "scan"
        for p in runs.find_runs(sim.forward_program, s, set())
        if isinstance(p, runs.Run)
    ]
    return sim(x).arrays(), found


@pytest.mark.parametrize(
    "blocks",
    [
        ["Linear", "LIF"] * 6,
        ["Affine", "CubaLIF", "Linear", "LIF"] * 3 + ["Linear"],
        ["LIF"] * 7,
    ],
)
def test_runs_equal_the_per_node_path(blocks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(len(blocks))
    graph = _chain(rng, blocks)
    x = (rng.random((40, 2, 3)) < 0.6).astype(np.float32) * 2.0
    record = [f"n{max(i for i, kind in enumerate(blocks) if 'LIF' in kind)}"]
    stacked, found = _run(graph, x, monkeypatch, True, record=record)
    plain, none = _run(graph, x, monkeypatch, False, record=record)
    assert found and not none  # the two paths differ
    assert stacked.keys() == plain.keys()
    spikes = 0
    for key in plain:
        if plain[key].dtype == bool:
            np.testing.assert_array_equal(stacked[key], plain[key], err_msg=key)
            spikes += int(plain[key].sum())
        else:
            np.testing.assert_allclose(stacked[key], plain[key], rtol=1e-6, atol=1e-6, err_msg=key)
    assert spikes > 0  # the chain is not silent


def _numpy_lif_chain(graph: Graph, x: np.ndarray, dt: float) -> np.ndarray:
    """NIR's LIF ``tau dv/dt = (v_leak - v) + r I`` integrated exactly over each step (input held),
    a spike where ``v > v_threshold``, then ``v = 0`` (NIR's v_reset's default); float64."""
    names = [n for n in graph if graph[n].type not in ("Input", "Output")]
    v = {n: np.zeros(x.shape[1:]) for n in names}
    out = []
    for t in range(x.shape[0]):
        value = x[t].astype(np.float64)
        for n in names:
            node = graph[n]
            if node.type == "Linear":
                value = value @ np.asarray(node.weight).T
                continue
            decay = np.exp(-dt / node.tau)
            target = node.v_leak + node.r * value
            v[n] = target + (v[n] - target) * decay
            value = (v[n] > node.v_threshold).astype(np.float64)
            v[n] = np.where(value > 0, 0.0, v[n])
        out.append(value)
    return np.stack(out)


def test_runs_equal_an_independent_lif_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    graph = _chain(rng, ["Linear", "LIF"] * 8)
    x = (rng.random((50, 3, 3)) < 0.6).astype(np.float32) * 2.0
    stacked, found = _run(graph, x, monkeypatch, True)
    assert found
    expected = _numpy_lif_chain(graph, x, snnx.semantics.PROFILES["nir-reference"].dt)
    assert expected.sum() > 0
    np.testing.assert_array_equal(stacked["out"].astype(np.float64), expected)
