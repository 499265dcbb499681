"""Statistical agreement of spike trains: spike times within a tolerance, rates within a margin.

Analog hardware never repeats a spike train bit for bit, so BrainScaleS-2 equivalence is stated
as: the fraction of spikes that have a partner in the other train within ``tolerance`` seconds
(*coincidence* ``2 matched / (n_a + n_b)``, 1 when the trains agree), how far matched partners
lie apart, and the fraction of (sample, neuron) pairs whose spike counts differ by at most
``max(1, margin * n_a)``. Matching pairs each spike with at most one partner, greedily in time
order, which finds the largest matching for a fixed window.

A discrete-time reference has no spike times, only steps: `grid_trains` puts a spike of step
``n`` at the end of the step, ``(n + 1) dt``, where the reference detects the crossing (a
continuous crossing in that step lies less than ``dt`` before it).

>>> a = [[np.array([1.0, 2.0, 3.0])]]
>>> b = [[np.array([1.05, 2.5, 3.01])]]
>>> r = spike_agreement(a, b, tolerance=0.1)
>>> r.matched, round(r.coincidence, 3), round(r.max_deviation, 3)
(2, 0.667, 0.05)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

Trains = Sequence[Sequence[np.ndarray]]  # [sample][neuron] -> sorted spike times


def match(a: np.ndarray, b: np.ndarray, tolerance: float) -> np.ndarray:
    """Deviations ``b - a`` of the matched pairs of two sorted trains.

    >>> match(np.array([0.0, 1.0]), np.array([0.1, 5.0]), 0.2).tolist()
    [0.1]
    """
    i = j = 0
    found = []
    while i < len(a) and j < len(b):
        d = b[j] - a[i]
        if abs(d) <= tolerance:
            found.append(d)
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return np.asarray(found, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class SpikeAgreement:
    """How two sets of spike trains agree (``a``: the reference side)."""

    tolerance: float
    margin: float
    spikes_a: int
    spikes_b: int
    matched: int
    max_deviation: float
    median_deviation: float
    rates_within: float

    @property
    def coincidence(self) -> float:
        """``2 matched / (n_a + n_b)``; 1.0 when both are empty."""
        total = self.spikes_a + self.spikes_b
        return 1.0 if total == 0 else 2.0 * self.matched / total

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, the coincidence included."""
        return {**dataclasses.asdict(self), "coincidence": self.coincidence}


def spike_agreement(a: Trains, b: Trains, tolerance: float, margin: float = 0.2) -> SpikeAgreement:
    """Compare trains ``a[sample][neuron]`` and ``b[sample][neuron]`` (see the module docstring)."""
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b, strict=False)):
        raise ValueError("the two sets of trains differ in samples or neurons")
    deviations = []
    n_a = n_b = within = pairs = 0
    for xs, ys in zip(a, b, strict=True):
        for x, y in zip(xs, ys, strict=True):
            x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
            n_a, n_b, pairs = n_a + x.size, n_b + y.size, pairs + 1
            within += abs(x.size - y.size) <= max(1.0, margin * x.size)
            deviations.append(np.abs(match(x, y, tolerance)))
    dev = np.concatenate(deviations) if deviations else np.zeros(0)
    return SpikeAgreement(
        tolerance=float(tolerance),
        margin=float(margin),
        spikes_a=int(n_a),
        spikes_b=int(n_b),
        matched=int(dev.size),
        max_deviation=float(dev.max()) if dev.size else 0.0,
        median_deviation=float(np.median(dev)) if dev.size else 0.0,
        rates_within=within / pairs if pairs else 1.0,
    )


def grid_trains(counts: np.ndarray, dt: float) -> list[list[np.ndarray]]:
    """Step counts ``(T, B, N)`` as trains: a spike of step ``n`` at ``(n + 1) dt`` (repeated for
    counts above 1).

    >>> grid_trains(np.array([[[0]], [[2]], [[1]]]), 0.5)[0][0].tolist()
    [1.0, 1.0, 1.5]
    """
    counts = np.asarray(counts)
    steps, batch = counts.shape[:2]
    flat = counts.reshape(steps, batch, -1).astype(np.int64)
    ends = (np.arange(steps) + 1) * dt
    return [[np.repeat(ends, flat[:, b, k]) for k in range(flat.shape[2])] for b in range(batch)]


def event_trains(
    times: np.ndarray, neurons: np.ndarray, start: int, size: int
) -> list[list[np.ndarray]]:
    """Recorded spikes ``(B, cap)`` of neurons ``[start, start + size)`` as trains."""
    out = []
    for t_row, n_row in zip(np.asarray(times), np.asarray(neurons), strict=True):
        out.append([np.sort(t_row[n_row == start + k]) for k in range(size)])
    return out
