"""snnx under the ``norse-nir`` profile against Norse 1.1.0's own NIR import
(``norse.torch.from_nir``), step by step, on the same graphs and spikes.

Norse imports with dt = 1e-3 unless told otherwise: half the graphs use that default (the importer
called without ``dt``), half dt = 1e-4. LIF and IF ignore ``r`` and ``v_reset`` (drawn at random
here, so the profile's overrides are exercised); LIF honours ``v_leak`` and starts at it. CubaLIF
honours ``r`` and ``w_in`` but lets its current leak towards ``v_leak`` too, so the matched graphs
keep CubaLIF's ``v_leak = 0`` and `test_cuba_current_leaks_to_v_leak` pins the rest down.
Norse's executor returns the last node in its depth-first order, not what feeds the Output, so the
Output node's value is read from its cache.
"""

from __future__ import annotations

import numpy as np
import pytest
from peerkit import (
    activity,
    compare,
    paper_graph,
    quiet,
    random_graph,
    run_snnx,
    spikes,
    tie_graph,
)
from peerkit import step_by_step as _steps

from snnx.ir import Graph, Node


def fields_at(dt: float):
    def fields(kind: str, n: int, rng: np.random.Generator) -> dict:
        common = dict(v_threshold=rng.uniform(0.3, 1.2, n), v_reset=rng.uniform(-0.5, 0.5, n))
        if kind == "LIF":
            return dict(
                tau=rng.uniform(2, 10, n) * dt,
                r=rng.uniform(0.5, 3.0, n),
                v_leak=rng.uniform(-0.3, 0.3, n),
                **common,
            )
        if kind == "IF":
            return dict(r=rng.uniform(0.5, 3.0, n), **common)
        tau_syn, tau_mem = rng.uniform(2, 10, n) * dt, rng.uniform(2, 20, n) * dt
        return dict(
            tau_syn=tau_syn,
            tau_mem=tau_mem,
            r=rng.uniform(0.5, 2.0, n) * tau_mem / dt,
            w_in=rng.uniform(0.5, 2.0, n) * tau_syn / dt,
            v_leak=np.zeros(n),
            **common,
        )

    return fields


def norse(graph: Graph, x: np.ndarray, dt: float | None = None) -> np.ndarray:
    """Norse's import of ``graph`` run on ``x``; ``dt=None`` keeps the importer's default."""
    import norse.torch

    with quiet():
        kwargs = {} if dt is None else {"dt": dt}
        net = norse.torch.from_nir(graph.to_nir(), **kwargs)
        return _steps(net, x, pick=lambda out, state: state.cache["output"])


CASES = [
    (seed, ("ff", "rec", "self", "long")[seed % 4], (1e-3, 1e-4)[seed // 4 % 2])
    for seed in range(20)
]


@pytest.mark.parametrize(("seed", "topology", "dt"), CASES)
def test_random_graphs_match(seed, topology, dt):
    g = random_graph(
        seed, fields_at(dt), kinds=("LIF", "CubaLIF", "IF"), topology=topology, scale=2.0
    )
    x = spikes(seed, 40, 2, g["input"].shape)
    ours = run_snnx(g, x, "norse-nir", dt=dt)
    assert activity(ours) > 0
    assert compare(ours, norse(g, x, None if dt == 1e-3 else dt)) == ""


def test_braille(nir_paper):
    g = paper_graph(nir_paper, "braille_noDelay_bias_zero.nir")
    x = spikes(0, 256, 3, [12], p=0.1)
    ours = run_snnx(g, x, "norse-nir", dt=1e-4)
    assert activity(ours) > 0.05
    assert compare(ours, norse(g, x, 1e-4)) == ""


def test_cnn_sinabs_at_batch_1(nir_paper):
    """IF ignores dt and r in Norse (v += x); its Flatten also folds the batch, so only B = 1
    runs, and the output loses its batch axis."""
    g = paper_graph(nir_paper, "cnn_sinabs.nir")
    x = spikes(1, 40, 1, [2, 34, 34], p=0.3)
    ours = run_snnx(g, x, "norse-nir")
    assert ours.sum() > 10
    assert compare(ours, norse(g, x)) == ""


def test_threshold_tie_does_not_fire():
    """IF adds its input as is and fires on ``v > threshold``: landing exactly on it is no spike."""
    g = tie_graph(Node("IF", r=[3.0], v_threshold=[0.5]))
    x = np.ones((8, 1, 1), np.float32)
    ours = run_snnx(g, x, "norse-nir")
    assert ours.reshape(-1).tolist() == [0, 0, 1, 0, 0, 1, 0, 0]
    assert compare(ours, norse(g, x)) == ""


def test_cuba_current_leaks_to_v_leak():
    """Norse's CubaLIF relaxes its current towards v_leak as well, and starts both current and
    voltage at v_leak: ``i += dt/tau_syn (v_leak - i + w_in x)``, ``v += dt/tau_mem (v_leak - v +
    r i)``. Without input, NIR keeps v at v_leak = 0.2 (snnx: no spike); Norse drives v towards
    ``v_leak (1 + r) = 0.4`` and fires above 0.3, at the steps this model gives."""
    dt, tau_syn, tau_mem, r, v_leak, threshold = 1e-3, 4e-3, 5e-3, 1.0, 0.2, 0.3
    g = Graph.sequential(
        {
            "input": Node("Input", shape=[1]),
            "fc": Node("Linear", weight=np.ones((1, 1))),
            "cuba": Node(
                "CubaLIF",
                tau_syn=[tau_syn],
                tau_mem=[tau_mem],
                r=[r],
                v_leak=[v_leak],
                v_threshold=[threshold],
                w_in=[1.0],
            ),
            "output": Node("Output", shape=[1]),
        }
    )
    x = np.zeros((30, 1, 1), np.float32)
    i = v = v_leak
    model = []
    for _ in range(len(x)):
        i += dt / tau_syn * (v_leak - i)
        v += dt / tau_mem * (v_leak - v + r * i)
        model.append(float(v > threshold))
        v = 0.0 if v > threshold else v
    theirs = norse(g, x, dt).reshape(-1)
    assert run_snnx(g, x, "norse-nir", dt=dt).sum() == 0
    assert theirs.tolist() == model and sum(model) > 0


def test_unmapped_node_is_dropped_silently():
    """An LI has no Norse mapping: the import drops it without a word and its successor becomes a
    second input node. Which of the two inputs Norse feeds depends on set order (the process's
    hash seed): either execution stops after the Affine before the LI, whose output it returns,
    or the network input is fed to the Affine after the LI and the shapes clash."""
    import norse.torch
    import torch

    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(4, 3)).astype(np.float32), np.zeros(4, np.float32)
    g = Graph.sequential(
        {
            "input": Node("Input", shape=[3]),
            "fc1": Node("Affine", weight=weight, bias=bias),
            "li": Node("LI", tau=np.full(4, 5e-3), r=np.ones(4), v_leak=np.zeros(4)),
            "fc2": Node("Linear", weight=np.ones((2, 4))),
            "output": Node("Output", shape=[2]),
        }
    )
    x = spikes(0, 1, 2, [3])[0]
    with quiet():
        net = norse.torch.from_nir(g.to_nir())
        assert "li" not in dict(net.named_modules())
        try:
            out, state = net(torch.from_numpy(x), None)
        except RuntimeError as error:
            assert "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)" in str(error)
            return
    assert sorted(state.cache) == ["fc1", "input"]
    np.testing.assert_allclose(out.detach().numpy(), x @ weight.T + bias, rtol=1e-6)
