"""Fold per-channel scalings into neighbouring convolutions."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import each_level, exclusive_pair, merge_into_first, stored


def per_channel(scale: ArrayLike, shape: tuple[int, ...]) -> np.ndarray | None:
    """The factor of each channel when ``scale`` (broadcast to ``shape``, channels first) is
    constant over the other dimensions; else ``None``."""
    full = np.broadcast_to(np.asarray(scale, np.float64), shape).reshape(shape[0], -1)
    return full[:, 0].copy() if np.all(full == full[:, :1]) else None


def scale_inputs(conv: Node, factor: np.ndarray) -> Node:
    """A convolution fed ``factor[c] * x[c]``: input channel ``c`` of group ``g`` is column
    ``c - g C_in/groups`` of that group's output channels."""
    weight = np.asarray(conv.weight, np.float64).copy()
    groups = int(conv.groups)
    per_group_in, per_group_out = weight.shape[1], weight.shape[0] // groups
    for g in range(groups):
        rows = slice(g * per_group_out, (g + 1) * per_group_out)
        local = factor[g * per_group_in : (g + 1) * per_group_in]
        weight[rows] *= local.reshape(1, -1, *([1] * (weight.ndim - 2)))
    return conv.replace(weight=stored(weight, conv.weight))


def scale_outputs(conv: Node, factor: np.ndarray) -> Node:
    """A convolution followed by ``factor[o] * y[o]``: output channel ``o``'s kernel and bias scale."""
    weight = np.asarray(conv.weight, np.float64) * factor.reshape(
        -1, *([1] * (np.ndim(conv.weight) - 1))
    )
    bias = np.broadcast_to(np.asarray(conv.bias, np.float64), factor.shape) * factor
    return conv.replace(weight=stored(weight, conv.weight), bias=stored(bias, conv.bias))


@register("fold-scale")
def fold_scale(graph: Graph, ctx: PassContext) -> Graph:
    """``Scale -> Conv`` (the Scale per input channel) folds into the kernel's input columns;
    ``Conv -> Scale`` (per output channel) into the kernel and bias. Either pair must be exclusive.
    (A Scale beside a dense synapse is `fuse-linear`'s.)"""

    def rewrite(level: Graph, path: str) -> None:
        while _fold_one(level, path, ctx):  # a fold can make a new pair (Scale -> Conv -> Scale)
            pass

    return each_level(graph, rewrite)


def _fold_one(level: Graph, path: str, ctx: PassContext) -> bool:
    """Fold the first foldable pair of ``level``; whether there was one."""
    shapes = level.check()
    for name in list(level):
        following = exclusive_pair(level, name)
        if following is None:
            continue
        first, second = level[name], level[following]
        if not isinstance(first, Node) or not isinstance(second, Node):
            continue
        if first.type == "Scale" and SCHEMA[second.type].shape == "conv":
            factor = per_channel(first.scale, shapes[name].output)
            if factor is not None:
                merge_into_first(level, name, following, scale_inputs(second, factor))
                ctx.note(
                    "folded Scale into the next convolution's inputs", path + name, path + following
                )
                return True
        elif SCHEMA[first.type].shape == "conv" and second.type == "Scale":
            factor = per_channel(second.scale, shapes[following].output)
            if factor is not None:
                merge_into_first(level, name, following, scale_outputs(first, factor))
                ctx.note(
                    "folded Scale into the convolution's outputs", path + name, path + following
                )
                return True
    return False
