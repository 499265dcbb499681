"""The files ``snnx compile --target lynxi`` writes, and reading the description back.

- ``model.pt``: the TorchScript module (`module.trace`, saved with ``torch.jit.save``): the
  network in the plain-PyTorch form Lynxi's compiler ``lyngor`` takes;
- ``network.json``: the network described step by step (`program.Program`), every tensor
  named by its place in ``weights.bin``;
- ``weights.bin``: every float16 tensor, little-endian IEEE 754 binary16, C order, each starting
  at a multiple of `ALIGNMENT` bytes.

FORMAT.md (beside this file) documents both files field by field. `read` rebuilds the `Program`
from ``network.json`` and ``weights.bin`` alone, checking the format, sizes and checksum.

>>> import snnx, tempfile
>>> from snnx.targets.lynxi.lower import lower_program
>>> program, _ = lower_program(snnx.read(snnx.example_path("braille")), "snntorch-nir", steps=3)
>>> folder = tempfile.mkdtemp()
>>> [p.name for p in write(program, folder, module=False)]
['weights.bin', 'network.json']
>>> read(folder).structure() == program.structure()
True
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snnx.atomic import atomic_path
from snnx.errors import SnnxError
from snnx.targets.lynxi.program import Program, Segment, Step

FORMAT = "snnx-lynxi"
VERSION = 1
ALIGNMENT = 64
MODEL, NETWORK, WEIGHTS = "model.pt", "network.json", "weights.bin"


def write(
    program: Program,
    directory: str | os.PathLike,
    *,
    semantics: Mapping[str, Any] | None = None,
    notes: list[str] | None = None,
    module: bool = True,
) -> list[Path]:
    """Write ``weights.bin``, ``network.json`` and (with ``module``) ``model.pt`` into
    ``directory``, each atomically; return their paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    blob, places = _pack(program)
    written = []
    with atomic_path(folder / WEIGHTS) as tmp:
        tmp.write_bytes(blob)
    written.append(folder / WEIGHTS)
    description = describe(program, places, blob, semantics=semantics, notes=notes)
    if module:
        import torch

        from snnx.targets.lynxi.module import trace

        description["module"]["torch"] = torch.__version__.split("+")[0]
    else:
        description["module"] = None
    with atomic_path(folder / NETWORK) as tmp:
        tmp.write_text(json.dumps(description, indent=1))
    written.append(folder / NETWORK)
    if module:
        scripted = trace(program)
        with atomic_path(folder / MODEL) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what lyngor takes
            torch.jit.save(scripted, str(tmp))
        written.append(folder / MODEL)
    return written


def describe(
    program: Program,
    places: Mapping[str, Mapping[str, Mapping[str, Any]]],
    blob: bytes,
    *,
    semantics: Mapping[str, Any] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The ``network.json`` document (see FORMAT.md)."""
    from snnx import __version__

    structure = program.structure()
    folded = program.steps * program.batch
    for node in structure["nodes"]:
        node["tensors"] = {k: dict(v) for k, v in places[node["name"]].items()}
    return {
        "format": FORMAT,
        "version": VERSION,
        "generator": f"snnx {__version__}",
        "chip": "Lynxi KA200",
        "dtype": "float16",
        "steps": program.steps,
        "batch": program.batch,
        "input": {
            "name": program.input,
            "shape": list(program.input_shape),
            "folded_shape": [folded, *program.input_shape],
            "amplitude": program.input_amplitude,
        },
        "output": {
            "name": program.output,
            "source": program.output_source,
            "shape": list(program.output_shape),
            "folded_shape": [folded, *program.output_shape],
        },
        "layers": [
            {"name": name, "shape": list(program.nodes[name].output_shape)}
            for name in program.layers
        ],
        "schedule": structure["schedule"],
        "nodes": structure["nodes"],
        "weights": {
            "file": WEIGHTS,
            "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "alignment": ALIGNMENT,
            "byte_order": "little",
        },
        "module": {
            "file": MODEL,
            "format": "TorchScript (torch.jit.save)",
            "input": f"x: float16 {[folded, *program.input_shape]}, row t*batch+b = step t, sample b",
            "output": f"float16 {[folded, *program.output_shape]}, the output node's values",
        },
        "semantics": dict(semantics or {}),
        "notes": list(notes or []),
    }


def _pack(program: Program) -> tuple[bytes, dict[str, dict[str, dict[str, Any]]]]:
    """Every tensor, aligned, in node order then each node's tensor order."""
    parts: list[bytes] = []
    offset = 0
    places: dict[str, dict[str, dict[str, Any]]] = {}
    for name, step in program.nodes.items():
        places[name] = {}
        for key, value in step.tensors.items():
            data = np.ascontiguousarray(value, dtype="<f2").tobytes()
            places[name][key] = {"offset": offset, "shape": list(value.shape), "bytes": len(data)}
            pad = -len(data) % ALIGNMENT
            parts += [data, b"\0" * pad]
            offset += len(data) + pad
    return b"".join(parts), places


def read(directory: str | os.PathLike) -> Program:
    """The `Program` described by ``network.json`` and ``weights.bin`` in ``directory``."""
    folder = Path(directory)
    path = folder / NETWORK
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SnnxError(f"cannot read the network description: {err}", file=path) from None
    if not isinstance(doc, dict):
        raise SnnxError("must hold a JSON object", file=path)
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise SnnxError(
            f"not a {FORMAT} version {VERSION} description "
            f"(format {doc.get('format')!r}, version {doc.get('version')!r})",
            file=path,
        )
    weights = _field(doc, "weights", path, dict)
    bin_path = folder / _field(weights, "file", path, str, "weights")
    try:
        blob = bin_path.read_bytes()
    except OSError as err:
        raise SnnxError(f"cannot read the weights: {err}", file=bin_path) from None
    if len(blob) != weights.get("bytes") or hashlib.sha256(blob).hexdigest() != weights.get(
        "sha256"
    ):
        raise SnnxError(
            f"{len(blob)} bytes whose checksum does not match {path.name}", file=bin_path
        )
    nodes = {}
    for i, entry in enumerate(_field(doc, "nodes", path, list)):
        where = f"nodes/{i}"
        name = _field(entry, "name", path, str, where)
        tensors = {}
        for key, place in _field(entry, "tensors", path, dict, where).items():
            tensors[key] = _tensor(blob, place, bin_path, f"{where}/tensors/{key}")
        nodes[name] = Step(
            name=name,
            type=_field(entry, "type", path, str, where),
            op=_field(entry, "op", path, str, where),
            inputs=tuple(_field(entry, "inputs", path, list, where)),
            input_shape=tuple(_field(entry, "input_shape", path, list, where)),
            output_shape=tuple(_field(entry, "output_shape", path, list, where)),
            attributes=_field(entry, "attributes", path, dict, where),
            tensors=tensors,
        )
    schedule = tuple(
        Segment(
            _field(s, "kind", path, str, f"schedule/{i}"),
            tuple(_field(s, "steps", path, list, f"schedule/{i}")),
            tuple(tuple(e) for e in _field(s, "back_edges", path, list, f"schedule/{i}")),
        )
        for i, s in enumerate(_field(doc, "schedule", path, list))
    )
    for i, segment in enumerate(schedule):
        missing = [n for n in segment.steps if n not in nodes]
        if missing:
            raise SnnxError(f"names unknown nodes {missing}", file=path, field=f"schedule/{i}")
    source = _field(doc, "input", path, dict)
    output = _field(doc, "output", path, dict)
    return Program(
        input=_field(source, "name", path, str, "input"),
        input_shape=tuple(_field(source, "shape", path, list, "input")),
        input_amplitude=source.get("amplitude"),
        output=_field(output, "name", path, str, "output"),
        output_source=_field(output, "source", path, str, "output"),
        output_shape=tuple(_field(output, "shape", path, list, "output")),
        nodes=nodes,
        schedule=schedule,
        layers=tuple(
            _field(layer, "name", path, str, "layers")
            for layer in _field(doc, "layers", path, list)
        ),
        steps=_field(doc, "steps", path, int),
        batch=_field(doc, "batch", path, int),
    )


def _field(doc: Any, key: str, path: Path, kind: type, where: str | None = None) -> Any:
    label = f"{where}/{key}" if where else key
    if not isinstance(doc, dict) or key not in doc:
        raise SnnxError("missing", file=path, field=label)
    value = doc[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SnnxError(f"must be a {kind.__name__}, got {value!r}", file=path, field=label)
    return value


def _tensor(blob: bytes, place: Any, path: Path, where: str) -> np.ndarray:
    try:
        offset, shape = int(place["offset"]), tuple(int(n) for n in place["shape"])
    except (KeyError, TypeError, ValueError):
        raise SnnxError("needs an integer offset and shape", file=path, field=where) from None
    size = 2 * int(np.prod(shape, dtype=np.int64))
    if offset < 0 or offset + size > len(blob) or place.get("bytes", size) != size:
        raise SnnxError(
            f"{size} bytes at offset {offset} do not lie in the file's {len(blob)}",
            file=path,
            field=where,
        )
    values = np.frombuffer(blob, dtype="<f2", count=size // 2, offset=offset)
    return values.astype(np.float16).reshape(shape)
