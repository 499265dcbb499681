"""Quantization to float16: the KA200's number format, as a pure function.

``to_float16(x)`` rounds each value to the nearest IEEE 754 binary16 number, ties to even,
straight from float64 (one rounding, not two through float32). Binary16 has 11 significant bits
(relative step ``2^-10``, so a relative error of at most ``2^-11``, about 4.9e-4, for normal
numbers), normal numbers from ``2^-14`` (6.1e-5) to 65504, and subnormals down to ``2^-24``
(6.0e-8) with an absolute step of ``2^-24``. Values above 65504 in magnitude would become
infinite: that is an error naming the node and field, never a silent ``inf``. Values below
``2^-25`` become zero; `rounding` counts them.

The quantization pass's ``lynxi`` preset (`snnx.targets.lynxi.target.Lynxi.quantize_preset`)
rounds with `to_float16`.

>>> to_float16([0.1, 1.0, 2.5e-3]).tolist()
[0.0999755859375, 1.0, 0.0025005340576171875]
>>> rounding([0.1, 1e-9], to_float16([0.1, 1e-9])).flushed
1
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from snnx.errors import LoweringError
from snnx.targets.lynxi.spec import FLOAT16_MAX


def to_float16(
    values: ArrayLike, *, node: str | None = None, field: str | None = None
) -> np.ndarray:
    """``values`` rounded to float16 (nearest, ties to even); a `LoweringError` naming ``node``
    and ``field`` when one is NaN or beyond float16's range."""
    exact = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(exact)):
        raise LoweringError("holds NaN or infinite values", node=node, field=field)
    with np.errstate(over="ignore"):
        rounded = exact.astype(np.float16)
    if not np.all(np.isfinite(rounded)):
        worst = float(exact.flat[np.argmax(np.abs(exact))])
        raise LoweringError(
            f"value {worst:g} does not fit float16 (largest finite {FLOAT16_MAX:g})",
            node=node,
            field=field,
        )
    return rounded


@dataclasses.dataclass(frozen=True)
class Rounding:
    """What rounding did to one array: the largest absolute and relative errors (relative over
    nonzero values), how many nonzero values became zero, how many became subnormal."""

    max_abs_error: float
    max_rel_error: float
    flushed: int
    subnormal: int

    def to_dict(self) -> dict[str, Any]:
        """As a dict of plain numbers (JSON-ready)."""
        return dataclasses.asdict(self)


def rounding(values: ArrayLike, rounded: np.ndarray) -> Rounding:
    """Compare ``values`` with their float16 ``rounded`` form."""
    exact = np.asarray(values, dtype=np.float64)
    back = np.asarray(rounded, dtype=np.float64)
    error = np.abs(back - exact)
    nonzero = exact != 0
    rel = error[nonzero] / np.abs(exact[nonzero])
    tiny = np.finfo(np.float16).tiny
    return Rounding(
        max_abs_error=float(error.max(initial=0.0)),
        max_rel_error=float(rel.max(initial=0.0)),
        flushed=int(np.count_nonzero(nonzero & (back == 0))),
        subnormal=int(np.count_nonzero((back != 0) & (np.abs(back) < tiny))),
    )
