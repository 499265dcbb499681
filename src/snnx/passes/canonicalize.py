"""Canonical neuron forms, for targets that want one: exact rewrites under stated semantics.

Each pass needs ``ctx.semantics`` and applies only where the rewrite keeps the simulation exact under
it (no field override of the fields it touches, the integrator it relies on); elsewhere it notes why
it left a node alone.
"""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import each_level, in_edges, stored
from snnx.semantics import OVERRIDABLE_FIELDS


def _reads_file_fields(ctx: PassContext, type_name: str, *fields: str) -> bool:
    """The semantics reads these fields from the file (no override replaces them)."""
    return ctx.semantics is not None and not (
        set(ctx.semantics.field_overrides(type_name)) & set(fields)
    )


def _euler_new(ctx: PassContext, *types: str) -> bool:
    """Every type runs the same knobs, Euler with the new current."""
    knobs = [ctx.semantics.for_type(t).replace(overrides={}) for t in types]
    return (
        knobs[0].integrator == "euler"
        and knobs[0].current == "new"
        and all(k == knobs[0] for k in knobs)
    )


def _interchangeable(ctx: PassContext, one: str, other: str, where: str) -> bool:
    """Whether a neuron of type ``one`` may become ``other`` exactly: both read their fields from
    the file and run Euler with the new current under the same knobs. Notes the skip otherwise."""
    fields = set(OVERRIDABLE_FIELDS[one]) | set(OVERRIDABLE_FIELDS[other])
    if (
        _reads_file_fields(ctx, one, *fields)
        and _reads_file_fields(ctx, other, *fields)
        and _euler_new(ctx, one, other)
    ):
        return True
    ctx.skip(f"kept {one}: exact only under Euler, new current, no field overrides", where)
    return False


def _like(value, template) -> np.ndarray:
    return np.asarray(np.broadcast_to(value, np.shape(template)), dtype=np.asarray(template).dtype)


@register("lif-to-cuba")
def lif_to_cuba(graph: Graph, ctx: PassContext) -> Graph:
    """``LIF`` becomes ``CubaLIF`` with ``tau_syn = dt`` (and ``LI`` ``CubaLI``), for current-based
    hardware. Under Euler with the new current this is exact: ``i' = i + dt/dt (w_in x - i) = x``,
    so the voltage sees this step's input, as the LIF did."""
    pairs = {"LIF": "CubaLIF", "LI": "CubaLI"}

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if node.type not in pairs:
                continue
            if not _interchangeable(ctx, node.type, pairs[node.type], path + name):
                continue
            f = dict(node.fields)
            tau = f.pop("tau")
            f.update(tau_mem=tau, tau_syn=_like(ctx.semantics.dt, tau))
            level.replace_node(name, Node(pairs[node.type], f, metadata=node.metadata))
            ctx.note(f"{node.type} became {pairs[node.type]} with tau_syn = dt", path + name)

    return each_level(graph, rewrite)


@register("cuba-to-lif")
def cuba_to_lif(graph: Graph, ctx: PassContext) -> Graph:
    """``CubaLIF`` whose ``tau_syn`` is ``dt`` everywhere becomes ``LIF`` with ``r = r w_in`` (and
    ``CubaLI`` ``LI``): the inverse of `lif_to_cuba`, exact under the same semantics."""
    pairs = {"CubaLIF": "LIF", "CubaLI": "LI"}

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if node.type not in pairs or ctx.semantics is None:
                continue
            if not np.allclose(node.tau_syn, ctx.semantics.dt, rtol=1e-12, atol=0):
                continue
            if not _interchangeable(ctx, node.type, pairs[node.type], path + name):
                continue
            f = dict(node.fields)
            f.pop("tau_syn")
            w_in = f.pop("w_in", 1.0)
            f["tau"] = f.pop("tau_mem")
            f["r"] = stored(np.asarray(f["r"], np.float64) * w_in, f["r"])
            level.replace_node(name, Node(pairs[node.type], f, metadata=node.metadata))
            ctx.note(f"{node.type} with tau_syn = dt became {pairs[node.type]}", path + name)

    return each_level(graph, rewrite)


@register("normalize-threshold")
def normalize_threshold(graph: Graph, ctx: PassContext) -> Graph:
    """Spiking neurons get ``v_threshold = 1``: the voltage is measured in thresholds, so
    ``v_threshold``, ``v_leak``, ``v_reset`` and ``r`` are divided by the old threshold. Every
    integrator, reset and spike count is linear in v, so the spikes are unchanged."""

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if node.type not in ("IF", "LIF", "CubaLIF"):
                continue
            theta = np.asarray(node.v_threshold, np.float64)
            if np.all(theta == 1) or np.any(theta <= 0):
                continue
            touched = [k for k in ("r", "v_leak", "v_reset") if k in node.fields]
            if not _reads_file_fields(ctx, node.type, "r", "v_leak", "v_reset"):
                ctx.skip(
                    "kept threshold: the semantics overrides r, v_leak or v_reset", path + name
                )
                continue
            changes = {
                k: stored(np.asarray(node.fields[k], np.float64) / theta, node.fields[k])
                for k in touched
            }
            changes["v_threshold"] = (
                _like(1.0, node.v_threshold)
                if np.ndim(node.v_threshold)
                else np.asarray(1.0, np.asarray(node.v_threshold).dtype)
            )
            level.replace_node(name, node.replace(**changes))
            ctx.note("threshold normalised to 1", path + name)

    return each_level(graph, rewrite)


@register("fold-w-in")
def fold_w_in(graph: Graph, ctx: PassContext) -> Graph:
    """A current-based neuron fed by one exclusive dense synapse takes ``w_in = 1``: its ``w_in``
    (per neuron) multiplies the synapse's rows and bias instead. Exact wherever the semantics reads
    ``w_in`` (``i`` is linear in the input)."""

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if node.type not in ("CubaLIF", "CubaLI") or "w_in" not in node.fields:
                continue
            if np.all(np.asarray(node.w_in) == 1) or not _reads_file_fields(ctx, node.type, "w_in"):
                continue
            ins = in_edges(level, name)
            source = ins[0][0] if len(ins) == 1 else None
            if (
                source not in level
                or level[source].type not in ("Affine", "Linear")
                or len(level.successors(source)) != 1
            ):
                ctx.skip("kept w_in: not fed by one exclusive dense synapse", path + name)
                continue
            synapse = level[source]
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
