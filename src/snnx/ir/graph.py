"""`Graph`: a NIR graph held in a networkx multigraph, with per-node annotations.

Each networkx node carries ``node`` (a `Node` or a nested `Graph`) and ``annotations`` (a dict for
what passes and targets add). Each edge carries the endpoint names exactly as written, the ports it
addresses inside a subgraph, and its position in the NIR edge list (the edge key), so edge order
survives a round trip. Several edges into one node are summed; cycles and self-loops are legal.

An edge endpoint ``"sub.x"`` that is not itself a node name addresses the `Input` (as destination)
or `Output` (as source) node ``x`` of subgraph ``sub``; a bare ``"sub"`` addresses its only one.

>>> g = Graph()
>>> g.add_node("in", Node("Input", shape=[2]))
>>> g.add_node("w", Node("Linear", weight=[[1.0, 0.5]]))
>>> g.add_node("out", Node("Output", shape=[1]))
>>> g.add_edge("in", "w"); g.add_edge("w", "out")
>>> g.edges, g.inputs, g.outputs
([('in', 'w'), ('w', 'out')], ['in'], ['out'])
"""

from __future__ import annotations

import copy
import difflib
import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Union

import networkx as nx

from snnx.errors import GraphError
from snnx.ir.node import Node, normalise_value, values_equal
from snnx.ir.schema import SCHEMA, SPIKING_NEURONS

if TYPE_CHECKING:
    import nir

    from snnx.ir.shapes import GraphShapes
    from snnx.semantics import Semantics

Payload = Union[Node, "Graph"]

#: nir versions before this one meant "reset by subtraction" and wrote no ``v_reset``.
V_RESET_SINCE = (1, 0, 6)


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``"0.2.0"`` -> ``(0, 2, 0)``; ``None`` (or an unparsable string) -> ``None``.

    >>> parse_version("1.0.6.dev3")
    (1, 0, 6)
    """
    if text is None:
        return None
    parts = []
    for piece in text.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None


def near_match(name: str, names: list[str]) -> str | None:
    """The one name in ``names`` close to ``name`` (a typo, a dropped or added suffix), if exactly
    one is; ``None`` otherwise.

    >>> near_match("lif", ["input", "lif1", "output"]), near_match("x", ["a", "b"])
    ('lif1', None)
    """
    close = difflib.get_close_matches(name, names, n=2, cutoff=0.75)
    return close[0] if len(close) == 1 else None


class Graph:
    """A NIR graph: named nodes (primitives or subgraphs), ordered edges, metadata.

    ``nir_version`` is the version string of the file the graph was read from (kept on write);
    ``None`` for graphs built in memory.
    """

    type = "NIRGraph"

    def __init__(
        self,
        nodes: Mapping[str, Payload] | None = None,
        edges: Any = (),
        *,
        metadata: Mapping[str, Any] | None = None,
        nir_version: str | None = None,
    ) -> None:
        self.nx: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self.metadata: dict[str, Any] | None = (
            None if metadata is None else normalise_value(dict(metadata))
        )
        self.nir_version = nir_version
        self._order = itertools.count()
        for name, payload in (nodes or {}).items():
            self.add_node(name, payload)
        for src, dst in edges:
            self.add_edge(src, dst)

    @classmethod
    def sequential(cls, nodes: Mapping[str, Payload], **kwargs: Any) -> Graph:
        """A chain: each node feeds the next, in the order given.

        >>> Graph.sequential({"in": Node("Input", shape=[3]), "out": Node("Output", shape=[3])}).edges
        [('in', 'out')]
        """
        names = list(nodes)
        return cls(nodes, list(itertools.pairwise(names)), **kwargs)

    # -- nodes -------------------------------------------------------------------------------

    def add_node(self, name: str, payload: Payload, annotations: Mapping | None = None) -> None:
        """Add a node; its name may contain dots but not ``/`` (NIR files cannot store that)."""
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
            raise GraphError(f"node names must be non-empty strings without '/', got {name!r}")
        if name in self.nx:
            raise GraphError("duplicate node name", node=name)
        if not isinstance(payload, (Node, Graph)):
            raise GraphError(
                f"a node must be a snnx Node or Graph, got {type(payload).__name__}", node=name
            )
        self.nx.add_node(name, node=payload, annotations=dict(annotations or {}))

    def remove_node(self, name: str) -> None:
        """Remove a node and every edge touching it."""
        self._require(name)
        self.nx.remove_node(name)

    def replace_node(self, name: str, payload: Payload) -> None:
        """Put a new payload in place of a node, keeping its edges and annotations."""
        self._require(name)
        self.nx.nodes[name]["node"] = payload

    def __getitem__(self, name: str) -> Payload:
        self._require(name)
        return self.nx.nodes[name]["node"]

    def node(self, name: str) -> Node:
        """The primitive called ``name``; a `GraphError` if it is a subgraph.

        >>> Graph.sequential({"in": Node("Input", shape=[3]), "out": Node("Output", shape=[3])}).node("in").type
        'Input'
        """
        payload = self[name]
        if not isinstance(payload, Node):
            raise GraphError("a subgraph where a primitive is needed", node=name)
        return payload

    def subgraph(self, name: str) -> Graph:
        """The subgraph called ``name``; a `GraphError` if it is a primitive.

        >>> inner = Graph.sequential({"in": Node("Input", shape=[2]), "out": Node("Output", shape=[2])})
        >>> Graph({"sub": inner}).subgraph("sub") is inner
        True
        """
        payload = self[name]
        if not isinstance(payload, Graph):
            raise GraphError(f"a {payload.type} where a subgraph is needed", node=name)
        return payload

    @property
    def primitives(self) -> dict[str, Node]:
        """Node name -> primitive, for a graph without subgraphs (`flatten`'s); a `GraphError`
        naming the first subgraph otherwise.

        >>> list(Graph.sequential({"in": Node("Input", shape=[2]), "out": Node("Output", shape=[2])}).primitives)
        ['in', 'out']
        """
        return {name: self.node(name) for name in self.nx.nodes}

    def __contains__(self, name: object) -> bool:
        return name in self.nx

    def __iter__(self) -> Iterator[str]:
        return iter(self.nx.nodes)

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    @property
    def nodes(self) -> dict[str, Payload]:
        """Node name -> payload, in insertion order (a fresh dict)."""
        return {name: data["node"] for name, data in self.nx.nodes(data=True)}

    def annotations(self, name: str) -> dict[str, Any]:
        """The mutable annotations dict of a node (quantization scales, placement, ...)."""
        self._require(name)
        return self.nx.nodes[name]["annotations"]

    def of_type(self, *types: str) -> list[str]:
        """Names of the nodes whose type is one of ``types``."""
        return [name for name, node in self.nodes.items() if node.type in types]

    @property
    def inputs(self) -> list[str]:
        """Names of the `Input` nodes."""
        return self.of_type("Input")

    @property
    def outputs(self) -> list[str]:
        """Names of the `Output` nodes."""
        return self.of_type("Output")

    def _require(self, name: str) -> None:
        if name not in self.nx:
            raise GraphError("no such node", node=name)

    # -- edges -------------------------------------------------------------------------------

    def add_edge(self, src: str, dst: str, *, allow_duplicate: bool = False) -> None:
        """Append an edge ``src -> dst`` (endpoints may address subgraph ports, ``"sub.x"``).

        A second identical edge is an error unless ``allow_duplicate``: in memory it means the
        value is summed twice (flattening can need that), but NIR files cannot hold it.
        """
        src, dst = str(src), str(dst)
        u, src_port = self.resolve(src, "src", (src, dst))
        v, dst_port = self.resolve(dst, "dst", (src, dst))
        if not allow_duplicate and self.has_edge(src, dst):
            raise GraphError(f"duplicate edge ({src!r}, {dst!r})", field="edges")
        self.nx.add_edge(
            u, v, key=next(self._order), src=src, dst=dst, src_port=src_port, dst_port=dst_port
        )

    def has_edge(self, src: str, dst: str) -> bool:
        """Whether an edge written ``src -> dst`` exists."""
        try:
            u, _ = self.resolve(src, "src")
            v, _ = self.resolve(dst, "dst")
        except GraphError:
            return False
        return any(
            (d["src"], d["dst"]) == (src, dst) for d in (self.nx.get_edge_data(u, v) or {}).values()
        )

    def remove_edge(self, src: str, dst: str) -> None:
        """Remove the edge written ``src -> dst``."""
        for u, v, key, data in self.nx.edges(keys=True, data=True):
            if (data["src"], data["dst"]) == (src, dst):
                self.nx.remove_edge(u, v, key)
                return
        raise GraphError(f"no edge ({src!r}, {dst!r})", field="edges")

    @property
    def edges(self) -> list[tuple[str, str]]:
        """The edges as written, in order."""
        return [(d["src"], d["dst"]) for _, _, _, d in self.edge_records()]

    def edge_records(self) -> list[tuple[str, str, int, dict]]:
        """``(u, v, key, data)`` for every edge in order; ``u``/``v`` are node names here,
        ``data`` holds ``src``/``dst`` as written and ``src_port``/``dst_port``."""
        return sorted(self.nx.edges(keys=True, data=True), key=lambda e: e[2])

    def resolve(
        self, endpoint: str, role: str, edge: tuple[str, str] | None = None
    ) -> tuple[str, str | None]:
        """Map an edge endpoint to ``(node name, subgraph port or None)``.

        ``role`` is ``"src"`` or ``"dst"``: a port is an `Output` node of the subgraph when the
        endpoint is a source, an `Input` node when it is a destination.
        """
        if endpoint in self.nx:
            return endpoint, None
        wanted = "Output" if role == "src" else "Input"
        matches = []
        for i, char in enumerate(endpoint):
            head, port = endpoint[:i], endpoint[i + 1 :]
            if char == "." and head in self.nx:
                sub = self.nx.nodes[head]["node"]
                if isinstance(sub, Graph) and port in sub and sub[port].type == wanted:
                    matches.append((head, port))
        if len(matches) == 1:
            return matches[0]
        shown = f"edge {edge}" if edge else "an edge"
        if matches:
            raise GraphError(
                f"{shown} endpoint {endpoint!r} is ambiguous: {matches}", field="edges"
            )
        near = near_match(endpoint, list(self.nx))
        hint = (
            f"; did you mean {near!r}? (`snnx repair` writes the fix to a new file)" if near else ""
        )
        raise GraphError(
            f"{shown} refers to node {endpoint!r}, which does not exist{hint}", field="edges"
        )

    def predecessors(self, name: str) -> list[str]:
        """Names of the nodes with an edge into ``name``, in edge order (with repeats)."""
        return [u for u, _, _ in sorted(self.nx.in_edges(name, keys=True), key=lambda e: e[2])]

    def successors(self, name: str) -> list[str]:
        """Names of the nodes ``name`` has an edge to, in edge order (with repeats)."""
        return [v for _, v, _ in sorted(self.nx.out_edges(name, keys=True), key=lambda e: e[2])]

    # -- structure ---------------------------------------------------------------------------

    def recurrent_groups(self) -> list[list[str]]:
        """The strongly connected components that hold a cycle (a self-loop counts), each in
        node order, the groups in order of their first node."""
        order = {name: i for i, name in enumerate(self.nx.nodes)}
        groups = [
            sorted(comp, key=order.__getitem__)
            for comp in nx.strongly_connected_components(self.nx)
            if len(comp) > 1 or self.nx.has_edge(next(iter(comp)), next(iter(comp)))
        ]
        return sorted(groups, key=lambda g: order[g[0]])

    def back_edges(self) -> set[tuple[str, str]]:
        """The edges that close a cycle in a depth-first walk from the inputs (in edge order):
        without them the graph is acyclic. These are the edges that carry last step's value."""
        return back_edges(self.nx, self.inputs)

    def flow_order(self) -> list[str]:
        """Node names from inputs to outputs: a topological order once back edges are dropped,
        ties broken by insertion order."""
        dag: nx.DiGraph[str] = nx.DiGraph(self.nx)
        dag.remove_edges_from(self.back_edges())
        order = {name: i for i, name in enumerate(self.nx.nodes)}
        return list(nx.lexicographical_topological_sort(dag, key=order.__getitem__))

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Payload]]:
        """Every node, nested ones included, as ``(path, payload)``; paths join names with ``/``."""
        for name, payload in self.nodes.items():
            path = f"{prefix}{name}"
            yield path, payload
            if isinstance(payload, Graph):
                yield from payload.walk(prefix=f"{path}/")

    def flatten(self) -> Graph:
        """An equivalent graph with every subgraph inlined; inner nodes are named ``"sub.inner"``.

        A subgraph's `Input` and `Output` nodes are identities: each is bypassed, so what fed it
        feeds what it fed.
        """
        flat = Graph(metadata=copy.deepcopy(self.metadata), nir_version=self.nir_version)
        bypass = []
        for name, payload in self.nodes.items():
            if not isinstance(payload, Graph):
                flat.add_node(name, payload, copy.deepcopy(self.annotations(name)))
                continue
            inner = payload.flatten()
            for inner_name in inner:
                full = f"{name}.{inner_name}"
                if full in self.nx:
                    raise GraphError(
                        f"flattening would create {full!r}, which already exists", node=name
                    )
                flat.add_node(full, inner[inner_name], copy.deepcopy(inner.annotations(inner_name)))
                if SCHEMA[inner[inner_name].type].category == "io":
                    bypass.append(full)
            for src, dst in inner.edges:
                flat.add_edge(f"{name}.{src}", f"{name}.{dst}", allow_duplicate=True)
        for u, v, _, data in self.edge_records():
            flat.add_edge(
                self.port_node(u, data["src_port"], "Output"),
                self.port_node(v, data["dst_port"], "Input"),
                allow_duplicate=True,
            )
        for name in bypass:
            preds, succs = flat.predecessors(name), flat.successors(name)
            flat.remove_node(name)
            for p in preds:
                for q in succs:
                    flat.add_edge(p, q, allow_duplicate=True)
        return flat

    def port_node(self, name: str, port: str | None, kind: str) -> str:
        """The flattened name of the port node an edge endpoint reaches (itself for primitives)."""
        payload = self[name]
        if not isinstance(payload, Graph):
            return name
        if port is None:
            ports = payload.of_type(kind)
            if len(ports) != 1:
                raise GraphError(
                    f"an edge names subgraph {name!r} without a port, but it has {len(ports)} "
                    f"{kind} nodes {ports}; address one as '{name}.<port>'",
                    node=name,
                )
            port = ports[0]
        return f"{name}.{port}"

    # -- semantics and versions --------------------------------------------------------------

    @property
    def semantics(self) -> Semantics | None:
        """The `Semantics` stored in the graph's metadata, or ``None`` when there is none."""
        from snnx.semantics import Semantics

        return Semantics.from_metadata(self.metadata)

    @semantics.setter
    def semantics(self, value: Semantics | None) -> None:
        from snnx.semantics import METADATA_KEY

        metadata = dict(self.metadata or {})
        metadata.pop(METADATA_KEY, None)
        if value is not None:
            metadata[METADATA_KEY] = value.to_metadata()
        self.metadata = metadata or None

    @property
    def legacy_reset(self) -> bool:
        """True for a file older than nir 1.0.6 whose spiking nodes carry no ``v_reset``: such
        files meant reset by subtraction."""
        version = parse_version(self.nir_version)
        if version is None or version >= V_RESET_SINCE:
            return False
        return any(
            isinstance(p, Node) and p.type in SPIKING_NEURONS and "v_reset" not in p.fields
            for _, p in self.walk()
        )

    # -- conversions and checks --------------------------------------------------------------

    def check(self) -> GraphShapes:
        """Check structure, fields and shapes (raises `GraphError`); return the inferred shapes."""
        from snnx.ir.check import check_graph

        return check_graph(self)

    @classmethod
    def from_nir(cls, graph: nir.NIRGraph) -> Graph:
        """Build a `Graph` from a `nir.NIRGraph` (fields as the nir objects hold them)."""
        from snnx.ir.nir_objects import graph_from_nir

        return graph_from_nir(graph)

    def to_nir(self) -> nir.NIRGraph:
        """A `nir.NIRGraph` with every field filled in and input/output types set from snnx's
        own shape inference, ready for nirtorch and the frameworks' NIR importers."""
        from snnx.ir.nir_objects import graph_to_nir

        return graph_to_nir(self)

    def copy(self) -> Graph:
        """A copy with its own structure, annotations and metadata (nodes are shared: they are
        immutable; nested graphs are copied)."""
        new = Graph(metadata=copy.deepcopy(self.metadata), nir_version=self.nir_version)
        for name, data in self.nx.nodes(data=True):
            payload = data["node"]
            new.add_node(
                name,
                payload.copy() if isinstance(payload, Graph) else payload,
                copy.deepcopy(data["annotations"]),
            )
        for src, dst in self.edges:
            new.add_edge(src, dst, allow_duplicate=True)
        return new

    def __eq__(self, other: object) -> bool:
        """Equal nodes (by name), equal edges in the same order, equal metadata and version.
        Annotations are not compared."""
        if not isinstance(other, Graph):
            return NotImplemented
        mine, theirs = self.nodes, other.nodes
        return (
            mine.keys() == theirs.keys()
            and all(mine[k] == theirs[k] for k in mine)
            and self.edges == other.edges
            and (self.metadata is None) == (other.metadata is None)
            and (self.metadata is None or values_equal(self.metadata, other.metadata))
            and self.nir_version == other.nir_version
        )

    __hash__ = None  # type: ignore[assignment]

    def num_params(self) -> int:
        """Real-valued parameters held by every node, nested ones included."""
        return sum(p.num_params() for _, p in self.walk() if isinstance(p, Node))

    def __repr__(self) -> str:
        return f"Graph({len(self)} nodes, {self.nx.number_of_edges()} edges)"


def back_edges(g: nx.DiGraph | nx.MultiDiGraph, roots: list[str]) -> set[tuple[str, str]]:
    """Edges ``(u, v)`` closing a cycle in an iterative depth-first walk of ``g`` from ``roots``
    (then from any node not yet reached), successors taken in ``g``'s order."""
    found: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the stack, 2: finished
    for root in [*roots, *g]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(list(dict.fromkeys(g.successors(root)))))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                found.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(list(dict.fromkeys(g.successors(child))))))
    return found
