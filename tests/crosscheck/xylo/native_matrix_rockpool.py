"""The native conformance matrix for Rockpool 3.1: models written natively in Rockpool
(``Sequential`` of ``LinearJax``/``LIFJax`` or the numpy ``Linear``/``LIF``, random weights,
per-neuron time constants, thresholds and biases; feed-forward and recurrent ``has_rec=True``),
run by Rockpool itself, against `snnx simulate --profile rockpool` on the graph `snnx.from_rockpool`
converts (``snnx-convert``), and on the file Rockpool's own exporter writes (``exporter``).

Rockpool's exporter (``rockpool.nn.modules.torch.nir.to_nir``) maps only its Torch modules
(``LIFTorch``, ``LinearTorch``, ...); it has none for the Jax and numpy modules, and this tier has
no torch: that cell is ``refused`` with the exporter's own error.

Each cell is ``exact`` (every spike count equal), ``refused`` (with its reason) or ``lost``
(snnx warned at import); ``differs`` (no warning) is what the test forbids. Rows have the keys of
``docs/guide/native-matrix.json`` (``reset``: Rockpool's subtraction, applied in the same step,
``reset_delay`` False) plus ``dt``, ``max_spikes_per_dt`` and ``knobs`` (as the tables show them); ``active`` is the
fraction of output slots (step, sample, neuron) with a spike, ``multi_spike_steps`` how many had
more than one.

``python native_matrix_rockpool.py OUT.json`` (xylo environment) writes the rows.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from typing import Any

import numpy as np

import snnx
from snnx.errors import ConversionError, SnnxWarning
from snnx.provenance import resolve
from snnx.sim import simulate

T, B, N_IN, N_HID, N_OUT = 60, 4, 6, 10, 4

#: (layer class, recurrent, dt, max_spikes_per_dt, noise_std, synapses per neuron)
MODELS = [
    ("LIFJax", False, 1e-3, 2.0**16, 0.0, 1),
    ("LIFJax", True, 1e-3, 2.0**16, 0.0, 1),
    ("LIF", False, 1e-3, 2.0**16, 0.0, 1),
    ("LIF", True, 1e-3, 2.0**16, 0.0, 1),
    ("LIFJax", False, 1e-4, 2.0**16, 0.0, 1),
    ("LIFJax", True, 1e-3, 1.0, 0.0, 1),
    ("LIF", True, 1e-3, 2.0, 0.0, 1),
    ("LIFJax", False, 1e-3, 2.0**16, 0.01, 1),
    ("LIFJax", False, 1e-3, 2.0**16, 0.0, 2),
]


def rockpool_model(
    layer: str, recurrent: bool, dt: float, limit: float, noise: float, synapses: int, seed: int
) -> Any:
    """Linear -> ``layer`` -> Linear -> ``layer`` (feed-forward), random parameters whose time
    constants span 2 to 10 steps (membrane) and 1 to 5 (current)."""
    import rockpool.nn.modules as rm
    from rockpool.nn.combinators import Sequential

    rng = np.random.default_rng(seed)
    linear = rm.LinearJax if layer.endswith("Jax") else rm.Linear
    neuron = getattr(rm, layer)

    def lif(n: int, rec: bool, syn: int = 1) -> Any:
        return neuron(
            (n * syn, n),
            tau_mem=rng.uniform(2, 10, n) * dt,
            tau_syn=rng.uniform(1, 5, (n, syn) if syn > 1 else n) * dt,
            bias=rng.normal(0, 0.05, n),
            threshold=rng.uniform(0.5, 1.5, n),
            has_rec=rec,
            w_rec=rng.normal(0, 0.15, (n, n)) if rec else None,
            noise_std=noise,
            max_spikes_per_dt=limit,
            dt=dt,
        )

    return Sequential(
        linear((N_IN, N_HID * synapses), weight=rng.normal(0, 0.35, (N_IN, N_HID * synapses))),
        lif(N_HID, recurrent, synapses),
        linear((N_HID, N_OUT), weight=rng.normal(0, 0.4, (N_HID, N_OUT))),
        lif(N_OUT, False),
    )


def run_rockpool(model: Any, x: np.ndarray) -> np.ndarray:
    """The model run by Rockpool (batch-major ``(B, T, N)`` in and out; time-major returned)."""
    out, _, _ = model(np.swapaxes(x, 0, 1))
    return np.swapaxes(np.asarray(out, np.float64), 0, 1)


def run_snnx(graph: snnx.Graph, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``snnx simulate --profile rockpool`` (the same resolution): output and warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        semantics = resolve(graph, "rockpool", {}).semantics
    out = simulate(graph, x, semantics).outputs
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    return np.asarray(next(iter(out.values()))), notes


def exporter_cell() -> dict:
    """Rockpool's own exporter, as this tier can call it."""
    try:
        from rockpool.nn.modules.torch.nir import to_nir  # noqa: F401
    except Exception as err:
        return {
            "status": "refused",
            "reason": "Rockpool 3.1's to_nir (rockpool.nn.modules.torch.nir) maps only Torch "
            f"modules (LIFTorch, LinearTorch, ExpSynTorch); none for LIFJax/LIF: {err!r}",
        }
    return {
        "status": "refused",
        "reason": "Rockpool 3.1's to_nir maps only Torch modules (LIFTorch, LinearTorch, "
        "ExpSynTorch); none for LIFJax/LIF",
    }


def rockpool_row(model_args: tuple, seed: int) -> dict:
    """One model: its native run against `snnx.from_rockpool` (and the exporter's cell)."""
    layer, recurrent, dt, limit, noise, synapses = model_args
    model = rockpool_model(*model_args, seed=seed)
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float64)
    row: dict[str, Any] = {
        "framework": "rockpool",
        "layer": layer + (" has_rec" if recurrent else ""),
        "reset": "subtract",
        "reset_delay": False,
        "dt": dt,
        "max_spikes_per_dt": limit,
    }
    knobs = [f"dt={dt:g}", f"max_spikes_per_dt={limit:g}"]
    if noise:
        row["noise_std"] = noise
        knobs.append(f"noise_std={noise:g}")
    if synapses > 1:
        row["synapses"] = synapses
        knobs.append(f"{synapses} synapses per neuron")
    row["knobs"] = ", ".join(knobs)
    want = run_rockpool(model, x)
    row["active"] = float(np.mean(want > 0))
    row["multi_spike_steps"] = int(np.sum(want > 1))
    row["exporter"] = exporter_cell()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        try:
            graph = snnx.from_rockpool(model)
        except ConversionError as err:
            row["snnx-convert"] = {"status": "refused", "reason": str(err)}
            return row
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    got, more = run_snnx(graph, x)
    got = got.reshape(want.shape)
    differ = int(np.sum(got != want))
    entry: dict[str, Any] = {"spikes": int(want.sum()), "differ": differ}
    if differ == 0:
        entry["status"] = "exact"
    elif notes + more:
        entry.update(status="lost", reason=" | ".join(notes + more))
    else:
        entry["status"] = "differs"
    row["snnx-convert"] = entry
    return row


@functools.cache
def rockpool_rows() -> list[dict]:
    """Every Rockpool cell (`MODELS`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Rockpool's own notes on missing backends
        return [rockpool_row(args, seed=53 + i) for i, args in enumerate(MODELS)]


def main(path: str) -> None:
    """Write the rows as JSON to ``path``."""
    rows = rockpool_rows()
    with open(path, "w") as out:
        out.write(json.dumps(rows, indent=2) + "\n")
    for row in rows:
        print(row["layer"], row["dt"], row["active"], row["multi_spike_steps"], row["snnx-convert"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "native-matrix-rockpool.json")
