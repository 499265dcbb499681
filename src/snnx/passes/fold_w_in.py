"""The ``fold-w-in`` pass (`fold_w_in`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.passes.base import PassContext, register
from snnx.passes.neuron_forms import reads_file_fields
from snnx.passes.rewrite import each_level, in_edges, stored


@register("fold-w-in")
def fold_w_in(graph: Graph, ctx: PassContext) -> Graph:
    """A current-based neuron fed by one exclusive dense synapse takes ``w_in = 1``: its ``w_in``
    (per neuron) multiplies the synapse's rows and bias instead. Exact wherever the semantics reads
    ``w_in`` (``i`` is linear in the input)."""

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if (
                not isinstance(node, Node)
                or SCHEMA[node.type].neuron != "cuba"
                or "w_in" not in node.fields
            ):
                continue
            if np.all(np.asarray(node.w_in) == 1) or not reads_file_fields(ctx, node.type, "w_in"):
                continue
            ins = in_edges(level, name)
            source = ins[0][0] if len(ins) == 1 else None
            synapse = level[source] if source is not None and source in level else None
            if (
                source is None
                or not isinstance(synapse, Node)
                or SCHEMA[synapse.type].shape != "dense"
                or len(level.successors(source)) != 1
            ):
                ctx.skip("kept w_in: not fed by one exclusive dense synapse", path + name)
                continue
            factor = np.broadcast_to(
                np.asarray(node.w_in, np.float64).ravel(), np.shape(synapse.weight)[:1]
            )
            changes = {
                "weight": stored(
                    np.asarray(synapse.weight, np.float64) * factor[:, None], synapse.weight
                )
            }
            if synapse.type == "Affine":
                bias = np.broadcast_to(np.asarray(synapse.bias, np.float64), factor.shape) * factor
                changes["bias"] = stored(bias, synapse.bias)
            level.replace_node(source, synapse.replace(**changes))
            level.replace_node(name, node.replace(w_in=None))
            ctx.note("w_in folded into the synapse", path + source, path + name)

    return each_level(graph, rewrite)
