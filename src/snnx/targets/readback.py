"""A compiled artifact directory (`snnx compile -o DIR`) read back as the `Lowered` it holds, so
that `snnx verify DIR` runs the program as written -- adapted parameters included -- rather than
a fresh lowering of ``DIR/lowered.nir``.

The layer map (names, latencies, sizes) comes from lowering ``lowered.nir`` again under the
nearest semantics the chip expresses (`snnx.adaptation.loop.chip_semantics`); the program, from
the artifact: Loihi's ``model.net`` (`snnx.targets.loihi.artifact.read`), Xylo's
``xylo_spec.npz`` (Rockpool's specification, every field of the program). The `Lowered` carries
the file's semantics as its reference.

>>> import tempfile, snnx
>>> from snnx.compiler import compile
>>> graph = snnx.read(snnx.example_path("braille"))
>>> with tempfile.TemporaryDirectory() as d:
...     done = compile(graph, "xylo", "snntorch", output=d)
...     back = from_directory(d, "xylo")
>>> bool((back.program.weights_rec == done.lowered.program.weights_rec).all())
True
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from snnx.errors import SnnxError
from snnx.ir.nirfile import read
from snnx.semantics import Semantics
from snnx.sim import resolve_semantics
from snnx.targets import get_target
from snnx.targets.base import Lowered
from snnx.targets.xylo.program import XyloProgram

#: Target name -> the artifact file holding its program.
ARTIFACTS = {
    "loihi": "model.net",
    "xylo": "xylo_spec.npz",
    "xylo-audio2": "xylo_spec.npz",
    "xylo-imu": "xylo_spec.npz",
}


def from_directory(
    directory: str | os.PathLike, target: str, semantics: Semantics | str | None = None
) -> Lowered:
    """The `Lowered` that ``directory`` (written by `snnx compile --target target`) holds;
    ``semantics``: the reference's (default: the one stored in ``lowered.nir``)."""
    from snnx.adaptation.loop import chip_semantics

    folder = Path(directory)
    if target not in ARTIFACTS:
        raise SnnxError(
            f"reading back a {target} artifact is not supported; artifacts read back: "
            f"{', '.join(ARTIFACTS)}",
            file=folder,
        )
    artifact = folder / ARTIFACTS[target]
    if not (folder / "lowered.nir").is_file() or not artifact.is_file():
        raise SnnxError(
            f"not a compiled {target} directory: needs lowered.nir and {artifact.name}", file=folder
        )
    graph = read(folder / "lowered.nir")
    reference = resolve_semantics(graph, semantics)
    lowered, _ = chip_semantics(graph, get_target(target), reference)
    if target == "loihi":
        from snnx.targets.loihi import artifact as loihi_artifact

        return dataclasses.replace(lowered, program=loihi_artifact.read(artifact))
    return dataclasses.replace(lowered, program=_xylo_program(lowered.program, artifact))


def _xylo_program(fresh: XyloProgram, path: Path) -> XyloProgram:
    """``fresh`` (a `XyloProgram`) with every field the specification holds taken from it."""
    from snnx.targets.xylo.artifact import load_spec

    spec = load_spec(path)
    changes: dict[str, Any] = {}
    for key, value in spec.items():
        if key in ("aliases", "dt") or not hasattr(fresh, key):
            continue
        old = np.asarray(getattr(fresh, key))
        new = np.asarray(value)
        if old.shape != new.shape:
            raise SnnxError(
                f"{key} is {new.shape}, the lowering of lowered.nir gives {old.shape}", file=path
            )
        changes[key] = int(new) if old.ndim == 0 else new.astype(old.dtype)
    program = dataclasses.replace(fresh, **changes)
    program.check()
    return program
