"""The ``normalize-threshold`` pass (`normalize_threshold`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SPIKING_NEURONS
from snnx.passes.base import PassContext, register
from snnx.passes.neuron_forms import like, reads_file_fields
from snnx.passes.rewrite import each_level, stored


@register("normalize-threshold")
def normalize_threshold(graph: Graph, ctx: PassContext) -> Graph:
    """Spiking neurons get ``v_threshold = 1``: the voltage is measured in thresholds, so
    ``v_threshold``, ``v_leak``, ``v_reset`` and ``r`` are divided by the old threshold. Every
    integrator, reset and spike count is linear in v, so the spikes are unchanged."""

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if not isinstance(node, Node) or node.type not in SPIKING_NEURONS:
                continue
            theta = np.asarray(node.v_threshold, np.float64)
            if np.all(theta == 1) or np.any(theta <= 0):
                continue
            touched = [k for k in ("r", "v_leak", "v_reset") if k in node.fields]
            if not reads_file_fields(ctx, node.type, "r", "v_leak", "v_reset"):
                ctx.skip(
                    "kept threshold: the semantics overrides r, v_leak or v_reset", path + name
                )
                continue
            changes = {
                k: stored(np.asarray(node.fields[k], np.float64) / theta, node.fields[k])
                for k in touched
            }
            changes["v_threshold"] = (
                like(1.0, node.v_threshold)
                if np.ndim(node.v_threshold)
                else np.asarray(1.0, np.asarray(node.v_threshold).dtype)
            )
            level.replace_node(name, node.replace(**changes))
            ctx.note("threshold normalised to 1", path + name)

    return each_level(graph, rewrite)
