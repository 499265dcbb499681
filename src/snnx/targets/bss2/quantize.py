"""6-bit signed weights as BrainScaleS-2 stores them: one scale per projection, signs split.

A synapse holds a magnitude ``0..63``; the sign belongs to the synapse row. A real weight matrix
``w`` becomes

    q = clamp(rint(scale * w), -63, 63)        (integers; ``rint``: nearest, ties to even)
    excitatory = max(q, 0),  inhibitory = max(-q, 0)      (both 0..63, on separate rows)
    w_chip = q / scale = (excitatory - inhibitory) / scale

With ``scale = 63 / max|w|`` (the default) nothing saturates and the error is at most
``0.5 / scale`` per weight. A fixed ``scale`` (hxtorch's NIR import uses 64) may saturate: the
count of clipped weights is reported. Projections that must share one weight unit (all inputs of a
neuron share its synaptic-input calibration) take `shared_scale` of their matrices.

The quantization pass's ``bss2`` preset (`snnx.targets.bss2.target.BrainScaleS2.quantize_preset`)
puts weights on this grid (7 bits: 6-bit magnitudes and a sign).

>>> import numpy as np
>>> qw = quantize(np.array([[0.5, -1.0], [0.25, 0.0]]))
>>> qw.scale, qw.q.tolist()
(63.0, [[32, -63], [16, 0]])
>>> qw.excitatory.tolist(), qw.inhibitory.tolist()
([[32, 0], [16, 0]], [[0, 63], [0, 0]])
>>> float(abs(qw.dequantized - np.array([[0.5, -1.0], [0.25, 0.0]])).max()) <= 0.5 / qw.scale
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from snnx.targets.bss2.spec import LIMITS


@dataclasses.dataclass(frozen=True)
class QuantizedWeights:
    """A weight matrix in the chip's format: signed integers ``q`` and ``scale`` (LSB per unit
    of weight), with the number of weights that saturated at +-63."""

    q: np.ndarray
    scale: float
    clipped: int

    @property
    def excitatory(self) -> np.ndarray:
        """Magnitudes on excitatory rows (``uint8``, 0..63)."""
        return np.maximum(self.q, 0).astype(np.uint8)

    @property
    def inhibitory(self) -> np.ndarray:
        """Magnitudes on inhibitory rows (``uint8``, 0..63)."""
        return np.maximum(-self.q, 0).astype(np.uint8)

    @property
    def dequantized(self) -> np.ndarray:
        """The weights the chip applies, ``q / scale`` (float64)."""
        return self.q.astype(np.float64) / self.scale

    @property
    def signs(self) -> int:
        """How many row signs the matrix needs: 0 (all zero), 1 or 2."""
        return int(bool((self.q > 0).any())) + int(bool((self.q < 0).any()))


def auto_scale(weight: np.ndarray, bits: int = LIMITS.weight_bits) -> float:
    """``(2**bits - 1) / max|w|``: the scale that uses the whole range (1.0 for all zeros).

    >>> auto_scale(np.array([0.5, -2.0]))
    31.5
    """
    return shared_scale([weight], bits)


def shared_scale(weights: Iterable[np.ndarray], bits: int = LIMITS.weight_bits) -> float:
    """One scale for several matrices (the largest magnitude among them sets it).

    >>> shared_scale([np.array([1.0]), np.array([-3.0])])
    21.0
    """
    peak = max((float(np.max(np.abs(w), initial=0.0)) for w in weights), default=0.0)
    scale = (2**bits - 1) / peak if peak > 0 else 1.0
    return scale if np.isfinite(scale) else 1.0  # subnormal weights: zeros on the chip


def quantize(
    weight: np.ndarray, scale: float | None = None, bits: int = LIMITS.weight_bits
) -> QuantizedWeights:
    """``weight`` in the chip's signed ``bits``-bit format (see the module docstring).

    >>> quantize(np.array([2.0, -0.01]), scale=64.0).q.tolist(), quantize(np.array([2.0]), 64.0).clipped
    ([63, -1], 1)
    """
    w = np.asarray(weight, dtype=np.float64)
    if scale is None:
        scale = auto_scale(w, bits)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"the weight scale must be a positive number, got {scale!r}")
    top = 2**bits - 1
    scaled = np.rint(w * scale)
    clipped = int(np.count_nonzero(np.abs(scaled) > top))
    q = np.clip(scaled, -top, top).astype(np.int16)
    return QuantizedWeights(q=q, scale=float(scale), clipped=clipped)


def from_rows(excitatory: np.ndarray, inhibitory: np.ndarray, scale: float) -> QuantizedWeights:
    """The inverse of the split: rows read back from an artifact.

    >>> from_rows(np.array([[3, 0]]), np.array([[0, 5]]), 2.0).dequantized.tolist()
    [[1.5, -2.5]]
    """
    exc = np.asarray(excitatory, dtype=np.int16)
    inh = np.asarray(inhibitory, dtype=np.int16)
    if exc.shape != inh.shape:
        raise ValueError(f"excitatory {exc.shape} and inhibitory {inh.shape} rows differ in shape")
    if ((exc > 0) & (inh > 0)).any():
        raise ValueError("a synapse cannot be both excitatory and inhibitory")
    top = LIMITS.weight_max
    if (
        exc.min(initial=0) < 0
        or inh.min(initial=0) < 0
        or max(exc.max(initial=0), inh.max(initial=0)) > top
    ):
        raise ValueError(f"row weights must lie in 0..{top}")
    return QuantizedWeights(q=exc - inh, scale=float(scale), clipped=0)
