"""What `snnx inspect` reports: a JSON-ready summary of a graph, and its text rendering.

>>> import snnx
>>> report = summarize(snnx.read(snnx.example_path("braille")))
>>> report["recurrent_groups"], report["implied_semantics"]["reset"]
([['lif1.lif', 'lif1.w_rec']], 'subtract')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx.errors import printable
from snnx.ir.graph import Graph
from snnx.ir.shapes import GraphShapes
from snnx.provenance import Resolution, resolve


def summarize(
    graph: Graph,
    shapes: GraphShapes | None = None,
    *,
    file: str | None = None,
    resolution: Resolution | None = None,
) -> dict[str, Any]:
    """Nodes (type, shapes, parameter counts, fields), edges, recurrent groups, semantics: the
    stored ones, the implied reset, and ``provenance`` (each knob a run would use, with its
    source: ``resolution``, else `snnx.provenance.resolve` without a profile)."""
    shapes = graph.check() if shapes is None else shapes
    resolution = resolve(graph, warn=False) if resolution is None else resolution
    semantics = graph.semantics
    implied = None
    if semantics is None and graph.legacy_reset:
        implied = {
            "reset": "subtract",
            "reason": f"written by nir {graph.nir_version} (before 1.0.6) and its spiking nodes "
            "carry no v_reset, which meant reset by subtraction",
        }
    return {
        "file": file,
        "nir_version": graph.nir_version,
        "semantics": semantics.to_metadata() if semantics else None,
        "implied_semantics": implied,
        "provenance": resolution.sources,
        "num_params": graph.num_params(),
        **_structure(graph, shapes),
        "warnings": list(shapes.warnings),
    }


def _structure(graph: Graph, shapes: GraphShapes) -> dict[str, Any]:
    nodes = []
    for name in graph.flow_order():
        payload = graph[name]
        shape = shapes[name]
        entry: dict[str, Any] = {
            "name": name,
            "type": payload.type,
            "input_shape": _listed(shape.input),
            "output_shape": _listed(shape.output),
            "num_params": payload.num_params(),
        }
        if isinstance(payload, Graph):
            entry.update(_structure(payload, shape.inner))
        else:
            entry["fields"] = {k: _field(v) for k, v in payload.fields.items()}
        nodes.append(entry)
    return {
        "nodes": nodes,
        "edges": [list(e) for e in graph.edges],
        "recurrent_groups": graph.recurrent_groups(),
    }


def _field(value: Any) -> dict[str, Any] | str:
    if isinstance(value, str):
        return value
    array = np.asarray(value)
    return {"shape": list(array.shape), "dtype": str(array.dtype)}


def _listed(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)


def render_text(report: dict[str, Any]) -> str:
    """The report as aligned text for a terminal; names escaped where they hold control
    characters (`snnx.errors.printable`)."""
    head = report["file"] or "graph"
    version = report["nir_version"] or "in memory"
    lines = [
        f"{head}  (NIR {version}; {_count(report)} nodes, {len(report['edges'])} edges, "
        f"{report['num_params']:,} parameters)"
    ]
    if report["semantics"]:
        knobs = ", ".join(f"{k}={v}" for k, v in report["semantics"].items())
        lines.append(f"semantics: {knobs}")
    else:
        lines.append("semantics: none stored in the file")
    if report["implied_semantics"]:
        implied = report["implied_semantics"]
        lines.append(f"reset: {implied['reset']} (implied: {implied['reason']})")
    lines.append("runs under (knob = value  (source: why)):")
    width = max(map(len, report["provenance"]))
    for knob, entry in report["provenance"].items():
        value = entry["value"]
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        lines.append(f"  {knob:<{width}} = {shown}  ({entry['source']}: {entry['why']})")
    rows: list[tuple[str, ...]] = [("node", "type", "input", "output", "params")]
    _rows(report["nodes"], rows, depth=0)
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines.append("")
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4].rjust(widths[4])]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append("edges:")
    lines += _edges(report, prefix="")
    groups = _groups(report, prefix="")
    lines.append("recurrent groups:" + ("" if groups else " none"))
    lines += groups
    if report["warnings"]:
        lines.append("warnings:")
        lines += [f"  {w}" for w in report["warnings"]]
    return "\n".join(printable(line) for line in lines)


def _count(report: dict[str, Any]) -> int:
    return sum(1 + (_count(n) if "nodes" in n else 0) for n in report["nodes"])


def _rows(nodes: list[dict], rows: list[tuple[str, ...]], depth: int) -> None:
    for node in nodes:
        shape_in = "x".join(map(str, node["input_shape"])) if node["input_shape"] else "-"
        shape_out = "x".join(map(str, node["output_shape"])) if node["output_shape"] else "-"
        rows.append(
            (
                "  " * depth + printable(node["name"]),
                printable(node["type"]),
                shape_in,
                shape_out,
                f"{node['num_params']:,}",
            )
        )
        if "nodes" in node:
            _rows(node["nodes"], rows, depth + 1)


def _edges(report: dict[str, Any], prefix: str) -> list[str]:
    lines = [f"  {prefix}{src} -> {prefix}{dst}" for src, dst in report["edges"]]
    for node in report["nodes"]:
        if "nodes" in node:
            lines += _edges(node, prefix=f"{prefix}{node['name']}/")
    return lines


def _groups(report: dict[str, Any], prefix: str) -> list[str]:
    lines = [f"  {' <-> '.join(prefix + n for n in group)}" for group in report["recurrent_groups"]]
    for node in report["nodes"]:
        if "nodes" in node:
            lines += _groups(node, prefix=f"{prefix}{node['name']}/")
    return lines
