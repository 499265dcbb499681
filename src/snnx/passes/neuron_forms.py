"""What the canonical neuron-form passes share (``lif-to-cuba``, ``cuba-to-lif``,
``normalize-threshold``, ``fold-w-in``): exact rewrites under stated semantics.

Each pass needs ``ctx.semantics`` and applies only where the rewrite keeps the simulation exact under
it (no field override of the fields it touches, the integrator it relies on); elsewhere it notes why
it left a node alone.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from snnx import dynamics
from snnx.passes.base import PassContext
from snnx.semantics import OVERRIDABLE_FIELDS


def reads_file_fields(ctx: PassContext, type_name: str, *fields: str) -> bool:
    """The semantics reads these fields from the file (no override replaces them)."""
    return ctx.semantics is not None and not (
        set(dynamics.fixed_fields(type_name, ctx.semantics)) & set(fields)
    )


def euler_new(ctx: PassContext, *types: str) -> bool:
    """Every type runs the same knobs, Euler with the new current."""
    if ctx.semantics is None:
        return False
    knobs = [ctx.semantics.for_type(t).replace(overrides={}) for t in types]
    return (
        knobs[0].integrator == "euler"
        and knobs[0].current == "new"
        and all(k == knobs[0] for k in knobs)
    )


def interchangeable(ctx: PassContext, one: str, other: str, where: str) -> bool:
    """Whether a neuron of type ``one`` may become ``other`` exactly: both read their fields from
    the file and run Euler with the new current under the same knobs. Notes the skip otherwise."""
    fields = set(OVERRIDABLE_FIELDS[one]) | set(OVERRIDABLE_FIELDS[other])
    if (
        reads_file_fields(ctx, one, *fields)
        and reads_file_fields(ctx, other, *fields)
        and euler_new(ctx, one, other)
    ):
        return True
    ctx.skip(f"kept {one}: exact only under Euler, new current, no field overrides", where)
    return False


def like(value: ArrayLike, template: ArrayLike) -> np.ndarray:
    return np.asarray(np.broadcast_to(value, np.shape(template)), dtype=np.asarray(template).dtype)
