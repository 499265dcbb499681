"""Compiler passes: each a function ``Graph -> Graph`` in its own file, its rewrite rule in its
docstring, registered by name (`PASSES`); `optimize` runs them by name or by level."""

from snnx.passes import (  # noqa: F401  (registration)
    avgpool_to_sumpool,
    cuba_to_lif,
    delays_to_steps,
    express,
    flatten_subgraphs,
    fold_flatten,
    fold_scale,
    fold_w_in,
    fuse_linear,
    lif_to_cuba,
    merge_delays,
    move_delays,
    normalize_threshold,
    quantize,
    relay_delays,
    remove_dead,
    remove_identity,
    split_delays,
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
