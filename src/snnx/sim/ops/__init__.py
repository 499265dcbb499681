"""Every primitive's op, registered in `OPS` by importing its module here."""

from snnx.sim.ops import conv, delay, dense, flatten, neurons, pool  # noqa: F401  (registration)
from snnx.sim.ops.registry import OPS, Context, Op

__all__ = ["OPS", "Context", "Op"]
