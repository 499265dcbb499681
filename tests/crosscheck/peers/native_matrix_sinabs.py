"""Sinabs 3.1 in the native conformance matrix (`native_matrix`): ``Linear -> layer -> Linear ->
LIF`` (the same spike function, reset and floor) with random weights and per-neuron time constants, ``layer`` a LIF, IAF or LIFRecurrent
with the spike function, reset, ``norm_input``, ``tau_syn`` and ``min_v_mem`` varied, run by
Sinabs (whole sequences, ``(batch, time, ...)``) against ``--profile sinabs`` on
``sinabs.to_nir``'s file and on `snnx convert`'s."""

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
#: (layer, knobs) of each row; knobs are Sinabs keyword arguments, written as in Python
MODELS = (
    ("LIF", ""),
    ("LIF", "spike_fn=SingleSpike"),
    ("LIF", "reset_fn=MembraneReset()"),
    ("LIF", "norm_input=False"),
    ("LIF", "tau_syn"),
    ("LIF", "min_v_mem=-threshold"),
    ("IAF", ""),
    ("IAF", "spike_fn=SingleSpike, reset_fn=MembraneReset()"),
    ("IAF", "min_v_mem=-threshold"),
    ("LIFRecurrent", ""),
    ("LIFRecurrent", "spike_fn=SingleSpike, reset_fn=MembraneReset()"),
)


def sinabs_model(layer: str, knobs: str, seed: int) -> torch.nn.Module:
    """``Linear -> layer -> Linear -> LIF``, random weights and per-neuron parameters."""
    import sinabs.layers as sl
    from sinabs.activation import MembraneReset, SingleSpike

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    def t(low: float, high: float, n: int) -> torch.Tensor:
        return torch.tensor(rng.uniform(low, high, n), dtype=torch.float32)

    def options(n: int) -> dict[str, Any]:
        """Per-neuron thresholds (the exporter needs every field in one shape)."""
        threshold = t(0.4, 0.6, n)
        chosen: dict[str, Any] = {"spike_threshold": threshold}
        if "SingleSpike" in knobs:
            chosen["spike_fn"] = SingleSpike
        if "MembraneReset" in knobs:
            chosen["reset_fn"] = MembraneReset()
        if "min_v_mem" in knobs:
            chosen["min_v_mem"] = -threshold
        return chosen

    norm_input = "norm_input=False" not in knobs
    leaky = dict(tau_mem=t(3, 15, N_HID), norm_input=norm_input)
    if knobs == "tau_syn":
        leaky["tau_syn"] = t(2, 6, N_HID)
    if layer == "LIF":
        hidden = sl.LIF(**leaky, **options(N_HID))
    elif layer == "IAF":
        hidden = sl.IAF(**options(N_HID))
    else:
        rec = torch.nn.Linear(N_HID, N_HID, bias=False)
        hidden = sl.LIFRecurrent(rec_connect=rec, **leaky, **options(N_HID))
    first, second = torch.nn.Linear(N_IN, N_HID), torch.nn.Linear(N_HID, N_OUT)
    with torch.no_grad():
        first.weight.mul_(1.5 if not norm_input else 6.0 if layer == "IAF" else 4.0)
        second.weight.mul_(6.0 if norm_input else 1.5)
    out = sl.LIF(tau_mem=t(3, 15, N_OUT), norm_input=norm_input, **options(N_OUT))
    return torch.nn.Sequential(first, hidden, second, out)


def run_sinabs(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """The model run by Sinabs on the whole sequence (``(batch, time, ...)``), states fresh."""
    for m in net.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()
    with torch.no_grad():
        out = net(torch.from_numpy(np.ascontiguousarray(x.swapaxes(0, 1))))
    for m in net.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()
    return out.numpy().swapaxes(0, 1)


def exported_file(net: torch.nn.Module, folder: Path) -> snnx.Graph:
    """``sinabs.to_nir``, written by nir and read back by snnx."""
    import sinabs

    graph = sinabs.to_nir(net, torch.zeros(1, 1, N_IN))
    path = folder / "model.nir"
    nir.write(path, graph)
    return snnx.read(path)


def sinabs_row(layer: str, knobs: str, seed: int) -> dict:
    """One model: its native run against both exporters."""
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float32)
    net, want = firing(
        lambda s: sinabs_model(layer, knobs, s), lambda net: run_sinabs(net, x), seed
    )
    row: dict[str, Any] = {"framework": "sinabs", "layer": layer, "knobs": knobs}
    row["active"] = float((want > 0).mean())
    fix: dict[str, Any] = {}
    if "SingleSpike" in knobs:
        fix["max_spikes"] = 1
    # nir 1.0.8 writes v_reset=0, which reads as a reset to it; MembraneSubtract is the default
    fix["reset"] = "zero" if "MembraneReset" in knobs else "subtract"
    if "min_v_mem" in knobs:
        fix["v_min"] = "-threshold"
    if "norm_input=False" in knobs:
        fix["LIF.r"] = "tau/dt"  # gain 1 under exp-decay
    elif "tau_syn" not in knobs:
        fix["integrator"] = "exact"  # w = a v + (1 - a) r x: norm_input's gain with r = 1
    with tempfile.TemporaryDirectory() as folder:
        row["exporter"] = exporter_cell(
            lambda: exported_file(net, Path(folder)), x, want, "sinabs", fix
        )
    row["snnx-convert"] = convert_cell(net, (N_IN,), x, want, "sinabs")
    return row


@functools.cache
def rows() -> list[dict]:
    """Every Sinabs model."""
    return [sinabs_row(layer, knobs, seed=53 + i) for i, (layer, knobs) in enumerate(MODELS)]
