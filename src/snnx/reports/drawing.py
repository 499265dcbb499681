"""A picture of a graph: nodes in layers from inputs (top) to outputs, subgraphs boxed, recurrence red.

Layout: a depth-first walk from the `Input` nodes (in edge order) finds the back edges, the ones
that close a cycle; without them the graph is acyclic, and each node sits in the layer of its
longest path from an input. Back edges are drawn as red arcs. Every node of a subgraph, its own
`Input`/`Output` nodes included, is drawn inside a labelled box, with the subgraph's name.

Each edge is labelled with what it carries (`edge_label`): the shape of the values, and when they
arrive late, by how much: a back edge carries the previous step's value (``+1 step``, as the
simulator runs recurrence), an edge out of a `Delay` node its delay.

>>> import snnx, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "braille.svg")
>>> draw(snnx.read(snnx.example_path("braille")), path)
>>> os.path.getsize(path) > 1000
True
"""

from __future__ import annotations

import os

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from snnx.atomic import atomic_path
from snnx.errors import SnnxError
from snnx.ir.graph import Graph, back_edges
from snnx.ir.schema import SCHEMA
from snnx.ir.shapes import GraphShapes

FORMATS = (".svg", ".png", ".pdf")
_COLOURS = {
    "io": "#d9d9d9",
    "synapse": "#9ecae1",
    "neuron": "#fdae6b",
    "other": "#c7e9c0",
}
#: How a primitive's category is drawn (`snnx.ir.schema`).
_KINDS = {
    "io": "io",
    "synapse": "synapse",
    "pool": "synapse",
    "reshape": "synapse",
    "neuron": "neuron",
    "threshold": "neuron",
}


def draw(graph: Graph, path: str | os.PathLike, shapes: GraphShapes | None = None) -> None:
    """Draw ``graph`` to ``path`` (``.svg``, ``.png`` or ``.pdf``)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in FORMATS:
        raise SnnxError(
            f"cannot draw to {suffix or 'a file without extension'}; use one of {', '.join(FORMATS)}",
            file=path,
        )
    shapes = graph.check() if shapes is None else shapes
    display: nx.DiGraph[str] = nx.DiGraph()
    labels: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    _collect(graph, shapes, "", display, labels, groups)
    back = back_edges(
        display,
        [n for n in display if display.nodes[n]["kind"] == "io" and not display.in_degree(n)],
    )
    layers = _layers(display, back)
    positions = _positions(layers)
    _render(display, labels, groups, positions, back, path)


def _collect(
    graph: Graph,
    shapes: GraphShapes,
    prefix: str,
    display: nx.DiGraph,
    labels: dict[str, str],
    groups: dict[str, list[str]],
) -> None:
    for name, payload in graph.nodes.items():
        full = prefix + name
        if isinstance(payload, Graph):
            _collect(payload, shapes[name].inner, f"{full}/", display, labels, groups)
            groups[full] = [n for n in display if n.startswith(f"{full}/")]
            continue
        shape = shapes[name].output
        kind = _KINDS.get(SCHEMA[payload.type].category, "other")
        display.add_node(full, kind=kind)
        labels[full] = f"{name}\n{payload.type} {'x'.join(map(str, shape))}"
    for u, v, _, data in graph.edge_records():
        source = _endpoint(graph, prefix, u, data["src_port"], "Output")
        carried = _carried(graph, shapes, u, data["src_port"])
        display.add_edge(source, _endpoint(graph, prefix, v, data["dst_port"], "Input"), **carried)


def _carried(graph: Graph, shapes: GraphShapes, name: str, port: str | None) -> dict:
    """The shape an edge out of ``name`` carries and the delay its source adds (seconds)."""
    payload = graph[name]
    if isinstance(payload, Graph):
        port = port or payload.of_type("Output")[0]
        return _carried(payload, shapes[name].inner, port, None)
    delay = payload.get("delay") if payload.type == "Delay" else None
    return {"shape": tuple(shapes[name].output), "delay": delay}


def edge_label(shape: tuple[int, ...], delay: ArrayLike | None = None, back: bool = False) -> str:
    """What an edge carries, for its label.

    >>> edge_label((2, 34, 34)), edge_label((38,), back=True), edge_label((7,), delay=0.002)
    ('2x34x34', '38, +1 step', '7, delay 0.002 s')
    """
    text = "x".join(map(str, shape))
    if back:
        text += ", +1 step"
    if delay is not None:
        values = sorted({float(d) for d in np.ravel(delay)})
        shown = f"{values[0]:g}" if len(values) == 1 else f"{values[0]:g}-{values[-1]:g}"
        text += f", delay {shown} s"
    return text


def _endpoint(graph: Graph, prefix: str, name: str, port: str | None, kind: str) -> str:
    payload = graph[name]
    if not isinstance(payload, Graph):
        return prefix + name
    port = port or payload.of_type(kind)[0]
    return _endpoint(payload, f"{prefix}{name}/", port, None, kind)


def _layers(display: nx.DiGraph, back: set[tuple[str, str]]) -> list[list[str]]:
    dag = nx.DiGraph([e for e in display.edges if e not in back])
    dag.add_nodes_from(display)
    depth: dict[str, int] = {}
    for node in nx.topological_sort(dag):
        depth[node] = max((depth[p] + 1 for p in dag.predecessors(node)), default=0)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for node in display:
        layers[depth[node]].append(node)
    return layers


def _positions(layers: list[list[str]]) -> dict[str, tuple[float, float]]:
    positions = {}
    for x, layer in enumerate(layers):  # x: the layer, drawn as a row
        for i, node in enumerate(layer):
            positions[node] = ((i - (len(layer) - 1) / 2) * 2.4, -x * 1.3)
    return positions


def _render(
    display: nx.DiGraph,
    labels: dict[str, str],
    groups: dict[str, list[str]],
    positions: dict[str, tuple[float, float]],
    back: set[tuple[str, str]],
    path: str | os.PathLike,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    fig, ax = plt.subplots(
        figsize=(max(5.0, (max(xs) - min(xs)) * 0.9 + 3), max(3.0, (max(ys) - min(ys)) * 0.75 + 2))
    )
    for depth, (name, members) in enumerate(sorted(groups.items(), key=lambda g: -len(g[1]))):
        gx = [positions[m][0] for m in members]
        gy = [positions[m][1] for m in members]
        pad = 0.9 - 0.1 * depth
        ax.add_patch(
            FancyBboxPatch(
                (min(gx) - pad - 0.4, min(gy) - 0.5),
                max(gx) - min(gx) + 2 * pad + 0.8,
                max(gy) - min(gy) + 1.2,
                boxstyle="round,pad=0.05",
                fc="none",
                ec="#636363",
                ls="--",
                lw=1,
            )
        )
        ax.text(min(gx) - pad - 0.35, max(gy) + 0.65, name, fontsize=8, color="#636363", va="top")
    for u, v, data in display.edges(data=True):
        recurrent = (u, v) in back or u == v
        (x0, y0), (x1, y1) = positions[u], positions[v]
        bend = 0.25 * np.hypot(x1 - x0, y1 - y0) if recurrent else 0.0
        ax.text(
            (x0 + x1) / 2 + bend * (y1 - y0) / max(np.hypot(x1 - x0, y1 - y0), 1e-9),
            (y0 + y1) / 2 - bend * (x1 - x0) / max(np.hypot(x1 - x0, y1 - y0), 1e-9),
            edge_label(data["shape"], data["delay"], back=recurrent),
            fontsize=6,
            ha="center",
            va="center",
            color="#d62728" if recurrent else "#525252",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
        ax.add_patch(
            FancyArrowPatch(
                positions[u],
                positions[v],
                arrowstyle="-|>",
                mutation_scale=12,
                connectionstyle="arc3,rad=0.5" if recurrent else "arc3,rad=0.0",
                color="#d62728" if recurrent else "#525252",
                lw=1.6 if recurrent else 1.0,
                shrinkA=14,
                shrinkB=14,
                zorder=1,
            )
        )
    for node, (x, y) in positions.items():
        ax.text(
            x,
            y,
            labels[node],
            ha="center",
            va="center",
            fontsize=8,
            zorder=2,
            bbox={
                "boxstyle": "round,pad=0.4",
                "fc": _COLOURS[display.nodes[node]["kind"]],
                "ec": "#525252",
            },
        )
    handles = [Patch(fc=c, ec="#525252", label=k) for k, c in _COLOURS.items()]
    handles.append(Patch(fc="#d62728", label="recurrent edge"))
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=5,
        fontsize=7,
        frameon=False,
    )
    ax.set_xlim(min(xs) - 2.0, max(xs) + 2.0)
    ax.set_ylim(min(ys) - 1.0, max(ys) + 1.0)
    ax.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=os.path.splitext(os.fspath(path))[1][1:].lower())
    plt.close(fig)
