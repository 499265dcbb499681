"""The native conformance matrix for Spyx 1.0: models written natively in Spyx (``spyx.nn``
neurons between ``nnx.Linear`` layers, random weights, per-neuron decays and thresholds; feed-
forward and recurrent), run by Spyx itself (``spyx.nn.run``), against `snnx simulate --profile
spyx` on the NIR file Spyx's own exporter writes (``spyx.nir.to_nir``, written by nir and read
back from disk: ``exporter``) and on the graph `snnx.from_spyx` converts (``snnx-convert``).

Each cell is ``exact`` (every spike equal), ``refused`` (with its reason) or ``lost`` (the
exporter does not record what changes the behaviour; snnx warned at import, naming the knob, and
the cell records what the ``--set`` the warning suggests gives). A run that differs without a
warning is ``differs``, which the test forbids. Rows have the keys of
``docs/guide/native-matrix.json`` (``reset``: Spyx's rule for the layer; ``reset_delay``: whether
its subtraction lands a step after the crossing) plus ``dt``, the time step given to the exporter,
and ``knobs`` (both, as the tables show them); ``active`` is the fraction of output slots
(step, sample, neuron) that spiked.

``python native_matrix_spyx.py OUT.json`` (jax-peers environment) writes the rows.
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

import snnx
from snnx.errors import ConversionError, SnnxWarning
from snnx.provenance import resolve
from snnx.sim import simulate

T, B, N_IN, N_HID, N_OUT = 60, 4, 6, 10, 4

#: layer -> (Spyx's reset for it, whether the subtraction lands a step after the crossing)
RESETS = {
    "LIF": ("subtract", True),
    "CuBaLIF": ("subtract", False),
    "IF": ("subtract", True),
    "PSU_LIF": ("none", False),
    "RLIF": ("subtract", True),
    "RCuBaLIF": ("subtract", False),
    "RIF": ("subtract", True),
}
#: (layer, dt given to the exporter); Spyx's own step has no dt, its exporter writes tau = dt/(1-beta)
MODELS = [(layer, 1.0) for layer in RESETS] + [("LIF", 1e-3), ("RCuBaLIF", 1e-3)]


def spyx_model(layer: str, seed: int) -> Any:
    """Linear -> ``layer`` -> Linear -> LIF, random weights, per-neuron decays and thresholds."""
    import jax.numpy as jnp
    import spyx.nn as snn
    from flax import nnx

    rng = np.random.default_rng(seed)
    rngs = nnx.Rngs(seed)

    def neuron(kind: str, n: int) -> Any:
        threshold = jnp.asarray(rng.uniform(0.5, 1.5, n), jnp.float32)
        cls = getattr(snn, kind)
        module = cls((n,), threshold=threshold, rngs=rngs)
        for name in ("alpha", "beta"):
            if hasattr(module, name):
                low, high = (0.4, 0.9) if name == "alpha" else (0.6, 0.95)
                getattr(module, name)[...] = jnp.asarray(rng.uniform(low, high, n), jnp.float32)
        if hasattr(module, "recurrent_w"):
            scale = rng.normal(0, 0.5, (n, n)).astype(np.float32)
            module.recurrent_w[...] = jnp.asarray(scale)
        return module

    def linear(n_in: int, n_out: int) -> Any:
        lin = nnx.Linear(n_in, n_out, rngs=rngs)
        lin.kernel[...] = jnp.asarray(
            rng.normal(0, 2.0 / np.sqrt(n_in), (n_in, n_out)), jnp.float32
        )
        lin.bias[...] = jnp.asarray(rng.normal(0, 0.1, n_out), jnp.float32)
        return lin

    return snn.Sequential(
        linear(N_IN, N_HID), neuron(layer, N_HID), linear(N_HID, N_OUT), neuron("LIF", N_OUT)
    )


def run_spyx(model: Any, x: np.ndarray) -> np.ndarray:
    """The model run by Spyx (``spyx.nn.run``, time-major, state from zero)."""
    import jax.numpy as jnp
    import spyx.nn as snn

    out, _ = snn.run(model, jnp.asarray(x))
    return np.asarray(out)


def run_snnx(graph: snnx.Graph, x: np.ndarray, sets: dict) -> tuple[np.ndarray, list[str]]:
    """``snnx simulate --profile spyx`` (the same resolution): output and warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        semantics = resolve(graph, "spyx", sets).semantics
    out = simulate(graph, x, semantics).outputs
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    return np.asarray(next(iter(out.values()))), notes


def exported_file(model: Any, dt: float, folder: Path) -> snnx.Graph:
    """Spyx's ``to_nir`` written by nir and read back by snnx (as a user would)."""
    import spyx.nir

    graph = spyx.nir.to_nir(model, {"input": np.array([N_IN])}, {"output": np.array([N_OUT])}, dt)
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


def spyx_row(layer: str, dt: float, seed: int) -> dict:
    """One model: its native run against both paths."""
    model = spyx_model(layer, seed)
    x = (np.random.default_rng(seed).random((T, B, N_IN)) < 0.4).astype(np.float32)
    reset, delay = RESETS[layer]
    row: dict[str, Any] = {
        "framework": "spyx",
        "layer": layer,
        "reset": reset,
        "reset_delay": delay,
        "dt": dt,
        "knobs": f"reset={reset} ({'next step' if delay else 'same step'}), to_nir dt={dt:g}",
    }
    want = run_spyx(model, x)
    row["active"] = float(np.mean(want > 0))
    with tempfile.TemporaryDirectory() as folder:
        try:
            graph = exported_file(model, dt, Path(folder))
        except Exception as err:  # the exporter's own failure, recorded as it is
            row["exporter"] = {"status": "refused", "reason": f"spyx.nir.to_nir: {err}"}
        else:
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
            graph = snnx.from_spyx(model, (N_IN,), (N_OUT,), dt=dt)
        except ConversionError as err:
            row["snnx-convert"] = {"status": "refused", "reason": str(err)}
            return row
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    got, more = run_snnx(graph, x, {})
    row["snnx-convert"] = cell(got, want, notes + more)
    return row


def suggested_sets(notes: list[str]) -> dict[str, Any]:
    """The ``--set KNOB=VALUE`` settings the warnings suggest (``--set a=b`` in their text)."""
    found: dict[str, Any] = {}
    for note in notes:
        for part in note.split("--set ")[1:]:
            key, _, value = part.split()[0].rstrip(",;)").partition("=")
            if "|" not in value and value:
                found[key] = float(value) if key == "dt" else value
    return found


@functools.cache
def spyx_rows() -> list[dict]:
    """Every Spyx cell: the layers of `RESETS` at dt = 1, and two at dt = 1e-3."""
    return [spyx_row(layer, dt, seed=31 + i) for i, (layer, dt) in enumerate(MODELS)]


def main(path: str) -> None:
    """Write the rows as JSON to ``path``."""
    rows = spyx_rows()
    Path(path).write_text(json.dumps(rows, indent=2) + "\n")
    for row in rows:
        print(row["layer"], row["dt"], row["exporter"], row["snnx-convert"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "native-matrix-spyx.json")
