"""Lynxi adaptation (`snnx.adaptation.lynxi`): the adapter's differentiable forward pass is the
float16 numerics (two snnx paths; the numerics are checked bit for bit against the TorchScript
module in test_target_lynxi_torch.py), and `snnx compile --target lynxi --adapt` writes a module
that ``torch.jit.load`` runs and whose output classes agree with the float reference."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import snnx
from snnx import dynamics
from snnx.adaptation import adapter_for, random_spikes
from snnx.adaptation.loop import chip_semantics
from snnx.cli import main
from snnx.sim import Simulator
from snnx.targets import get_target

SUBTRACT = snnx.Semantics.profile("nir-reference", reset="subtract")
BRAILLE = "braille_noDelay_bias_zero.nir"

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")


def test_forward_is_the_float16_numerics_after_a_perturbation(nir_paper):
    graph = snnx.read(nir_paper / BRAILLE)
    lowered, _ = chip_semantics(graph, get_target("lynxi"), SUBTRACT)
    adapter = adapter_for("lynxi")
    params = adapter.init(lowered)
    keys = iter(jax.random.split(jax.random.PRNGKey(0), 64))
    params = jax.tree_util.tree_map(
        lambda v: v * (1 + 0.05 * jax.random.normal(next(keys), jnp.shape(v))), params
    )
    changed = adapter.apply(lowered, params)
    assert not np.array_equal(
        changed.program.nodes["fc1"].tensors["weight"],
        lowered.program.nodes["fc1"].tensors["weight"],
    )
    x = random_spikes((12,), 80, 6, 0.2, 3)
    mine = adapter.forward(lowered, params, jnp.asarray(adapter.feed(lowered, x)))
    exact = get_target("lynxi").run(changed, x)
    for layer in lowered.layers:
        counts = exact[layer.name] / dynamics.amplitude(lowered.semantics)
        assert np.array_equal(np.asarray(mine[layer.name]), counts), layer.name
        assert counts.sum() > 10
    grads = jax.grad(
        lambda p: sum(v.sum() for v in adapter.forward(lowered, p, jnp.asarray(x)).values())
    )(params)
    leaves = jax.tree_util.tree_leaves(grads)
    assert all(bool(jnp.isfinite(g).all()) for g in leaves)
    assert any(float(jnp.abs(g).max()) > 0 for g in leaves)


def test_compile_adapt_writes_a_module_that_torch_runs(nir_paper, tmp_path, capsys):
    path = nir_paper / BRAILLE
    argv = ["compile", str(path), "--target", "lynxi", "-o", str(tmp_path), "--adapt"]
    argv += ["--adapt-steps", "20", "--samples", "32", "--steps", "64", "--rate", "0.2"]
    assert main(argv) == 0
    assert "adaptation on held-out inputs (32 samples)" in capsys.readouterr().out
    report = json.loads((tmp_path / "adaptation.json").read_text())
    assert "class agreement" in report["after"]
    module = torch.jit.load(str(tmp_path / "model.pt"))
    steps = json.loads((tmp_path / "network.json").read_text())["steps"]
    x = random_spikes((12,), steps, 12, 0.2, 7)
    with torch.no_grad():
        out = np.stack(
            [
                module(torch.from_numpy(x[:, b]).to(torch.float16)).float().numpy()
                for b in range(12)
            ],
            axis=1,
        )
    assert np.all(np.isfinite(out))
    graph = snnx.read(path)
    outputs, _ = Simulator(graph, SUBTRACT).forward(x)
    reference = outputs[next(iter(outputs))] if isinstance(outputs, dict) else outputs
    ref = np.asarray(reference, np.float32).reshape(steps, 12, -1).sum(0)
    assert ref.sum() > 0
    agree = np.mean(out.sum(0).argmax(-1) == ref.argmax(-1))
    assert agree >= 0.75
