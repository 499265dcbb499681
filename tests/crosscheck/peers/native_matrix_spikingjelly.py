"""SpikingJelly 2.0 in the native conformance matrix (`native_matrix`): ``Linear -> layer ->
Linear -> layer`` (the same neuron twice) with random weights, ``layer`` an IFNode, LIFNode,
ParametricLIFNode or CUBALIFNode with hard (``v_reset``) and soft (``v_reset=None``) resets and
``decay_input`` varied, run step by step by SpikingJelly (``step_mode="s"``) against
``--profile spikingjelly`` on ``export_to_nir``'s file and on `snnx convert`'s."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import nir
import numpy as np
import torch
from native_matrix import convert_cell, exporter_cell, firing

import snnx

T, B, N_IN, N_HID, N_OUT = 40, 3, 6, 10, 5
#: (layer, knobs) of each row
MODELS = (
    ("IFNode", "v_reset=0"),
    ("IFNode", "v_reset=-0.2"),
    ("IFNode", "v_reset=None"),
    ("LIFNode", "v_reset=0"),
    ("LIFNode", "v_reset=None"),
    ("LIFNode", "v_reset=0, decay_input=False"),
    ("LIFNode", "v_reset=None, decay_input=False"),
    ("ParametricLIFNode", "v_reset=0"),
    ("ParametricLIFNode", "v_reset=None"),
    ("CUBALIFNode", "v_reset=0"),
    ("CUBALIFNode", "v_reset=None"),
)


def spikingjelly_model(layer: str, knobs: str, seed: int) -> torch.nn.Module:
    """``Linear -> layer -> Linear -> layer``, random weights."""
    from spikingjelly.activation_based import neuron

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    reset = None if "v_reset=None" in knobs else float(knobs.split(",")[0].split("=")[1])
    decay_input = "decay_input=False" not in knobs

    def node() -> torch.nn.Module:
        threshold = float(rng.uniform(0.6, 1.0))
        if layer == "IFNode":
            return neuron.IFNode(v_threshold=threshold, v_reset=reset)
        if layer == "LIFNode":
            tau = float(rng.uniform(1.5, 5.0))
            return neuron.LIFNode(
                tau=tau, decay_input=decay_input, v_threshold=threshold, v_reset=reset
            )
        if layer == "ParametricLIFNode":
            tau = float(rng.uniform(1.5, 5.0))
            return neuron.ParametricLIFNode(init_tau=tau, v_threshold=threshold, v_reset=reset)
        decays = dict(c_decay=float(rng.uniform(0.3, 0.7)), v_decay=float(rng.uniform(0.5, 0.9)))
        return neuron.CUBALIFNode(**decays, v_threshold=threshold, v_reset=reset)

    first, second = torch.nn.Linear(N_IN, N_HID), torch.nn.Linear(N_HID, N_OUT)
    gain = 5.0 if decay_input and layer in ("LIFNode", "ParametricLIFNode") else 1.5
    with torch.no_grad():
        first.weight.mul_(gain)
        second.weight.mul_(gain)
    return torch.nn.Sequential(first, node(), second, node())


def run_spikingjelly(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """The model run step by step by SpikingJelly, states reset first."""
    from spikingjelly.activation_based import functional

    functional.reset_net(net)
    with torch.no_grad():
        out = np.stack([net(torch.from_numpy(step)).numpy() for step in x])
    functional.reset_net(net)
    return out


def exported_file(net: torch.nn.Module, folder: Path) -> snnx.Graph:
    """SpikingJelly's ``export_to_nir`` (its default dt = 1e-4), read back by snnx."""
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    graph = export_to_nir(net, torch.zeros(1, N_IN))
    path = folder / "model.nir"
    nir.write(path, graph)
    return snnx.read(path)


def spikingjelly_row(layer: str, knobs: str, seed: int) -> dict:
    """One model: its native run against both exporters."""
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float32)
    net, want = firing(
        lambda s: spikingjelly_model(layer, knobs, s), lambda net: run_spikingjelly(net, x), seed
    )
    row: dict[str, Any] = {"framework": "spikingjelly", "layer": layer, "knobs": knobs}
    row["active"] = float(want.mean())
    fix = {"reset": "subtract"} if "None" in knobs else None
    with tempfile.TemporaryDirectory() as folder:
        row["exporter"] = exporter_cell(
            lambda: exported_file(net, Path(folder)), x, want, "spikingjelly", fix
        )
    row["snnx-convert"] = convert_cell(net, (N_IN,), x, want, "spikingjelly")
    return row


@functools.cache
def rows() -> list[dict]:
    """Every SpikingJelly model."""
    return [spikingjelly_row(layer, knobs, seed=71 + i) for i, (layer, knobs) in enumerate(MODELS)]
