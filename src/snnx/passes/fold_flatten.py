"""Fold a full Flatten into the dense synapse it feeds."""

from __future__ import annotations

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import bypass, each_level, exclusive_pair


@register("fold-flatten")
def fold_flatten(graph: Graph, ctx: PassContext) -> Graph:
    """A ``Flatten(start_dim=0, end_dim=-1)`` feeding only an Affine or Linear is removed: the dense
    weight reads the ``(C, H, W)`` values in row-major order, as the Flatten laid them out (snnx
    accepts an edge between shapes of one size). nir's own type check rejects such edges, so this
    pass is for targets that take flat vectors, not part of the -O levels."""

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if not isinstance(node, Node) or node.type != "Flatten":
                continue
            if int(node.start_dim) != 0 or int(node.end_dim) != -1:
                continue
            following = exclusive_pair(level, name)
            if (
                following is not None
                and SCHEMA[level[following].type].shape == "dense"
                and bypass(level, name)
            ):
                ctx.note("folded Flatten into", path + name, path + following)

    return each_level(graph, rewrite)
