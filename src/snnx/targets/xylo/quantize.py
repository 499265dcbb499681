"""Xylo's quantization rule: int8 weights with one left shift per matrix, int16 thresholds and
biases, one scale per neuron.

A neuron's float dynamics are unchanged when its weights, threshold, bias and states are all
multiplied by the same positive number, so each target neuron ``j`` gets its own scale ``s_j``
(integer units per float unit). Xylo stores weights as ``w8 << k_m``: an int8 ``w8`` and one shift
``k_m`` for the whole matrix ``m`` (input, recurrent or readout). The rule:

1. every neuron's integer threshold is the same number ``sigma``:  ``s_j = sigma / theta_j``;
2. ``rho_m = max_j max_c |W_m[c, j]| / theta_j`` is matrix ``m``'s largest weight in units of
   its target's threshold; the shift is the smallest that fits it in int8:
   ``k_m = max(0, ceil(log2(sigma * rho_m / 127)))``;
3. ``w8 = round(s_j W_m[c, j] / 2^k_m)``, ``threshold_j = round(sigma)``,
   ``bias_j = round(s_j b_j)``.

So one integer weight step is ``2^k_m / sigma`` of a threshold for every neuron alike, and the
states keep ``32767 / sigma`` thresholds of headroom before they saturate. ``sigma`` is at most
``max_threshold`` (default 2048: states saturate at 16 thresholds) and as large as the int8 range
and the int16 biases allow; among the values in ``[max_threshold / 2, max_threshold]`` it picks the
one that wastes the least of the int8 range to the power-of-two shifts (the largest weight of a
matrix then lands on +-127). It is never below 1: weights beyond ``127 << 7`` thresholds then clip
(such a weight makes its target fire its 31 events anyway), as do biases beyond int16. The rule is the ``xylo`` preset of the generic quantization pass.

>>> import numpy as np
>>> q = quantize({"in": np.array([[[0.5]], [[-1.0]]])}, np.array([2.0]), np.array([0.25]))
>>> q.weights["in"][:, 0, 0].tolist(), q.shifts, q.threshold.tolist(), q.bias.tolist()
([64, -127], {'in': 3}, [2032], [254])
>>> float(q.scale[0])  # integer units per float unit
1016.0
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from snnx.targets.xylo.spec import SHIFT_MAX, STATE_MAX, WEIGHT_MAX, WEIGHT_MIN

#: the default ceiling of the integer threshold (16 thresholds of int16 headroom)
MAX_THRESHOLD = 2048


@dataclasses.dataclass(frozen=True)
class Quantized:
    """Integer parameters of one population of target neurons.

    ``weights``: matrix name -> int8 array shaped like the float one; ``shifts``: matrix name ->
    left shift; ``threshold``/``bias``: int16 per neuron; ``scale``: integer units per float unit
    per neuron; ``sigma``: the common integer threshold before rounding; ``weight_error``: matrix
    name -> largest ``|w8 << k - s W|`` in thresholds (half a step, or more where int8 clipped).
    """

    weights: dict[str, np.ndarray]
    shifts: dict[str, int]
    threshold: np.ndarray
    bias: np.ndarray
    scale: np.ndarray
    sigma: float
    weight_error: dict[str, float]


def quantize(
    weights: Mapping[str, np.ndarray],
    threshold: np.ndarray,
    bias: np.ndarray,
    *,
    max_threshold: float = MAX_THRESHOLD,
    max_shift: int = SHIFT_MAX,
) -> Quantized:
    """Quantize the float parameters of ``N`` target neurons (see the module docstring).

    ``weights``: name -> float array ``(sources, N[, synapses])``, column ``j`` feeding neuron
    ``j``; ``threshold`` ``(N,)``, positive; ``bias`` ``(N,)``. Raises `ValueError` for a
    threshold that is not positive.
    """
    theta = np.asarray(threshold, np.float64)
    bias = np.asarray(bias, np.float64)
    if np.any(~(theta > 0)):
        raise ValueError(f"thresholds must be positive, got min {theta.min():g}")
    rho = {name: _largest_per_threshold(w, theta) for name, w in weights.items()}
    sigma = max(1.0, _choose_sigma(rho, theta, bias, max_threshold, max_shift))
    scale = sigma / theta
    shifts = {name: _shift(sigma * r, max_shift) for name, r in rho.items()}
    ints, errors = {}, {}
    for name, w in weights.items():
        w = np.asarray(w, np.float64)
        column = scale.reshape((1, -1) + (1,) * (w.ndim - 2))
        exact = w * column / 2.0 ** shifts[name]
        w8 = np.clip(np.round(exact), WEIGHT_MIN, WEIGHT_MAX)
        ints[name] = w8.astype(np.int8)
        errors[name] = float(np.max(np.abs(w8 - exact), initial=0.0) * 2.0 ** shifts[name] / sigma)
    return Quantized(
        weights=ints,
        shifts=shifts,
        threshold=np.full(theta.shape, round(sigma), np.int16),
        bias=np.clip(np.round(bias * scale), -STATE_MAX - 1, STATE_MAX).astype(np.int16),
        scale=scale,
        sigma=sigma,
        weight_error=errors,
    )


def _largest_per_threshold(w: np.ndarray, theta: np.ndarray) -> float:
    """``max_j max_c |w[c, j]| / theta_j`` (0 for an empty or all-zero matrix)."""
    w = np.abs(np.asarray(w, np.float64))
    if w.size == 0:
        return 0.0
    per_neuron = w.max(axis=tuple(i for i in range(w.ndim) if i != 1))
    return float(np.max(per_neuron / theta))


def _shift(largest: float, max_shift: int) -> int:
    """The smallest shift ``k`` with ``largest <= 127 * 2^k`` (at most ``max_shift``)."""
    if largest <= WEIGHT_MAX:
        return 0
    return min(max_shift, math.ceil(math.log2(largest / WEIGHT_MAX) - 1e-12))


def _choose_sigma(
    rho: dict[str, float], theta: np.ndarray, bias: np.ndarray, max_threshold: float, max_shift: int
) -> float:
    """The common integer threshold: within every int16/int8 limit, at most ``max_threshold``,
    with the least int8 range lost to the power-of-two shifts."""
    ceiling = min(float(max_threshold), STATE_MAX)
    for r in rho.values():
        if r > 0:
            ceiling = min(ceiling, WEIGHT_MAX * 2.0**max_shift / r)
    ratio = np.max(np.abs(bias) / theta, initial=0.0)
    if ratio > 0:
        ceiling = min(ceiling, float(STATE_MAX / ratio))
    # candidates: the ceiling, and every value in [ceiling/2, ceiling] that puts the largest
    # weight of some matrix exactly on 127 * 2^k
    candidates = {ceiling}
    for r in rho.values():
        for k in range(max_shift + 1):
            value = WEIGHT_MAX * 2.0**k / r if r > 0 else 0.0
            if ceiling / 2 <= value <= ceiling:
                candidates.add(value)

    def waste(sigma: float) -> float:  # worst ratio of a matrix's step to the best 8-bit step
        return (
            max(
                (2.0 ** _shift(sigma * r, max_shift) / sigma) / (r / WEIGHT_MAX)
                for r in rho.values()
                if r > 0
            )
            if any(r > 0 for r in rho.values())
            else 1.0
        )

    return min(candidates, key=lambda s: (round(waste(s), 9), -s))
