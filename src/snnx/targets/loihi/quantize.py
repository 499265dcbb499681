"""The Loihi quantization rule: float weights, thresholds and decays to the integers Loihi 2
applies exactly. Pure functions of numbers; the lowering (and a generic quantization pass, as
its ``"loihi"`` preset) call them.

**Weights and threshold of one layer.** A layer's neurons share one integer threshold ``θ``
(netx's scalar ``vThMant``; a neuron fires when ``v > θ·2^6``). Neuron ``n`` has its own float
threshold ``thr_n`` and input gain ``g_n`` (what one unit of input adds to its current), so it
gets its own integer scale ``λ_n = θ / thr_n``: its states are ``λ_n · 2^6`` times the
reference's, and its incoming weights become ::

    q[n, j]     = g_n · W[n, j] / thr_n             (weights in units of the threshold)
    W_int[n, j] = round(θ · q[n, j])                 (what netx is given)

with one ``θ`` per layer, as large as the 8-bit range netx applies exactly allows::

    θ = floor(min(hi / max(q), lo / max(-q)))        clamped to [1, max_threshold = 2048]

- both signs (``mixed``): ``hi = 254``, ``lo = 256`` (netx clips anything beyond);
- only ``q >= 0`` (excitatory): ``hi = 255``;
- only ``q <= 0`` (inhibitory): ``lo = 254`` on the even grid, ``W_int = 2·round(θ q / 2)``:
  an inhibitory matrix whose largest magnitude is a power of two (256, 128, ...) or that mixes
  odd weights with a zero maximum is not applied as stored (see `weights`); even weights up to
  254 are;
- ``extra_positive``: the lowering adds one weight just above ``θ`` (`relay_weight`, the bias
  relay, see `lower`), so the matrix is mixed or excitatory and ``θ <= hi - grid``;
- ``even``: every weight on the even grid within ``±254``. A ``dense_rec`` layer needs it when
  one of its two matrices has a single sign: netx optimises them jointly but Lava truncates each
  with its own sign mode, which drops a bit more than an odd weight can lose.

Weights beyond the range after rounding (only when ``θ`` hit a clamp) are clipped and counted.
Convolution weights reach the neuron raw in netx (no sign modes); they use the mixed range.

**Decays.** A reference decay factor per step ``keep`` (``1 - dt/tau`` for Euler,
``exp(-dt/tau)`` for exact decays) becomes ``decay = round((1 - keep) · 4096)`` in ``[0, 4096]``:
Loihi keeps ``(4096 - decay) / 4096`` of the state per step, rounding the product toward zero.

>>> import numpy as np
>>> q = quantize(np.array([[0.5, -0.25], [1.0, 0.0]]))
>>> q.threshold, q.weights.tolist()
(254, [[127, -64], [254, 0]])
>>> decay(0.55), decay(1.0), decay(0.0)
(1843, 0, 4096)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

#: The largest vThMant the rule picks. u and v are 24-bit (v saturates, u wraps at 2^23), which
#: is ``2^23 / (2^6 θ)`` thresholds: θ <= 2048 keeps at least ±64 thresholds of room (at
#: θ = 2^17 - 1, the largest that fits, v could not go below minus one threshold).
MAX_THRESHOLD = 2048
#: Loihi's decay denominator (12-bit decays).
DECAY_UNITY = 4096


@dataclasses.dataclass(frozen=True)
class Quantized:
    """``threshold`` (vThMant), integer ``weights``, the ``grid`` they lie on (1, or 2 for
    inhibitory matrices), how many were ``clipped``, and the largest rounding error
    ``max_error`` in units of the threshold (``max |W_int / θ - q|``)."""

    threshold: int
    weights: np.ndarray
    grid: int
    clipped: int
    max_error: float


def weight_range(
    q: np.ndarray, *, extra_positive: bool = False, conv: bool = False, even: bool = False
) -> tuple[int, int, int]:
    """``(hi, lo, grid)``: the largest positive and negative weight magnitudes netx applies
    exactly for a matrix with the signs of ``q``, and the grid step.

    >>> weight_range(np.array([1.0, -1.0])), weight_range(np.array([1.0, 0.0]))
    ((254, 256, 1), (255, 0, 1))
    >>> weight_range(np.array([-1.0, 0.0])), weight_range(np.array([-1.0]), extra_positive=True)
    ((0, 254, 2), (254, 256, 1))
    """
    positive = bool(np.any(q > 0)) or extra_positive
    negative = bool(np.any(q < 0))
    if even:
        return 254, 254, 2
    if conv or (positive and negative):
        return 254, 256, 1
    if negative:
        return 0, 254, 2
    return 255, 0, 1


def quantize(
    q: np.ndarray,
    *,
    extra_positive: bool = False,
    conv: bool = False,
    even: bool = False,
    max_threshold: int = MAX_THRESHOLD,
    threshold: int | None = None,
) -> Quantized:
    """Integer threshold and weights for a matrix ``q`` of weights in threshold units (see the
    module docstring for the equations); ``threshold`` imposes ``θ`` instead.

    >>> quantize(np.array([[0.4]])).threshold  # the conformance LIF: w dt/tau / thr
    637
    >>> quantize(np.array([[0.01]])).threshold  # tiny weights: room for u and v comes first
    2048
    >>> quantize(np.array([[-1.0, -0.5]])).weights.tolist()
    [[-254, -128]]
    """
    q = np.asarray(q, dtype=np.float64)
    hi, lo, grid = weight_range(q, extra_positive=extra_positive, conv=conv, even=even)
    top = float(np.max(q, initial=0.0))
    bottom = float(-np.min(q, initial=0.0))
    limits = [hi / top if top > 0 else math.inf, lo / bottom if bottom > 0 else math.inf]
    theta = min(limits)
    cap = min(max_threshold, hi - grid) if extra_positive else max_threshold
    theta = int(min(max(math.floor(theta) if math.isfinite(theta) else cap, 1), cap))
    if threshold is not None:
        theta = int(threshold)
    exact = theta * q
    w = grid * np.round(exact / grid)
    low = -lo if grid == 1 else -(lo - lo % grid)
    clipped = int(np.sum((w > hi) | (w < low)))
    w = np.clip(w, low, hi).astype(np.int64)
    error = float(np.max(np.abs(w / theta - q), initial=0.0))
    return Quantized(theta, w, grid, clipped, error)


def relay_weight(threshold: int, grid: int = 1) -> int:
    """The weight that makes a neuron at rest fire on its first input, on the grid:
    the smallest multiple of ``grid`` above ``threshold``.

    >>> relay_weight(19), relay_weight(20, grid=2), relay_weight(19, grid=2)
    (20, 22, 20)
    """
    return (threshold // grid + 1) * grid


def decay(keep: float) -> int:
    """Loihi's 12-bit decay for a reference factor ``keep`` kept per step (in ``[0, 1]``)."""
    return int(min(max(round((1.0 - float(keep)) * DECAY_UNITY), 0), DECAY_UNITY))


def kept(decay_value: int) -> float:
    """The factor Loihi keeps per step for a 12-bit ``decay`` (before rounding toward zero).

    >>> kept(1843)
    0.550048828125
    """
    return (DECAY_UNITY - decay_value) / DECAY_UNITY
