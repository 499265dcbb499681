"""The experiment description a BrainScaleS-2 runtime needs, as JSON (``experiment.json``).

The format is documented in ``SCHEMA.md`` next to this file (format ``snnx-bss2-experiment``,
version 1): populations with their neuron circuits and hardware parameters (microseconds of
hardware time, CADC LSB), projections with 6-bit weights per sign, their scale and rows, the input
timing, the semantics and the lowering notes. `read` turns a file back into the `Network` it
describes, so a file alone reproduces the simulation.

>>> import snnx, tempfile, os
>>> from snnx.targets.bss2.target import BrainScaleS2
>>> lowered = BrainScaleS2().lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("nir-reference"))
>>> path = write(lowered, os.path.join(tempfile.mkdtemp(), "experiment.json"))
>>> read(path).size
45
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from snnx.atomic import atomic_path
from snnx.errors import SnnxError
from snnx.targets.base import Lowered
from snnx.targets.bss2.network import Network
from snnx.targets.bss2.program import Program
from snnx.targets.bss2.quantize import from_rows
from snnx.targets.bss2.spec import CADC_LOW, LIMITS

FORMAT = "snnx-bss2-experiment"
VERSION = 1
_NEURON_KEYS = (
    "tau_mem_us",
    "tau_syn_us",
    "leak_cadc",
    "reset_cadc",
    "threshold_cadc",
    "refractory_us",
    "v_low",
    "volts_per_cadc",
    "drive_cadc",
    "start_cadc",
)


def describe(lowered: Lowered) -> dict[str, Any]:
    """The JSON document (a dict of plain values) for ``lowered``."""
    program: Program = lowered.program
    speedup = program.speedup
    semantics = lowered.semantics
    start = program.network.v_start  # as simulated: on the rounded leak or reset when quantized
    populations = []
    for pop in program.populations:
        hw = pop.hardware
        vpc = hw["volts_per_cadc"]
        entry: dict[str, Any] = {
            "name": pop.name,
            "node": pop.node,
            "size": pop.size,
            "neurons": list(pop.neurons),
            "output": pop.output,
            "tau_mem_us": hw["tau_mem_us"],
            "tau_syn_us": hw["tau_syn_us"],
            "leak_cadc": hw["leak_cadc"],
            "reset_cadc": hw["reset_cadc"],
            "threshold_cadc": hw["threshold_cadc"],
            "refractory_us": hw["refractory_us"],
            "v_low": hw["v_low"],
            "volts_per_cadc": vpc,
            "drive_cadc": hw["drive"] / vpc,
            "start_cadc": CADC_LOW + (start[pop.start : pop.start + pop.size] - hw["v_low"]) / vpc,
        }
        if program.quantized:  # whole LSB
            for key in ("leak_cadc", "reset_cadc", "threshold_cadc"):
                entry[key] = np.asarray(entry[key]).astype(np.int64)
        populations.append({k: _plain(v) for k, v in entry.items()})
    projections = []
    for proj in program.projections:
        entry = {
            "name": proj.name,
            "node": proj.node,
            "source": proj.source,
            "target": proj.target,
            "shape": list(proj.weight.shape),
            "quantized": proj.q is not None,
        }
        if proj.q is not None and proj.scale is not None:  # quantized weights have a scale
            entry.update(
                scale=proj.scale,
                lsb_volts=1.0 / proj.scale,
                excitatory=np.maximum(proj.q, 0).tolist(),
                inhibitory=np.maximum(-proj.q, 0).tolist(),
                saturated=proj.clipped,
            )
        else:
            entry["weight"] = proj.weight.tolist()
        entry["rows"] = {k: list(v) for k, v in proj.rows.items()}
        entry["input_offset_us"] = (
            None if proj.input_offset is None else proj.input_offset * 1e6 / speedup
        )
        projections.append(entry)
    return {
        "format": FORMAT,
        "version": VERSION,
        "chip": {
            "name": "BrainScaleS-2",
            "neurons": LIMITS.neurons,
            "rows_per_neuron": LIMITS.rows_per_neuron,
            "weight_bits": LIMITS.weight_bits,
        },
        "time": {
            "speedup": speedup,
            "dt_s": program.dt,
            "dt_us": program.dt * 1e6 / speedup,
            "convention": program.convention,
            "spike_amplitude": semantics.spike_amplitude,
        },
        "input": {"node": program.input_node, "channels": program.input_size},
        "populations": populations,
        "projections": projections,
        "semantics": semantics.to_metadata(),
        "notes": list(lowered.notes),
    }


def write(lowered: Lowered, path: str | os.PathLike) -> Path:
    """Write ``experiment.json`` atomically; return its path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(dumps(describe(lowered)) + "\n")
    return path


def dumps(value: Any, depth: int = 0) -> str:
    """JSON with one line per list of numbers (weight matrices one row per line).

    >>> print(dumps({"a": [1, 2], "w": [[1, 0], [0, 1]]}))
    {
     "a": [1, 2],
     "w": [
      [1, 0],
      [0, 1]
     ]
    }
    """
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and not all(_scalar(v) for v in value):
        items = [f"{inner}{dumps(v, depth + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def read(path: str | os.PathLike) -> Network:
    """The `Network` an experiment file describes (model seconds and volts)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise SnnxError(f"cannot read an experiment description: {err}", file=path) from None
    return network_of(doc, path)


def network_of(doc: dict[str, Any], path: str | os.PathLike | None = None) -> Network:
    """The `Network` a parsed experiment document describes."""

    def need(mapping: dict, key: str, where: str) -> Any:
        if not isinstance(mapping, dict) or key not in mapping:
            raise SnnxError(f"missing {key!r}", file=path, field=f"{where}/{key}".lstrip("/"))
        return mapping[key]

    if need(doc, "format", "") != FORMAT or need(doc, "version", "") != VERSION:
        raise SnnxError(
            f"not a {FORMAT} version {VERSION} document (format {doc.get('format')!r}, "
            f"version {doc.get('version')!r})",
            file=path,
        )
    time = need(doc, "time", "")
    speedup, dt = float(need(time, "speedup", "time")), float(need(time, "dt_s", "time"))
    channels = int(need(need(doc, "input", ""), "channels", "input"))
    pops = need(doc, "populations", "")
    values: dict[str, list[np.ndarray]] = {k: [] for k in _NEURON_KEYS}
    index, start = {}, 0
    for k, pop in enumerate(pops):
        where = f"populations/{k}"
        size = int(need(pop, "size", where))
        first, stop = need(pop, "neurons", where)
        if stop - first != size:
            raise SnnxError(f"neurons {first}-{stop} do not hold {size}", file=path, field=where)
        for key in _NEURON_KEYS:
            arr = np.asarray(need(pop, key, where), dtype=np.float64).reshape(-1)
            if arr.size != size:
                raise SnnxError(
                    f"has {arr.size} values for {size} neurons", file=path, field=f"{where}/{key}"
                )
            values[key].append(arr)
        index[need(pop, "name", where)] = (start, size)
        start += size
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in values.items()}

    def potential(key: str) -> np.ndarray:
        return cat["v_low"] + (cat[key] - CADC_LOW) * cat["volts_per_cadc"]

    w_input, w_internal = np.zeros((start, channels)), np.zeros((start, start))
    offset = np.zeros(start)
    for k, proj in enumerate(need(doc, "projections", "")):
        where = f"projections/{k}"
        target, source = need(proj, "target", where), need(proj, "source", where)
        if target not in index:
            raise SnnxError(f"unknown target {target!r}", file=path, field=f"{where}/target")
        if need(proj, "quantized", where):
            try:
                weights = from_rows(
                    need(proj, "excitatory", where),
                    need(proj, "inhibitory", where),
                    float(need(proj, "scale", where)),
                ).dequantized
            except ValueError as err:
                raise SnnxError(str(err), file=path, field=where) from None
        else:
            weights = np.asarray(need(proj, "weight", where), dtype=np.float64)
        t0, tn = index[target]
        rows = slice(t0, t0 + tn)
        if source in index:
            s0, sn = index[source]
            w_internal[rows, s0 : s0 + sn] += weights
        else:
            w_input[rows] += weights
            if proj.get("input_offset_us") is not None:
                offset[rows] = float(proj["input_offset_us"]) * speedup / 1e6
    return Network(
        tau_mem=cat["tau_mem_us"] * speedup / 1e6,
        tau_syn=cat["tau_syn_us"] * speedup / 1e6,
        v_leak=potential("leak_cadc"),
        v_threshold=potential("threshold_cadc"),
        v_reset=potential("reset_cadc"),
        drive=cat["drive_cadc"] * cat["volts_per_cadc"],
        v_start=potential("start_cadc"),
        w_input=w_input,
        w_internal=w_internal,
        input_offset=offset,
        dt=dt,
        populations=tuple((name, s, n) for name, (s, n) in index.items()),
        refractory=cat["refractory_us"] * speedup / 1e6,
    )


def _plain(value: Any) -> Any:
    """Arrays as lists of Python numbers."""
    return np.asarray(value).tolist()
