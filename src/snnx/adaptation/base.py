"""What each target's adapter provides to the common loop (`snnx.adaptation.loop`).

An adapter turns a `Lowered` network into free parameters (a pytree of float arrays, in units
where one optimizer step of a given size means the same everywhere), runs the target's numerics
on them differentiably (straight-through rounding, surrogate spikes: `snnx.adaptation.surrogate`)
and writes them back as a `Lowered` whose program is again the chip's integers, within its
limits. The forward pass equals the target's exact numerics wherever float32 holds the values
exactly (the exact simulators of `snnx.targets` check the result).
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
import numpy as np

from snnx.targets.base import Lowered

Params = dict[str, Any]


class Adapter(Protocol):
    """A target's part of adaptation; ``learning_rate``: Adam's step size that suits its
    parameters' units; ``batch``: the minibatch that keeps a Braille-sized network's adaptation
    under a minute on two CPU cores."""

    learning_rate: float
    batch: int

    def init(self, lowered: Lowered) -> Params:
        """The free parameters of ``lowered``'s program, as float arrays."""
        ...

    def feed(self, lowered: Lowered, inputs: np.ndarray) -> np.ndarray:
        """``inputs`` ``(T, B, *shape)`` as the target's network receives them."""
        ...

    def forward(self, lowered: Lowered, params: Params, x: jax.Array) -> dict[str, jax.Array]:
        """Target layer name -> ``(T, B, size)`` spike counts, differentiable in ``params``
        (pure: jit-compiled by the loop, ``lowered`` held fixed)."""
        ...

    def apply(self, lowered: Lowered, params: Params) -> Lowered:
        """``lowered`` with ``params`` written into its program as the chip's integers."""
        ...
