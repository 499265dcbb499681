"""Fuse chains of linear synapses."""

from __future__ import annotations

import math

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import each_level, exclusive_pair, merge_into_first, stored

#: Synapses that are a matrix on flattened values: dense and element-wise ones.
LINEAR = ("dense", "elementwise")


def _linear(node: Node | Graph) -> bool:
    if not isinstance(node, Node):
        return False
    primitive = SCHEMA[node.type]
    return primitive.category == "synapse" and primitive.shape in LINEAR


def as_matrix(node: Node, size_in: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(W, b)`` with ``y = W x + b`` on flattened values (``b`` ``None`` when there is none):
    a Scale is the diagonal matrix of its (broadcast) factors."""
    f = node.fields
    if node.type == "Scale":
        return np.diag(
            np.broadcast_to(np.asarray(f["scale"], np.float64).ravel(), (size_in,))
        ), None
    weight = np.asarray(f["weight"], np.float64)
    bias = (
        np.broadcast_to(np.asarray(f["bias"], np.float64), weight.shape[:1])
        if node.type == "Affine"
        else None
    )
    return weight, bias


def fuse(first: Node, second: Node, size_in: int, size_mid: int) -> Node:
    """``second(first(x))`` as one node: two Scales of one shape multiply; otherwise
    ``W = W2 W1`` and ``b = W2 b1 + b2`` (a Linear when neither has a bias). Results keep the
    inputs' dtype where that is lossless, else float64."""
    like = np.zeros(
        0,
        np.result_type(*(np.asarray(v).dtype for n in (first, second) for v in n.fields.values())),
    )
    if first.type == second.type == "Scale" and np.shape(first.scale) == np.shape(second.scale):
        return Node("Scale", scale=stored(np.asarray(first.scale, np.float64) * second.scale, like))
    w1, b1 = as_matrix(first, size_in)
    w2, b2 = as_matrix(second, size_mid)
    weight = stored(w2 @ w1, like)
    if b1 is None and b2 is None:
        return Node("Linear", weight=weight)
    bias = (w2 @ b1 if b1 is not None else 0) + (b2 if b2 is not None else 0)
    return Node("Affine", weight=weight, bias=stored(np.broadcast_to(bias, weight.shape[:1]), like))


@register("fuse-linear")
def fuse_linear(graph: Graph, ctx: PassContext) -> Graph:
    """``A -> B`` where A and B are Affine, Linear or Scale, A feeds only B and only A feeds B,
    becomes one node (named A): ``W = W_B W_A``, ``b = W_B b_A + b_B``, two Scales of one shape a
    Scale. A fusion that would hold more weights than the two did is left alone.

    >>> import numpy as np
    >>> g = Graph.sequential({"in": Node("Input", shape=[2]), "a": Node("Linear", weight=np.eye(2) * 2),
    ...                       "b": Node("Affine", weight=np.ones((1, 2)), bias=[1.0]), "out": Node("Output", shape=[1])})
    >>> fuse_linear(g, PassContext())["a"]
    Node('Affine', weight=[[2.0, 2.0]], bias=[1.0])
    """

    def rewrite(level: Graph, path: str) -> None:
        changed = True
        while changed:
            changed = False
            shapes = level.check()
            for name in list(level):
                first = level[name]  # every name is current: the loop restarts after a fusion
                if not _linear(first):
                    continue
                following = exclusive_pair(level, name)
                if following is None or not _linear(level[following]):
                    continue
                first, second = level.node(name), level.node(following)
                size_in = math.prod(shapes[name].input)
                size_mid = math.prod(shapes[name].output)
                merged = fuse(first, second, size_in, size_mid)
                if merged.num_params() > first.num_params() + second.num_params():
                    continue
                merge_into_first(level, name, following, merged)
                ctx.note(
                    f"fused {first.type} and {second.type} into {merged.type}",
                    path + name,
                    path + following,
                )
                changed = True
                break

    return each_level(graph, rewrite)
