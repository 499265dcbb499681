"""The Random Manifolds task (Randman; Zenke & Vogels, Neural Computation 33(4), 2021),
re-derived from its published description.

Each class is a smooth random manifold of intrinsic dimension ``dim`` embedded in ``channels``
dimensions. Embedding coordinate ``i`` of class ``c`` at intrinsic position
``x`` in ``[0, 1]^dim`` is a sum of random-phase sinusoids, higher harmonics damped by
``k^-alpha``::

    f_ci(x) = sum_j sum_{k=1..components} a_cijk / k^alpha * sin(2 pi (k b_cijk x_j + p_cijk))

with amplitudes ``a``, frequencies ``b`` and phases ``p`` uniform in ``[0, 1)``, then scaled to
``[0, 1]`` over the manifold (its minimum and maximum on 1024 points of it). A sample is a point
``x`` drawn uniformly on its class's manifold; channel ``i`` spikes exactly once, at step
``round(f_ci(x) (steps - 1))``. Classes differ only in the timing of the spikes, never in their
number.
"""

from __future__ import annotations

import numpy as np

from snnx.errors import SnnxError

#: Points per manifold on which its coordinates are scaled to [0, 1].
SCALE_POINTS = 1024


def randman(
    classes: int,
    channels: int,
    samples: int,
    steps: int,
    *,
    seed: int = 0,
    dim: int = 1,
    alpha: float = 2.0,
    components: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` Randman samples: spike rasters ``(steps, samples, channels)`` (float32, one
    spike per channel and sample) and labels ``(samples,)`` (int64, classes in equal shares
    up to one, shuffled). Deterministic for a given ``seed``: the manifolds and the samples
    both come from it, so split one call's samples into training and test sets.

    >>> x, y = randman(classes=2, channels=3, samples=4, steps=8, seed=1)
    >>> x.sum(0).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    >>> sorted(y.tolist())
    [0, 0, 1, 1]
    """
    if min(classes, channels, samples, steps, dim, components) < 1:
        raise SnnxError("classes, channels, samples, steps, dim and components must be >= 1")
    rng = np.random.default_rng(seed)
    shape = (classes, channels, dim, components)
    amplitude = rng.uniform(size=shape) / np.arange(1, components + 1) ** alpha
    frequency = rng.uniform(size=shape)
    phase = rng.uniform(size=shape)

    def embed(labels: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Coordinates ``(n, channels)`` of ``points`` ``(n, dim)`` on the manifolds of
        ``labels`` ``(n,)``."""
        k = np.arange(1, components + 1)
        arg = k * frequency[labels] * points[:, None, :, None] + phase[labels]
        return (amplitude[labels] * np.sin(2 * np.pi * arg)).sum((-1, -2))

    grid = rng.uniform(size=(SCALE_POINTS, dim))
    on = np.stack([embed(np.full(SCALE_POINTS, c), grid) for c in range(classes)])
    low, high = on.min(1), on.max(1)  # (classes, channels)

    labels = rng.permutation(np.arange(samples) % classes)
    value = embed(labels, rng.uniform(size=(samples, dim)))
    span = np.where(high > low, high - low, 1.0)[labels]
    unit = np.clip((value - low[labels]) / span, 0.0, 1.0)
    times = np.round(unit * (steps - 1)).astype(np.int64)
    raster = np.zeros((steps, samples, channels), np.float32)
    raster[times, np.arange(samples)[:, None], np.arange(channels)] = 1.0
    return raster, labels.astype(np.int64)
