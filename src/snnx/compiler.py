"""`compile`: a graph lowered for a hardware target, with everything a deployment needs written.

``compile(graph, "loihi", semantics, output=DIR)`` lowers the graph (`snnx.targets`), writes the
target's artifact, the lowered graph (``lowered.nir``, with its semantics stored), the resource
report (``resources.json``) and NeuroBench's static metrics of the lowered network with the
vendor's published cost figures (``metrics.json``: `snnx.metrics`, `snnx.estimates`) into ``DIR``,
each file atomically, and returns a `Compiled`.

>>> import snnx, tempfile
>>> graph = snnx.read(snnx.example_path("braille"))
>>> with tempfile.TemporaryDirectory() as folder:
...     done = compile(graph, "loihi", "snntorch-nir", output=folder)
...     sorted(p.name for p in done.files)
['lowered.nir', 'metrics.json', 'model.net', 'resources.json']
>>> done.resources["neurons"]
46
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from snnx.atomic import atomic_path
from snnx.estimates import estimate
from snnx.ir.graph import Graph
from snnx.ir.nirfile import write
from snnx.metrics import static_metrics
from snnx.semantics import Semantics
from snnx.targets import Lowered, Target, get_target
from snnx.targets.base import as_path


@dataclasses.dataclass
class Compiled:
    """What `compile` made: the lowered network, its resource use, its metrics (static
    NeuroBench metrics and published estimates), and the files written."""

    target: Target
    lowered: Lowered
    resources: dict[str, Any]
    files: list[Path]
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)


def compile(
    graph: Graph,
    target: Target | str,
    semantics: Semantics | str | None = None,
    *,
    output: str | os.PathLike | None = None,
    lowered: Lowered | None = None,
    **options: Any,
) -> Compiled:
    """Lower ``graph`` (run under ``semantics``: given, else its own) for ``target`` with the
    target's ``options`` (or take ``lowered``, say an adapted network: `snnx.adaptation`); with
    ``output``, write the artifact, ``lowered.nir`` and ``resources.json`` there."""
    from snnx.sim import resolve_semantics

    target = get_target(target) if isinstance(target, str) else target
    if lowered is None:
        lowered = target.lower(graph, resolve_semantics(graph, semantics), **options)
    resources = target.resources(lowered)
    metrics = {
        "neurobench": static_metrics(lowered.graph),
        "estimates": estimate(target.name, resources, dt=lowered.semantics.dt),
    }
    files: list[Path] = []
    if output is not None:
        folder = as_path(output)
        files = list(target.write(lowered, folder))
        lowered.graph.semantics = lowered.semantics
        write(lowered.graph, folder / "lowered.nir")
        with atomic_path(folder / "resources.json") as tmp:
            tmp.write_text(json.dumps(resources, indent=2, default=str))
        with atomic_path(folder / "metrics.json") as tmp:
            tmp.write_text(json.dumps(metrics, indent=2))
        files += [folder / "lowered.nir", folder / "resources.json", folder / "metrics.json"]
    return Compiled(target, lowered, resources, files, metrics)
