"""Norse 1.1 in the native conformance matrix (`native_matrix`): ``Linear -> layer -> Linear ->
LIFCell`` with random weights and per-neuron time constants and thresholds, ``layer`` one of
LIFCell (v_leak = v_reset = 0, and both drawn at random), LIFBoxCell (reset to v_reset, and by
subtraction), IAFCell and LIFRecurrentCell, run by Norse (``SequentialState``, dt = 1e-3) against
``--profile norse`` on ``norse.torch.to_nir``'s file and on `snnx convert`'s."""

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
DT = 1e-3
#: (layer, knobs) of each row
MODELS = (
    ("LIFCell", "v_leak=0, v_reset=0"),
    ("LIFCell", "v_leak, v_reset random"),
    ("LIFBoxCell", "reset_method=reset_value"),
    ("LIFBoxCell", "reset_method=reset_subtract"),
    ("IAFCell", ""),
    ("LIFRecurrentCell", ""),
)


def norse_model(layer: str, knobs: str, seed: int) -> torch.nn.Module:
    """``Linear -> layer -> Linear -> LIFCell``, random weights and per-neuron parameters."""
    import norse.torch as norse
    from norse.torch.functional.reset import reset_subtract, reset_value

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    def t(low: float, high: float, n: int) -> torch.Tensor:
        return torch.tensor(rng.uniform(low, high, n), dtype=torch.float32)

    def lif(n: int, random_levels: bool, vectors: bool = True) -> norse.LIFParameters:
        """Per-neuron levels as vectors (the exporter needs every field in one shape);
        LIFRecurrentCell's initial state needs a scalar v_leak."""
        span = 1.0 if random_levels else 0.0
        levels = dict(v_leak=t(-0.2 * span, 0.2 * span, n), v_reset=t(-0.3 * span, 0.3 * span, n))
        return norse.LIFParameters(
            tau_syn_inv=t(100, 400, n),
            tau_mem_inv=t(50, 200, n),
            v_th=t(0.1, 0.3, n),
            **(levels if vectors else {}),
        )

    if layer == "LIFCell":
        hidden = norse.LIFCell(lif(N_HID, "random" in knobs))
    elif layer == "LIFBoxCell":
        method = reset_subtract if "subtract" in knobs else reset_value
        p = norse.LIFBoxParameters(
            tau_mem_inv=t(50, 200, N_HID),
            v_th=t(0.3, 0.8, N_HID),
            v_leak=t(-0.1, 0.1, N_HID),
            v_reset=t(-0.1, 0.1, N_HID),
            reset_method=method,
        )
        hidden = norse.LIFBoxCell(p)
    elif layer == "IAFCell":
        hidden = norse.IAFCell(
            norse.IAFParameters(v_th=t(1.0, 2.0, N_HID), v_reset=t(-0.2, 0.2, N_HID))
        )
    else:
        hidden = norse.LIFRecurrentCell(N_HID, N_HID, lif(N_HID, False, vectors=False))
    first = torch.nn.Linear(N_IN, N_HID)
    net = norse.SequentialState(
        first, hidden, torch.nn.Linear(N_HID, N_OUT), norse.LIFCell(lif(N_OUT, False))
    )
    with torch.no_grad():
        first.weight.mul_(2.0)
    return net


def run_norse(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """The model run step by step by Norse, its state carried from step to step."""
    state = None
    outs = []
    with torch.no_grad():
        for step in x:
            out, state = net(torch.from_numpy(step), state)
            outs.append(out.numpy())
    return np.stack(outs)


def exported_file(net: torch.nn.Module, folder: Path) -> snnx.Graph:
    """``norse.torch.to_nir`` (its default dt = 1e-3), written by nir and read back by snnx."""
    import norse.torch as norse

    graph = norse.to_nir(net, torch.zeros(1, N_IN), dt=DT)
    path = folder / "model.nir"
    nir.write(path, graph)
    return snnx.read(path)


def norse_row(layer: str, knobs: str, seed: int) -> dict:
    """One model: its native run against both exporters."""
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float32)
    net, want = firing(lambda s: norse_model(layer, knobs, s), lambda net: run_norse(net, x), seed)
    row: dict[str, Any] = {"framework": "norse", "layer": layer, "knobs": knobs}
    row["active"] = float(want.mean())
    fix = {"dt": DT * DT, "CubaLIF.w_in": "tau_syn/dt"}
    if layer == "IAFCell":
        fix["IF.r"] = "1/dt"
    if "subtract" in knobs:
        fix["LIF.reset"] = "subtract"
    with tempfile.TemporaryDirectory() as folder:
        row["exporter"] = exporter_cell(
            lambda: exported_file(net, Path(folder)), x, want, "norse", fix
        )
    row["snnx-convert"] = convert_cell(net, (N_IN,), x, want, "norse")
    return row


@functools.cache
def rows() -> list[dict]:
    """Every Norse model."""
    return [norse_row(layer, knobs, seed=31 + i) for i, (layer, knobs) in enumerate(MODELS)]
