"""What every hardware target provides, and what lowering hands to verification.

A target is a subpackage of `snnx.targets` with the same parts (one idea per file): ``spec.py``
(its `Spec`: the node types it runs, the limits lowering enforces, its bit widths), ``lower.py``
(graph -> `Lowered`: the chip's integer parameters, or a clear error naming the node that cannot be
lowered), ``numerics.py`` (the chip's exact arithmetic, batched, in JAX) and ``artifact.py`` (the
files a user deploys). Its ``__init__`` exposes ``TARGETS``: name -> `Target`.

The contract, `Target[ProgramT]`: ``lower`` checks the graph against ``spec`` (`Spec.check_types`,
`Spec.enforce`, the only two places limits are enforced) and returns a `Lowered[ProgramT]` holding
the target's own program; ``run`` is the chip's exact numerics, ``write`` the artifact,
``resources`` what it uses of the chip. Optional capabilities are declared in
``spec.capabilities`` (``robustness``: a mismatch model, `Target.robustness`), never found by
probing. ``quantize_preset`` is the grid the chip stores weights on, for the quantization pass.

`Lowered.layers` says which reference node each target layer reproduces and how many steps later
its output appears (``latency``), so `snnx.verify` compares like with like.

>>> spec = Spec("a chip", supported=("Input", "Output", "Linear", "LIF"), limits={"neurons": 10})
>>> spec.enforce({"neurons": 12}, target="chip")
Traceback (most recent call last):
snnx.errors.LoweringError: needs 12 neurons; chip has 10
"""

from __future__ import annotations

import abc
import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from snnx.errors import LoweringError, SnnxError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics

ProgramT = TypeVar("ProgramT")


@dataclasses.dataclass(frozen=True)
class Spec:
    """A target's contract: what `snnx targets` lists and lowering enforces.

    ``supported``: the node types it lowers (`check_types`); ``limits``: numeric maxima of what
    a lowered network may use (`enforce`; keys name the resource: ``neurons``, ``delay_steps``,
    ...); ``facts``: what else it states (bit widths, the neuron model); ``capabilities``:
    optional parts the target has (``robustness``).
    """

    description: str
    supported: tuple[str, ...]
    limits: Mapping[str, int | float] = dataclasses.field(default_factory=dict)
    facts: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()

    def check_types(self, graph: Graph, target: str) -> None:
        """Refuse nodes of types this target does not lower, naming each (the error's node is
        the first)."""
        odd = {n: node.type for n, node in graph.nodes.items() if node.type not in self.supported}
        if odd:
            kinds = ", ".join(sorted(set(odd.values())))
            listing = ", ".join(f"{name} ({kind})" for name, kind in list(odd.items())[:8])
            more = f" and {len(odd) - 8} more" if len(odd) > 8 else ""
            raise LoweringError(
                f"{target} does not run {kinds} nodes: {listing}{more}; it runs "
                f"{', '.join(self.supported)}",
                node=next(iter(odd)),
            )

    def enforce(
        self,
        usage: Mapping[str, int | float],
        *,
        target: str,
        node: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Raise `LoweringError` for the first resource in ``usage`` above its limit (with
        ``detail``, where the use comes from, in brackets)."""
        for key, used in usage.items():
            limit = self.limits.get(key)
            if limit is not None and used > limit:
                what = key.replace("_", " ") + (f" ({detail})" if detail else "")
                raise LoweringError(f"needs {used:,} {what}; {target} has {limit:,}", node=node)

    def listing(self) -> dict[str, Any]:
        """Everything `snnx targets` shows: supported types, limits, facts."""
        return {"supported": list(self.supported), **self.limits, **self.facts}


@dataclasses.dataclass(frozen=True)
class LayerMap:
    """A target layer (``name``), the reference node whose output it reproduces, its number of
    neurons, and the steps by which its output lags the reference's."""

    name: str
    node: str
    size: int
    latency: int = 0


@dataclasses.dataclass
class Lowered(Generic[ProgramT]):
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
    program: ProgramT
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def output(self) -> LayerMap:
        """The layer whose spikes are the network's output."""
        return self.layers[-1]


class Target(abc.ABC, Generic[ProgramT]):
    """A hardware target: lowering, exact numerics, artifact, resources (the module docstring)."""

    name: str
    spec: Spec
    #: Options of the quantization pass that put weights on the chip's grid (``preset=NAME``).
    quantize_preset: ClassVar[Mapping[str, Any]] = {}

    @abc.abstractmethod
    def lower(self, graph: Graph, semantics: Semantics, **options: Any) -> Lowered[ProgramT]:
        """Lower ``graph`` (run under ``semantics``) to this target, or raise `LoweringError`."""

    @abc.abstractmethod
    def run(self, lowered: Lowered[ProgramT], inputs: np.ndarray) -> dict[str, np.ndarray]:
        """The chip's exact numerics on ``inputs`` ``(T, B, *input shape)``: layer name ->
        ``(T, B, size)`` spikes (or output values), on the chip's clock."""

    @abc.abstractmethod
    def write(self, lowered: Lowered[ProgramT], directory: Path) -> list[Path]:
        """Write the deployable artifact into ``directory``; return the files written."""

    def resources(self, lowered: Lowered[ProgramT]) -> dict[str, Any]:
        """What the lowered network uses of the chip (neurons, synapses, memory, cores...)."""
        return {
            "neurons": sum(layer.size for layer in lowered.layers),
            "layers": len(lowered.layers),
        }

    def robustness(
        self,
        lowered: Lowered[ProgramT],
        inputs: np.ndarray,
        n: int,
        spread: Any = None,
        **options: Any,
    ) -> Any:
        """A Monte-Carlo over ``n`` instances of the chip's analog mismatch (targets that declare
        the ``robustness`` capability)."""
        raise SnnxError(f"the {self.name} target has no mismatch model (no robustness capability)")


def input_name(graph: Graph) -> str:
    """The graph's one Input (targets take a single input stream)."""
    if len(graph.inputs) != 1:
        raise LoweringError(f"targets take one Input; the graph has {graph.inputs}")
    return graph.inputs[0]


def as_path(directory: str | os.PathLike) -> Path:
    """``directory`` as a `Path`, created if needed."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path
