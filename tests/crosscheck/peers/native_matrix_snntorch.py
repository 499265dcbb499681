"""snnTorch 1.0 in the native conformance matrix (`native_matrix`): Leaky, Synaptic, RLeaky,
RSynaptic x reset subtract / zero / none x reset_delay True / False, each
``Linear -> layer -> Linear -> Leaky/Synaptic`` with random weights, per-neuron decays and
thresholds, against ``--profile snntorch`` on ``export_to_nir``'s file and on `snnx convert`'s."""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path
from typing import Any

import nir
import numpy as np
import torch
from native_matrix import MIN_ACTIVE, convert_cell, exporter_cell, firing

import snnx

T, B, N_IN, N_HID, N_OUT = 60, 4, 6, 10, 4
LAYERS = ("Leaky", "Synaptic", "RLeaky", "RSynaptic")
RESETS = ("subtract", "zero", "none")
DELAYS = (True, False)
GAINS = (1.5, 3.0, 6.0, 12.0, 24.0)


def snntorch_model(
    layer: str, reset: str, delay: bool, seed: int, gain: float = 1.5
) -> torch.nn.Module:
    """Linear -> ``layer`` -> Linear -> Leaky/Synaptic (the same reset), random weights
    (scaled by ``gain``), decays and thresholds."""
    import snntorch as snn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    knobs = dict(init_hidden=True, reset_mechanism=reset, reset_delay=delay)

    def neuron(kind: str, n: int) -> torch.nn.Module:
        beta = torch.tensor(rng.uniform(0.6, 0.95, n), dtype=torch.float32)  # one per neuron
        threshold = torch.tensor(rng.uniform(0.5, 1.5, n), dtype=torch.float32)
        if kind == "Leaky":
            return snn.Leaky(beta=beta, threshold=threshold, **knobs)
        if kind == "RLeaky":
            return snn.RLeaky(beta=beta, threshold=threshold, linear_features=n, **knobs)
        alpha = torch.tensor(rng.uniform(0.4, 0.9, n), dtype=torch.float32)
        if kind == "Synaptic":
            return snn.Synaptic(alpha=alpha, beta=beta, threshold=threshold, **knobs)
        return snn.RSynaptic(
            alpha=alpha, beta=beta, threshold=threshold, linear_features=n, **knobs
        )

    last = "Leaky" if "Leaky" in layer else "Synaptic"
    net = torch.nn.Sequential(
        torch.nn.Linear(N_IN, N_HID),
        neuron(layer, N_HID),
        torch.nn.Linear(N_HID, N_OUT),
        neuron(last, N_OUT),
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(gain)
    return net


def run_snntorch(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """The model run step by step as snnTorch runs it (hidden states reset first)."""
    from snntorch import utils

    utils.reset(net)
    with torch.no_grad():
        outs = [net(torch.from_numpy(x[t])) for t in range(len(x))]
    return np.stack([(o[0] if isinstance(o, tuple) else o).numpy() for o in outs])


def exported_file(net: torch.nn.Module, folder: Path) -> snnx.Graph:
    """snnTorch's ``export_to_nir`` written by nir and read back by snnx (as a user would)."""
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    utils.reset(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = export_to_nir(net, torch.zeros(B, N_IN), ignore_dims=[0])
    path = folder / "model.nir"
    nir.write(path, graph)
    return snnx.read(path)


def snntorch_row(layer: str, reset: str, delay: bool, seed: int) -> dict:
    """One model: its native run against both exporters."""
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float32)
    row: dict[str, Any] = {
        "framework": "snntorch",
        "layer": layer,
        "knobs": f"reset_mechanism={reset}, reset_delay={delay}",
        "reset": reset,
        "reset_delay": delay,
    }
    try:
        for gain in GAINS:  # the least that makes the output fire, else another draw
            net, want = firing(
                lambda s, gain=gain: snntorch_model(layer, reset, delay, s, gain),
                lambda net: run_snntorch(net, x),
                seed,
            )
            if want.mean() >= MIN_ACTIVE:
                break
    except Exception as err:  # snnTorch itself cannot run the model: nothing to compare
        failed = {"status": "n/a", "reason": f"snnTorch 1.0 fails to run it: {err!r}"}
        return {**row, "exporter": failed, "snnx-convert": failed}
    row["active"] = float(want.mean())
    fix = {"reset": reset, "reset_timing": "next-step" if delay else "same-step"}
    with tempfile.TemporaryDirectory() as folder:
        row["exporter"] = exporter_cell(
            lambda: exported_file(net, Path(folder)), x, want, "snntorch", fix
        )
    row["snnx-convert"] = convert_cell(net, (N_IN,), x, want, "snntorch")
    return row


@functools.cache
def rows() -> list[dict]:
    """Every snnTorch cell: layer x reset x reset_delay."""
    return [
        snntorch_row(layer, reset, delay, seed=17 + i)
        for i, (layer, reset, delay) in enumerate(
            (a, b, c) for a in LAYERS for b in RESETS for c in DELAYS
        )
    ]


def braille_native(path: str, recurrent_bias: bool, delay: bool = True) -> torch.nn.Module:
    """The NIR paper's Braille graph (fc1 -> recurrent CubaLIF -> fc2 -> CubaLIF) built natively
    in snnTorch (``RSynaptic``/``Synaptic``, ``reset_mechanism="subtract"``): decays
    ``1 - dt/tau`` at dt = 1e-4 (its gains r dt/tau_mem and w_in dt/tau_syn are 1), the file's
    weights; the recurrent bias kept or zeroed."""
    import snntorch as snn

    graph = snnx.read(path)

    def field(node: str, key: str) -> np.ndarray:
        return np.asarray(graph[node].fields[key], np.float64)

    def linear(node: str) -> torch.nn.Linear:
        weight = np.asarray(graph[node].fields["weight"], np.float32)
        layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(weight))
            layer.bias.copy_(torch.from_numpy(np.asarray(graph[node].fields["bias"], np.float32)))
        return layer

    def knobs(node: str) -> dict:
        return dict(
            alpha=torch.tensor(1 - 1e-4 / field(node, "tau_syn"), dtype=torch.float32),
            beta=torch.tensor(1 - 1e-4 / field(node, "tau_mem"), dtype=torch.float32),
            threshold=torch.tensor(field(node, "v_threshold"), dtype=torch.float32),
            init_hidden=True,
            reset_mechanism="subtract",
            reset_delay=delay,
        )

    hidden = len(field("lif1.lif", "tau_mem"))
    recurrent = snn.RSynaptic(linear_features=hidden, **knobs("lif1.lif"))
    rec = linear("lif1.w_rec")
    with torch.no_grad():
        recurrent.recurrent.weight.copy_(rec.weight)
        recurrent.recurrent.bias.copy_(rec.bias if recurrent_bias else torch.zeros(hidden))
    return torch.nn.Sequential(
        linear("fc1"), recurrent, linear("fc2"), snn.Synaptic(**knobs("lif2"))
    )
