"""Placement: populations onto neuron circuits, projections onto synapse rows.

Neurons: populations take consecutive circuits from 0 in flow order (circuit ``k`` sits in
hemisphere ``k // 256``, column ``k % 256``). Rows: a neuron column has 256 synapse rows, each
with one sign (set by its driver); a projection from ``n`` sources takes ``n`` excitatory rows if
any of its weights is positive and ``n`` inhibitory rows if any is negative, stacked in the order
the projections arrive at the population. The same rows serve every column of the population.

>>> place_neurons([("a", 300), ("b", 100)])
{'a': (0, 300), 'b': (300, 400)}
>>> place_rows([("fc", 12, True, True), ("rec", 38, True, False)])
{'fc': {'excitatory': (0, 12), 'inhibitory': (12, 24)}, 'rec': {'excitatory': (24, 62)}}
"""

from __future__ import annotations

from collections.abc import Sequence

from snnx.targets.bss2.spec import LIMITS


def place_neurons(sizes: Sequence[tuple[str, int]]) -> dict[str, tuple[int, int]]:
    """``name -> (first, stop)`` circuits, consecutive from 0."""
    out, start = {}, 0
    for name, size in sizes:
        out[name] = (start, start + size)
        start += size
    return out


def place_rows(
    projections: Sequence[tuple[str, int, bool, bool]],
) -> dict[str, dict[str, tuple[int, int]]]:
    """For the projections ``(name, sources, has_positive, has_negative)`` into one population:
    ``name -> {"excitatory"/"inhibitory": (first, stop)}``, stacked from row 0."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    row = 0
    for name, sources, positive, negative in projections:
        blocks = {}
        for kind, used in (("excitatory", positive), ("inhibitory", negative)):
            if used:
                blocks[kind] = (row, row + sources)
                row += sources
        out[name] = blocks
    return out


def hemisphere(circuit: int) -> int:
    """The hemisphere (0: top, 1: bottom) a neuron circuit sits in."""
    return circuit // LIMITS.neurons_per_hemisphere
