"""What every hardware target provides, and what lowering hands to verification.

A target is a subpackage of `snnx.targets` with the same parts (one idea per file): ``spec.py``
(its limits and bit widths), ``lower.py`` (graph -> `Lowered`: the chip's integer parameters, or a
clear error naming the node that cannot be lowered), ``numerics.py`` (the chip's exact arithmetic,
batched, in JAX) and ``artifact.py`` (the files a user deploys). Its ``__init__`` exposes
``TARGETS``: name -> `Target`.

`Lowered.layers` says which reference node each target layer reproduces and how many steps later
its output appears (``latency``), so `snnx.verify` compares like with like.

>>> LayerMap("1", "lif1.lif", size=38, latency=1).latency
1
"""

from __future__ import annotations

import abc
import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from snnx.ir.graph import Graph
from snnx.semantics import Semantics


@dataclasses.dataclass(frozen=True)
class Spec:
    """A target's limits, as `snnx targets` lists them and lowering enforces them."""

    description: str
    limits: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class LayerMap:
    """A target layer (``name``), the reference node whose output it reproduces, its number of
    neurons, and the steps by which its output lags the reference's."""

    name: str
    node: str
    size: int
    latency: int = 0


@dataclasses.dataclass
class Lowered:
    """A graph lowered for a target.

    ``graph``: the reference graph the target was lowered against (after the target's
    equivalence-keeping rewrites, flattened); ``semantics``: the reference semantics; ``layers``:
    target layers in order, the last one the output; ``program``: the target's own parameters
    (integers, bit widths...); ``notes``: approximations made (a time constant rounded to a
    bit shift, weights quantized, ...) for the report.
    """

    target: str
    graph: Graph
    semantics: Semantics
    layers: list[LayerMap]
    program: Any
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def output(self) -> LayerMap:
        """The layer whose spikes are the network's output."""
        return self.layers[-1]


class Target(abc.ABC):
    """A hardware target: lowering, exact numerics, artifact, resources."""

    name: str
    spec: Spec

    @abc.abstractmethod
    def lower(self, graph: Graph, semantics: Semantics, **options: Any) -> Lowered:
        """Lower ``graph`` (run under ``semantics``) to this target, or raise `LoweringError`."""

    @abc.abstractmethod
    def run(self, lowered: Lowered, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """The chip's exact numerics on ``inputs`` ``(T, B, *input shape)``: layer name ->
        ``(T, B, size)`` spikes (or output values), on the chip's clock."""

    @abc.abstractmethod
    def write(self, lowered: Lowered, directory: Path) -> list[Path]:
        """Write the deployable artifact into ``directory``; return the files written."""

    def resources(self, lowered: Lowered) -> dict[str, Any]:
        """What the lowered network uses of the chip (neurons, synapses, memory, cores...)."""
        return {
            "neurons": sum(layer.size for layer in lowered.layers),
            "layers": len(lowered.layers),
        }


def input_name(graph: Graph) -> str:
    """The graph's one Input (targets take a single input stream)."""
    from snnx.errors import LoweringError

    if len(graph.inputs) != 1:
        raise LoweringError(f"targets take one Input; the graph has {graph.inputs}")
    return graph.inputs[0]


def as_path(directory: str | os.PathLike) -> Path:
    """``directory`` as a `Path`, created if needed."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path
