"""Time constants as Xylo bit-shift decays (``dash``), and the error that makes.

Xylo decays a state ``x`` by ``x -= x >> dash`` each step: a factor ``a = 1 - 2^-dash`` per step
(up to rounding), so ``dash`` 0..15 gives ``a`` = 0, 1/2, 3/4, 7/8, ... The reference's own
per-step factor ``A`` (``1 - dt/tau`` under Euler, ``exp(-dt/tau)`` under the exact
integrators) is matched in the logarithm of its time constant in steps:

    dash = round(log2(1 / (1 - A)))      (numpy rounding: halves to even)

which under Euler is ``round(log2(tau / dt))``, Rockpool's own rule. The error is reported as the
relative change of the time constant ``-dt / ln(a)`` against ``-dt / ln(A)``.

>>> int(dash_for(1 - 1e-4 / 1e-3))       # tau = 10 dt -> log2(10) = 3.32
3
>>> float(chip_decay(3))
0.875
>>> round(tau_error(0.9, 3), 3)           # the chip's 7.49 steps against 9.49
-0.211
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from snnx.targets.xylo.spec import DASH_MAX


def dash_for(decay: ArrayLike, low: int = 0, high: int = DASH_MAX) -> np.ndarray:
    """The bit shift whose decay ``1 - 2^-dash`` is nearest ``decay`` in time constant, clipped
    to ``[low, high]`` (a decay of 1, no leak at all, gets ``high``)."""
    a = np.clip(np.asarray(decay, np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        shift = np.log2(1.0 / (1.0 - a))
    return np.clip(np.round(np.nan_to_num(shift, posinf=high)), low, high).astype(np.int64)


def chip_decay(dash: ArrayLike) -> np.ndarray:
    """The per-step factor ``1 - 2^-dash`` of a bit-shift decay."""
    return 1.0 - 2.0 ** -np.asarray(dash, np.float64)


def steps(decay: ArrayLike) -> np.ndarray:
    """The time constant, in steps, of a per-step factor: ``-1 / ln(decay)`` (inf for 1, 0 for
    0)."""
    a = np.clip(np.asarray(decay, np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(a >= 1.0, np.inf, -1.0 / np.log(np.where(a >= 1.0, 0.5, a)))


def tau_error(decay: ArrayLike, dash: ArrayLike) -> float:
    """The largest relative error of the chip's time constant against the reference's (0 where
    both are infinite or both zero)."""
    ref, chip = steps(decay), steps(chip_decay(dash))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(ref == chip, 0.0, (chip - ref) / ref)
    rel = np.nan_to_num(rel, nan=0.0, posinf=np.inf)
    return float(rel.flat[np.argmax(np.abs(rel))]) if rel.size else 0.0


def describe(node: str, what: str, decay: Any, dash: ArrayLike) -> str:
    """A note for the report: the reference decay, the shift chosen and the time-constant error.

    >>> describe("lif1", "tau_mem", [0.9, 0.9], [3, 3])
    'lif1: tau_mem decays 0.9/step (9.49 steps) -> dash 3, 0.875/step (7.49 steps): tau -21.1 %'
    """
    decay, dash = np.ravel(decay), np.ravel(dash)
    ref, chip = _span(decay, "{:.4g}"), _span(chip_decay(dash), "{:.4g}")
    ref_steps, chip_steps = _span(steps(decay), "{:.3g}"), _span(steps(chip_decay(dash)), "{:.3g}")
    shifts = _span(dash, "{:d}")
    return (
        f"{node}: {what} decays {ref}/step ({ref_steps} steps) -> dash {shifts}, {chip}/step "
        f"({chip_steps} steps): tau {100 * tau_error(decay, dash):+.1f} %"
    )


def _span(values: ArrayLike, fmt: str) -> str:
    lo, hi = np.min(values), np.max(values)
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}..{fmt.format(hi)}"
