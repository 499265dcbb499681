"""Compiler passes: each a function ``Graph -> Graph`` in its own file, its rewrite rule in its
docstring, registered by name (`PASSES`); `optimize` runs them by name or by level."""

from snnx.passes import (  # noqa: F401  (registration)
    avgpool_to_sumpool,
    canonicalize,
    delays,
    flatten_subgraphs,
    fold_flatten,
    fold_scale,
    fuse_linear,
    quantize,
    remove_dead,
    remove_identity,
)
from snnx.passes.base import PASSES, Pass, PassContext
from snnx.passes.manager import LEVELS, EquivalenceError, PassRecord, optimize, pass_names

__all__ = [
    "LEVELS",
    "PASSES",
    "EquivalenceError",
    "Pass",
    "PassContext",
    "PassRecord",
    "optimize",
    "pass_names",
]
