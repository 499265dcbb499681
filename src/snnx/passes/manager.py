"""Running passes: by name or by level, checking the graph after each, logging what changed,
and optionally proving each exact pass kept the meaning by simulating before and after.

Levels: ``O0`` checks only; ``O1`` cleans up (dead and identity nodes, fused linear chains) without
touching the nesting; ``O2`` also inlines subgraphs, turns average into sum pooling, folds scalings
and moves delays. Passes a target needs (canonical neuron forms, quantization, delay splitting) are
run by name.

In equivalence mode, both graphs run in float64 on the same random spike inputs under the given
semantics: after an exact pass, spike outputs must be equal and other outputs equal within 1e-9
(absolute and relative: sums regrouped by a fusion round differently); otherwise
`EquivalenceError` names the pass and the output.

>>> import snnx
>>> graph, records = optimize(snnx.read(snnx.example_path("braille")), level="O1")
>>> [r.name for r in records]
['remove-dead', 'remove-identity', 'fuse-linear']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.passes.base import PASSES, PassContext
from snnx.reports.rasters import is_spike_train
from snnx.semantics import Semantics

LEVELS: dict[str, list[str]] = {
    "O0": [],
    "O1": ["remove-dead", "remove-identity", "fuse-linear"],
    "O2": [
        "flatten-subgraphs",
        "remove-dead",
        "remove-identity",
        "avgpool-to-sumpool",
        "fold-scale",
        "fuse-linear",
        "move-delays",
        "remove-identity",
        "remove-dead",
    ],
}


class EquivalenceError(SnnxError):
    """A pass that should keep the simulation unchanged did not."""


@dataclasses.dataclass
class PassRecord:
    """What one pass did: its log lines, the node counts before and after, and (in equivalence
    mode) how the simulations compared."""

    name: str
    changes: list[str]
    nodes_before: int
    nodes_after: int
    skipped: list[str] = dataclasses.field(default_factory=list)
    report: dict[str, Any] = dataclasses.field(default_factory=dict)
    equivalence: dict[str, Any] | None = None


def optimize(
    graph: Graph,
    passes: Sequence[str] | None = None,
    *,
    level: str = "O1",
    semantics: Semantics | None = None,
    check_equivalence: bool = False,
    options: dict[str, Any] | None = None,
    steps: int = 40,
    batch: int = 4,
    seed: int = 0,
) -> tuple[Graph, list[PassRecord]]:
    """Run ``passes`` (names), or the pipeline of ``level``, over ``graph``; return the new graph
    and a record per pass. ``options`` reach the passes (``max_delay_steps``, quantization bits...)."""
    names = list(passes) if passes is not None else _level(level)
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise SnnxError(f"unknown passes {unknown}; passes: {', '.join(sorted(PASSES))}")
    if check_equivalence and semantics is None:
        raise SnnxError("checking equivalence needs semantics to simulate with")
    graph.check()
    inputs = _inputs(graph, steps, batch, seed) if check_equivalence else None
    records = []
    for name in names:
        ctx = PassContext(semantics=semantics, options=dict(options or {}))
        new = PASSES[name].run(graph, ctx)
        try:
            new.check()
        except SnnxError as err:
            raise SnnxError(f"pass {name} left an invalid graph: {err}") from err
        record = PassRecord(name, ctx.log, _count(graph), _count(new), ctx.skipped, ctx.report)
        if check_equivalence and ctx.log:
            record.equivalence = _compare(
                name, graph, new, semantics, inputs, PASSES[name].exact, ctx
            )
        records.append(record)
        graph = new
    return graph, records


def pass_names() -> list[str]:
    """Every registered pass, sorted."""
    return sorted(PASSES)


def _level(level: str) -> list[str]:
    if level not in LEVELS:
        raise SnnxError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    return LEVELS[level]


def _count(graph: Graph) -> int:
    return sum(1 for _, node in graph.walk() if not isinstance(node, Graph))


def _inputs(graph: Graph, steps: int, batch: int, seed: int) -> dict[str, np.ndarray]:
    shapes = graph.check()
    rng = np.random.default_rng(seed)
    return {
        name: (rng.uniform(size=(steps, batch, *shapes[name].output)) < 0.2).astype(np.float64)
        for name in graph.inputs
    }


def _compare(
    name: str,
    before: Graph,
    after: Graph,
    semantics: Semantics | None,
    inputs: dict[str, np.ndarray] | None,
    exact: bool,
    ctx: PassContext,
) -> dict[str, Any]:
    from snnx.sim import Simulator

    # A pass that re-expresses the graph for other semantics (`express`) stores them: the new
    # graph runs under those, the old one under the semantics it was given.
    moved = after.semantics is not None and after.semantics != before.semantics
    with jax.enable_x64(True):
        old = Simulator(before, semantics, dtype="float64")(inputs).outputs
        new = Simulator(after, after.semantics if moved else semantics, dtype="float64")(
            inputs
        ).outputs
    report: dict[str, Any] = {"exact": exact}
    for output, expected in old.items():
        got = new[output]
        spikes = is_spike_train(expected) and is_spike_train(got)
        same = (
            np.array_equal(expected, got)
            if spikes
            else np.allclose(got, expected, rtol=1e-9, atol=1e-9)
        )
        report[output] = {
            "spike_agreement": float(np.mean(expected == got)) if spikes else None,
            "max_difference": float(
                np.max(np.abs(np.subtract(expected, got, dtype=float)), initial=0.0)
            ),
        }
        if exact and not same:
            raise EquivalenceError(
                f"pass {name} changed output {output!r}: {report[output]}; its changes: {ctx.log}"
            )
    return report
