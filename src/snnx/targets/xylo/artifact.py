"""The files a Xylo user deploys: Rockpool's hardware specification, as Rockpool takes it.

``snnx compile model.nir --target xylo -o DIR`` writes:

- ``xylo_spec.npz``: exactly the arguments of Rockpool's ``XyloSim.from_specification`` (the
  simulator): ``XyloSim.from_specification(**np.load("xylo_spec.npz"))``;
- ``xylo_config.npz``: exactly the arguments of ``config_from_specification`` (samna's
  configuration for the chip): ``config, ok, msg = config_from_specification(**np.load(...))``;
- ``xylo_spec.json``: the simulator's arguments again, integers as (nested) lists; turn each list
  into ``np.asarray`` before the call (Rockpool reads ``.shape``);
- ``xylo_layout.json``: the chip, where each population of the graph sits (hidden rows or output
  neurons), its latency, the float voltage of one integer unit, and the lowering notes.

The two Rockpool functions disagree on one name: the simulator calls the hidden neurons' biases
``bias``, the configuration ``bias_hidden`` (and swallows an unknown ``bias`` silently, dropping
the biases). So the two files name it each its own way. The IMU configuration has no
``dash_syn_2``; for Xylo IMU the input weights keep only the leading input-expansion neurons and
the readout weights only the trailing output-expansion rows, as its configuration expects. No
``aliases`` are used (empty lists in the JSON, left out of the npz files: ``None`` means none).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from snnx.atomic import atomic_path
from snnx.targets.base import Lowered
from snnx.targets.xylo.program import XyloProgram, describe_program

#: ``XyloSim.from_specification``'s arguments written (``verify_config`` and ``output_mode`` are
#: run-time options, left at their defaults)
SIM_FIELDS = (
    "weights_in",
    "weights_out",
    "weights_rec",
    "dash_mem",
    "dash_mem_out",
    "dash_syn",
    "dash_syn_2",
    "dash_syn_out",
    "threshold",
    "threshold_out",
    "bias",
    "bias_out",
    "weight_shift_in",
    "weight_shift_rec",
    "weight_shift_out",
    "aliases",
    "dt",
)
#: ``config_from_specification``'s arguments (Xylo IMU's has no ``dash_syn_2``)
CONFIG_FIELDS = tuple("bias_hidden" if f == "bias" else f for f in SIM_FIELDS if f != "dt")


def sim_spec(program: XyloProgram) -> dict[str, Any]:
    """Keyword arguments for ``XyloSim.from_specification`` (numpy arrays in the chip's widths).

    >>> from snnx.targets.xylo.spec import IMU
    >>> p = XyloProgram.empty(IMU, n_in=2, n_hidden=3, n_out=1)
    >>> p.weights_in[0, 0, 0] = p.weights_out[2, 0] = 5
    >>> s = sim_spec(p)
    >>> s["weights_in"].shape, s["weights_out"].shape, s["bias"].dtype
    ((2, 1, 1), (1, 1), dtype('int16'))
    """
    p = program
    w_in, w_out = p.weights_in, p.weights_out
    if p.chip.input_projection < p.chip.hidden:  # IMU: only the input-expansion neurons
        w_in = w_in[:, : max(p.input_expansion, 1)]
        w_out = w_out[p.n_hidden - max(p.output_expansion, 1) :]
    i16 = lambda a: np.asarray(a, np.int16)  # noqa: E731
    u8 = lambda a: np.asarray(a, np.uint8)  # noqa: E731
    return {
        "weights_in": np.asarray(w_in, np.int8),
        "weights_out": np.asarray(w_out, np.int8),
        "weights_rec": np.asarray(p.weights_rec, np.int8),
        "dash_mem": u8(p.dash_mem),
        "dash_mem_out": u8(p.dash_mem_out),
        "dash_syn": u8(p.dash_syn),
        "dash_syn_2": u8(p.dash_syn_2),
        "dash_syn_out": u8(p.dash_syn_out),
        "threshold": i16(p.threshold),
        "threshold_out": i16(p.threshold_out),
        "bias": i16(p.bias),
        "bias_out": i16(p.bias_out),
        "weight_shift_in": np.int8(p.weight_shift_in),
        "weight_shift_rec": np.int8(p.weight_shift_rec),
        "weight_shift_out": np.int8(p.weight_shift_out),
        "aliases": [[] for _ in range(p.n_hidden)],
        "dt": float(p.dt),
    }


def config_spec(program: XyloProgram) -> dict[str, Any]:
    """Keyword arguments for ``config_from_specification`` (``bias_hidden``; no ``dt``; no
    ``dash_syn_2`` on Xylo IMU)."""
    spec = sim_spec(program)
    spec["bias_hidden"] = spec.pop("bias")
    del spec["dt"]
    if program.chip.synapses < 2:
        del spec["dash_syn_2"]
    return {k: spec[k] for k in CONFIG_FIELDS if k in spec}


def write(lowered: Lowered, directory: Path) -> list[Path]:
    """Write the four files (see the module docstring); return their paths."""
    program: XyloProgram = lowered.program
    directory = Path(directory)
    sim, config = sim_spec(program), config_spec(program)
    written = []
    for name, spec in (("xylo_spec.npz", sim), ("xylo_config.npz", config)):
        path = directory / name
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{k: v for k, v in spec.items() if k != "aliases"})
        written.append(path)
    plain = {
        k: (v.tolist() if isinstance(v, np.ndarray | np.generic) else v) for k, v in sim.items()
    }
    layout = {
        "target": lowered.target,
        "chip": program.chip.name,
        "rockpool": program.chip.rockpool,
        "dt": program.dt,
        "populations": describe_program(program),
        "notes": list(lowered.notes),
        "load": {
            "simulator": "XyloSim.from_specification(**np.load('xylo_spec.npz'))",
            "chip": "config_from_specification(**np.load('xylo_config.npz'))",
        },
    }
    for name, content in (("xylo_spec.json", plain), ("xylo_layout.json", layout)):
        path = directory / name
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(content, indent=1 if name == "xylo_layout.json" else None))
        written.append(path)
    return written


def load_spec(path: str | Path) -> dict[str, Any]:
    """``xylo_spec.json`` or an ``.npz`` file back as keyword arguments (numpy arrays)."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    spec = json.loads(path.read_text())
    return {
        k: v if k in ("aliases", "dt") or not isinstance(v, list) else np.asarray(v)
        for k, v in spec.items()
    }
