"""The native conformance matrix for Rockpool 3.1's Torch modules: ``Sequential(LinearTorch,
LIFTorch, LinearTorch, LIFTorch)`` with random weights, per-neuron time constants, thresholds and
biases (feed-forward and ``has_rec=True``), run by Rockpool itself, against `snnx simulate
--profile rockpool` on the file Rockpool's own exporter writes (``rockpool.nn.modules.torch.nir.
to_nir``, written by nir and read back from disk: ``exporter``) and on the graph
`snnx.from_rockpool` converts (``snnx-convert``). The Jax and numpy modules, which Rockpool cannot
export, are in the xylo tier (``tests/crosscheck/xylo/native_matrix_rockpool.py``).

Cells as in ``native_matrix.py``: ``exact``, ``refused`` or ``lost`` (snnx warned at import,
naming the knobs; ``with_set`` is what the ``--set`` the warnings suggest gives); ``differs``
(no warning) is what the test forbids. Rows have the keys of ``docs/guide/native-matrix.json``
plus ``dt`` and ``knobs`` (as the tables show them); ``active`` is the fraction of output slots
(step, sample, neuron) with a spike.

``python native_matrix_rockpool_torch.py OUT.json`` (peers environment) writes the rows.
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
from snnx.errors import ConversionError, SnnxWarning
from snnx.provenance import resolve
from snnx.sim import simulate

T, B, N_IN, N_HID, N_OUT = 60, 4, 6, 10, 4

#: (recurrent, dt, bias scale)
MODELS = [(False, 1e-3, 0.05), (True, 1e-3, 0.05), (False, 1e-3, 0.0), (False, 1e-4, 0.05)]


def rockpool_model(recurrent: bool, dt: float, bias: float, seed: int) -> Any:
    """Linear -> LIFTorch -> Linear -> LIFTorch, time constants of 2 to 10 steps (membrane) and
    1 to 5 (current)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch

    rng = np.random.default_rng(seed)

    def tensor(value: Any) -> torch.Tensor:
        return torch.tensor(value, dtype=torch.float32)

    def lif(n: int, rec: bool) -> Any:
        return LIFTorch(
            n,
            tau_mem=tensor(rng.uniform(2, 10, n) * dt),
            tau_syn=tensor(rng.uniform(1, 5, n) * dt),
            bias=tensor(rng.normal(0, 1, n) * bias),
            threshold=tensor(rng.uniform(0.5, 1.5, n)),
            has_rec=rec,
            w_rec=tensor(rng.normal(0, 0.15, (n, n))) if rec else None,
            dt=dt,
        )

    return Sequential(
        LinearTorch((N_IN, N_HID), weight=tensor(rng.normal(0, 0.35, (N_IN, N_HID)))),
        lif(N_HID, recurrent),
        LinearTorch((N_HID, N_OUT), weight=tensor(rng.normal(0, 0.4, (N_HID, N_OUT)))),
        lif(N_OUT, False),
    )


def run_rockpool(model: Any, x: np.ndarray) -> np.ndarray:
    """The model run by Rockpool (batch-major in and out; time-major returned)."""
    with torch.no_grad():
        out, _, _ = model(torch.from_numpy(np.swapaxes(x, 0, 1).copy()))
    return np.swapaxes(out.numpy().astype(np.float64), 0, 1)


def run_snnx(graph: snnx.Graph, x: np.ndarray, sets: dict) -> tuple[np.ndarray, list[str]]:
    """``snnx simulate --profile rockpool`` (the same resolution): output and warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        semantics = resolve(graph, "rockpool", sets).semantics
    out = simulate(graph, x, semantics).outputs
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    return np.asarray(next(iter(out.values()))), notes


def suggested_sets(notes: list[str]) -> dict[str, Any]:
    """The ``--set KNOB=VALUE`` settings the warnings suggest (one value each)."""
    found: dict[str, Any] = {}
    for note in notes:
        for part in note.split("--set ")[1:]:
            key, _, value = part.split()[0].rstrip(",;)").partition("=")
            if value and "|" not in value:
                found[key] = float(value) if key == "dt" else value
    return found


def cell(got: np.ndarray, want: np.ndarray, notes: list, retry: Any = None) -> dict:
    """Classify one run (see the module docstring)."""
    differ = int(np.sum(got.reshape(want.shape) != want))
    entry: dict[str, Any] = {"spikes": int(want.sum()), "differ": differ}
    if differ == 0:
        entry["status"] = "exact"
    elif notes:
        entry.update(status="lost", reason=" | ".join(notes))
        if retry is not None:
            entry["with_set"] = retry()
    else:
        entry["status"] = "differs"
    return entry


def rockpool_row(recurrent: bool, dt: float, bias: float, seed: int) -> dict:
    """One model: its native run against both paths."""
    from rockpool.nn.modules.torch.nir import to_nir

    model = rockpool_model(recurrent, dt, bias, seed)
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float32)
    row: dict[str, Any] = {
        "framework": "rockpool",
        "layer": "LIFTorch" + (" has_rec" if recurrent else ""),
        "reset": "subtract",
        "reset_delay": False,
        "dt": dt,
        "knobs": f"dt={dt:g}" + ("" if bias else ", bias=0"),
    }
    want = run_rockpool(model, x)
    row["active"] = float(np.mean(want > 0))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.nir"
        nir.write(path, to_nir(model))
        graph = snnx.read(path)
    got, notes = run_snnx(graph, x, {})
    advice = suggested_sets(notes)

    def retry() -> dict:
        out, _ = run_snnx(graph, x, advice)
        sets = " ".join(f"--set {k}={v}" for k, v in advice.items())
        return {"sets": sets, "differ": int(np.sum(out.reshape(want.shape) != want))}

    row["exporter"] = cell(got, want, notes, retry if advice else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        try:
            converted = snnx.from_rockpool(model)
        except ConversionError as err:
            row["snnx-convert"] = {"status": "refused", "reason": str(err)}
            return row
    more = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    got, notes = run_snnx(converted, x, {})
    row["snnx-convert"] = cell(got, want, more + notes)
    return row


@functools.cache
def rockpool_torch_rows() -> list[dict]:
    """Every cell (`MODELS`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Rockpool's notes on missing backends
        return [rockpool_row(*args, seed=71 + i) for i, args in enumerate(MODELS)]


def main(path: str) -> None:
    """Write the rows as JSON to ``path``."""
    rows = rockpool_torch_rows()
    Path(path).write_text(json.dumps(rows, indent=2) + "\n")
    for row in rows:
        print(row["layer"], row["dt"], row["active"], row["exporter"], row["snnx-convert"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "native-matrix-rockpool-torch.json")
