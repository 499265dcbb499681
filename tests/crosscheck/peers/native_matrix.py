"""The native conformance matrix: models written natively in a framework (random weights,
feed-forward and recurrent), run by the framework itself, against `snnx simulate --profile
<framework>` on the NIR file its own exporter writes (``exporter``) and on the one `snnx convert`
writes (``snnx-convert``).

Each cell is ``exact`` (every spike equal), ``refused`` (snnx will not convert the model, with
its reason), or ``lost`` (the exporter does not record a knob that changes the model's
behaviour; snnx warned at import, naming the knob, and the cell records whether the run is exact
once the user sets the knob the warning names). A run that differs without a warning would be a
``differs`` cell, which the test forbids.

``python native_matrix.py OUT_DIR`` (in the peers environment) writes ``native_matrix.json`` and
``native_matrix.md``.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import nir
import numpy as np
import torch

import snnx
from snnx import from_torch
from snnx.errors import ConversionError, SnnxWarning
from snnx.provenance import resolve
from snnx.sim import simulate

T, B, N_IN, N_HID, N_OUT = 60, 4, 6, 10, 4
LAYERS = ("Leaky", "Synaptic", "RLeaky", "RSynaptic")
RESETS = ("subtract", "zero", "none")
DELAYS = (True, False)


def snntorch_model(layer: str, reset: str, delay: bool, seed: int) -> torch.nn.Module:
    """Linear -> ``layer`` -> Linear -> Leaky/Synaptic (the same reset), random weights,
    decays and thresholds."""
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
                m.weight.mul_(1.5)
    return net


def run_snntorch(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """The model run step by step as snnTorch runs it (hidden states reset first)."""
    from snntorch import utils

    utils.reset(net)
    with torch.no_grad():
        outs = [net(torch.from_numpy(x[t])) for t in range(len(x))]
    return np.stack([(o[0] if isinstance(o, tuple) else o).numpy() for o in outs])


def run_snnx(graph: snnx.Graph, x: np.ndarray, profile: str, sets: dict) -> tuple[Any, list]:
    """``snnx simulate --profile`` (the same resolution), the output and the warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        semantics = resolve(graph, profile, sets).semantics
    out = simulate(graph, x, semantics).outputs
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    return np.asarray(next(iter(out.values()))), notes


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


def cell(got: np.ndarray, want: np.ndarray, notes: list, retry: Any = None) -> dict:
    """Classify one run (see the module docstring)."""
    got = got.reshape(want.shape)
    differ = int(np.sum(got != want))
    entry: dict[str, Any] = {"spikes": int(want.sum()), "differ": differ}
    if differ == 0:
        entry["status"] = "exact"
    elif notes:
        entry["status"] = "lost"
        entry["reason"] = " | ".join(notes)
        if retry is not None:
            entry["with_set"] = retry()
    else:
        entry["status"] = "differs"
    return entry


def snntorch_row(layer: str, reset: str, delay: bool, seed: int) -> dict:
    """One model: its native run against both exporters."""
    net = snntorch_model(layer, reset, delay, seed)
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float32)
    row: dict[str, Any] = {
        "framework": "snntorch",
        "layer": layer,
        "reset": reset,
        "reset_delay": delay,
    }
    try:
        want = run_snntorch(net, x)
    except Exception as err:  # snnTorch itself cannot run the model: nothing to compare
        failed = {"status": "n/a", "reason": f"snnTorch 1.0 fails to run it: {err!r}"}
        return {**row, "exporter": failed, "snnx-convert": failed}
    row["active"] = float(want.mean())
    with tempfile.TemporaryDirectory() as folder:
        try:
            graph = exported_file(net, Path(folder))
        except Exception as err:  # the exporter's own failure, recorded as it is
            row["exporter"] = {"status": "refused", "reason": f"export_to_nir: {err}"}
        else:
            got, notes = run_snnx(graph, x, "snntorch", {})
            true = {"reset": reset, "reset_timing": "next-step" if delay else "same-step"}

            def retry() -> dict:
                out, _ = run_snnx(graph, x, "snntorch", true)
                sets = " ".join(f"--set {k}={v}" for k, v in true.items())
                return {"sets": sets, "differ": int(np.sum(out.reshape(want.shape) != want))}

            row["exporter"] = cell(got, want, notes, retry)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        try:
            graph = from_torch(net, shape=(N_IN,))
        except ConversionError as err:
            row["snnx-convert"] = {"status": "refused", "reason": str(err)}
            return row
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    got, more = run_snnx(graph, x, "snntorch", {})
    row["snnx-convert"] = cell(got, want, notes + more)
    return row


@functools.cache
def snntorch_rows() -> list[dict]:
    """Every snnTorch cell: layer x reset x reset_delay."""
    return [
        snntorch_row(layer, reset, delay, seed=17 + i)
        for i, (layer, reset, delay) in enumerate(
            (a, b, c) for a in LAYERS for b in RESETS for c in DELAYS
        )
    ]


def markdown(rows: list[dict]) -> str:
    """The matrix as a Markdown table."""
    lines = [
        "| framework | layer | reset | reset_delay | framework's exporter | `snnx convert` |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = []
        for key in ("exporter", "snnx-convert"):
            entry = row[key]
            text = entry["status"]
            if entry["status"] == "lost":
                fixed = entry.get("with_set")
                text += f" ({entry['differ']} spikes differ; warned at import"
                if fixed is not None:
                    verdict = "exact" if fixed["differ"] == 0 else f"{fixed['differ']} differ"
                    text += f"; `{fixed['sets']}`: {verdict}"
                text += ")"
            elif entry["status"] in ("refused", "n/a"):
                text += f": {entry['reason'].splitlines()[0][:160]}"
            cells.append(text.replace("|", "/"))
        lines.append(
            f"| {row['framework']} | {row['layer']} | {row['reset']} | {row['reset_delay']} | "
            f"{cells[0]} | {cells[1]} |"
        )
    return "\n".join(lines) + "\n"


def main(folder: str) -> None:
    """Write ``native_matrix.json`` and ``native_matrix.md`` into ``folder``."""
    rows = snntorch_rows()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "native_matrix.json").write_text(json.dumps(rows, indent=2))
    (out / "native_matrix.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")


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
