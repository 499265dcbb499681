"""Reading and writing `.nir` files (HDF5), losslessly.

The layout is NIR's: a ``version`` string and a ``node`` group; each node is a group holding a
``type`` string, one dataset per field and an optional ``metadata`` group; a ``NIRGraph`` node holds
a ``nodes`` group and an ``(E, 2)`` ``edges`` dataset of names. snnx reads every dataset as it is
(dtype, rank, scalar or array), keeps absent optional fields absent, reads nested metadata, and
writes all of it back the same way, with the version string of the file read. Files from nir 0.1
and 0.2 read as they are; nothing is filled in.

Writing goes to a temporary file beside the target, renamed over it only when complete.

>>> import tempfile, os
>>> from snnx.ir import Graph, Node
>>> g = Graph({"in": Node("Input", shape=[1]), "out": Node("Output", shape=[1])}, [("in", "out")])
>>> path = os.path.join(tempfile.mkdtemp(), "id.nir")
>>> write(g, path)
>>> back = read(path)
>>> back.edges, back.nir_version == package_version("nir")
([('in', 'out')], True)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from snnx.atomic import atomic_path
from snnx.errors import GraphError, NIRFormatError, SnnxError
from snnx.ir.graph import Graph, near_match
from snnx.ir.hdf5guard import Guard, Limits, no_plugins
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA

_STRING = h5py.string_dtype("utf-8")
#: Arrays with at least this many elements are stored gzip-compressed (as nir does).
COMPRESS_FROM = 1024


def read(
    path: str | os.PathLike[str],
    *,
    check: bool = True,
    limits: Limits | None = None,
    fixes: list[str] | None = None,
) -> Graph:
    """Read a `.nir` file into a `Graph`; with ``check``, also run `Graph.check`.

    Raises `NIRFormatError` for a file that is not a NIR file (missing, not HDF5, truncated,
    corrupted, or asking for more than ``limits``: by default `Limits.from_environment`) and
    `GraphError` for a graph that is wrong, each naming the file, node and field. Every dataset
    is checked by `snnx.ir.hdf5guard` before libhdf5 reads it, and no filter plugin is loaded.

    Given a list as ``fixes``, an edge endpoint that names no node but is near exactly one node
    name (`snnx.ir.graph.near_match`: ``lif`` for ``lif1``) is wired to that node, and each such
    change is appended to ``fixes`` (what ``snnx repair`` writes to a new file).
    """
    path = Path(path)
    if not path.is_file():
        raise NIRFormatError("no such file", file=path)
    limits = Limits.from_environment() if limits is None else limits
    with no_plugins():
        try:
            handle = h5py.File(path, "r")
        except OSError as err:
            raise NIRFormatError(
                f"not a readable HDF5 file ({_first_line(err)})", file=path
            ) from None
        try:
            with handle:
                graph = _read_file(path, handle, limits, fixes)
        except SnnxError as err:
            raise err.located(file=path) from None
        except MemoryError:
            raise NIRFormatError("not enough memory to read the file", file=path) from None
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, OverflowError) as err:
            raise NIRFormatError(f"cannot read the file ({_first_line(err)})", file=path) from None
    if check:
        try:
            graph.check()
        except SnnxError as err:
            raise err.located(file=path) from None
    return graph


def _read_file(path: Path, handle: h5py.File, limits: Limits, fixes: list[str] | None) -> Graph:
    if "node" not in handle or not isinstance(handle["node"], h5py.Group):
        raise NIRFormatError("no 'node' group: this HDF5 file is not a NIR file")
    guard = Guard(path, handle, limits)
    try:
        version = None
        if "version" in handle:
            version = _decode(_value(guard, handle["version"], "version"))
            if not isinstance(version, str):
                raise NIRFormatError("the version is not a string", field="version")
        graph = _read_graph(handle["node"], guard, 0, fixes)
    finally:
        guard.close()
    graph.nir_version = version
    return graph


def write(graph: Graph, path: str | os.PathLike[str], *, version: str | None = None) -> None:
    """Write ``graph`` to a `.nir` file atomically.

    The version string is ``version``, else the one the graph was read with, else the installed
    nir's. On any error the target is left as it was.
    """
    version = version or graph.nir_version or package_version("nir")
    try:
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
            handle.create_dataset("version", data=version, dtype=_STRING)
            _write_graph(handle.create_group("node"), graph)
    except SnnxError as err:
        raise err.located(file=path) from None


def datasets(path: str | os.PathLike) -> dict[str, tuple[str, tuple[int, ...], Any]]:
    """Every group and dataset of an HDF5 file as ``name -> (dtype, shape, value)`` (groups as
    ``("group", (), None)``), strings decoded: what "identical content" means for two NIR files."""
    found = {}
    with h5py.File(path, "r") as handle:

        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset):
                value = item.asstr()[()] if h5py.check_string_dtype(item.dtype) else item[()]
                value = value.tolist() if isinstance(value, np.ndarray) else value
                found[name] = (str(item.dtype), item.shape, value)
            else:
                found[name] = ("group", (), None)

        handle.visititems(visit)
    return found


# -- reading ---------------------------------------------------------------------------------


def _read_graph(
    group: h5py.Group, guard: Guard, depth: int, fixes: list[str] | None, where: str = ""
) -> Graph:
    if "nodes" not in group or not isinstance(group["nodes"], h5py.Group):
        raise GraphError("a NIRGraph needs a 'nodes' group", field="nodes")
    if "edges" not in group:
        raise GraphError("a NIRGraph needs an 'edges' dataset", field="edges")
    graph = Graph(metadata=_read_metadata(group, guard, depth))
    for name, item in _members(group["nodes"]):
        guard.count_node(depth)
        try:
            graph.add_node(_name(name), _read_node(item, guard, depth, fixes, f"{where}{name}/"))
        except SnnxError as err:
            raise err.located(parent=_name(name, checked=False)) from None
    for src, dst in _read_edges(group["edges"], guard):
        if fixes is not None:
            src, dst = (
                _fixed(graph, src, "src", fixes, where),
                _fixed(graph, dst, "dst", fixes, where),
            )
        graph.add_edge(src, dst)
    return graph


def _fixed(graph: Graph, endpoint: str, role: str, fixes: list[str], where: str) -> str:
    """``endpoint``, or the one node name near it when it names no node."""
    try:
        graph.resolve(endpoint, role)
        return endpoint
    except GraphError:
        near = near_match(endpoint, list(graph))
        if near is None:
            return endpoint
    fixes.append(f"edge endpoint '{where}{endpoint}' -> '{where}{near}'")
    return near


def _name(name: str | bytes, checked: bool = True) -> str:
    """An HDF5 link name as `str`; names that are not UTF-8 are refused (shown escaped)."""
    if isinstance(name, str):
        try:
            name.encode("utf-8")
            return name
        except UnicodeEncodeError:  # h5py passes undecodable bytes as surrogates
            name = name.encode("utf-8", "surrogateescape")
    if checked:
        raise GraphError(f"the name {name!r} is not valid UTF-8")
    return repr(name)


def _members(group: h5py.Group | h5py.h5g.GroupID) -> Iterator[tuple[str, Any]]:
    """A group's members as ``(name, id)`` in h5py's order, through the low-level API (a
    `h5py.h5g.GroupID` or `h5py.h5d.DatasetID` each: the high-level objects cost more than reading
    a small node); names as h5py gives them (undecodable bytes as surrogates)."""
    gid = group.id if isinstance(group, h5py.Group) else group
    for raw in gid:
        yield raw.decode("utf-8", "surrogateescape"), h5py.h5o.open(gid, raw)


def _read_node(
    item: Any, guard: Guard, depth: int, fixes: list[str] | None, where: str
) -> Node | Graph:
    if not isinstance(item, h5py.h5g.GroupID):
        raise GraphError("expected a group holding a node, found a dataset")
    members = dict(_members(item))
    if "type" not in members:
        raise GraphError("the node has no 'type'", field="type")
    type_name = _decode(_value(guard, members["type"], "type"))
    if type_name == "NIRGraph":
        return _read_graph(h5py.Group(item), guard, depth + 1, fixes, where)
    if not isinstance(type_name, str) or type_name not in SCHEMA:
        known = ", ".join(SCHEMA)
        raise GraphError(f"unknown node type {type_name!r}; known types: {known}", field="type")
    fields = {}
    for key, value in members.items():
        if key in ("type", "metadata"):
            continue
        if not isinstance(value, h5py.h5d.DatasetID):
            raise GraphError("expected a dataset, found a group", field=_name(key, checked=False))
        key = _name(key)
        fields[key] = _decode(_value(guard, value, key))
    metadata = None
    if "metadata" in members:
        metadata = _read_tree(_high_level(members["metadata"]), guard, depth)
    return Node(type_name, fields, metadata=metadata)


def _high_level(oid: Any) -> Any:
    """The h5py object of a low-level id."""
    return h5py.Group(oid) if isinstance(oid, h5py.h5g.GroupID) else h5py.Dataset(oid)


def _value(guard: Guard, dataset: Any, field: str) -> Any:
    """A dataset's value, after the guard's checks (errors name the field); ``dataset`` is an
    `h5py.Dataset` or its `h5py.h5d.DatasetID`."""
    if not isinstance(dataset, (h5py.Dataset, h5py.h5d.DatasetID)):
        raise GraphError("expected a dataset, found a group", field=field)
    try:
        return guard.read(dataset)
    except SnnxError as err:
        raise type(err)(err.reason, field=field) from None


def _read_edges(dataset: Any, guard: Guard) -> list[tuple[str, str]]:
    if not isinstance(dataset, h5py.Dataset):
        raise GraphError("expected a dataset of node-name pairs", field="edges")
    raw = np.asarray(_value(guard, dataset, "edges"))
    if raw.size == 0:
        return []
    if raw.ndim != 2 or raw.shape[1] != 2:
        raise GraphError(
            f"expected an (E, 2) array of node names, got shape {raw.shape}", field="edges"
        )
    edges = [(_decode(a), _decode(b)) for a, b in raw]
    for edge in edges:
        if not all(isinstance(x, str) for x in edge):
            raise GraphError(f"edge {edge} does not hold node names", field="edges")
    return edges


def _read_metadata(group: h5py.Group, guard: Guard, depth: int) -> dict[str, Any] | None:
    if "metadata" not in group:
        return None
    return _read_tree(group["metadata"], guard, depth)


def _read_tree(item: Any, guard: Guard, depth: int) -> Any:
    if isinstance(item, h5py.Group):
        guard.count_node(depth)
        return {_name(k): _read_tree(v, guard, depth + 1) for k, v in item.items()}
    return _decode(_value(guard, item, "metadata"))


def _decode(value: Any) -> Any:
    """HDF5 strings come back as bytes: make them `str`; leave numbers and arrays alone."""
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise GraphError(f"the string {bytes(value)[:40]!r} is not valid UTF-8") from None
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return np.array([_decode(v) for v in value.reshape(-1)], dtype=object).reshape(value.shape)
    return value


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


# -- writing ---------------------------------------------------------------------------------


def _write_graph(group: h5py.Group, graph: Graph) -> None:
    group.create_dataset("type", data="NIRGraph", dtype=_STRING)
    nodes = group.create_group("nodes")
    for name, payload in graph.nodes.items():
        try:
            child = nodes.create_group(name)
            if isinstance(payload, Graph):
                _write_graph(child, payload)
            else:
                child.create_dataset("type", data=payload.type, dtype=_STRING)
                for key, value in payload.fields.items():
                    _write_value(child, key, value)
                if payload.metadata is not None:
                    _write_value(child, "metadata", payload.metadata)
        except SnnxError as err:
            raise err.located(parent=name) from None
    if len(set(graph.edges)) != len(graph.edges):
        twice = next(e for e in graph.edges if graph.edges.count(e) > 1)
        raise GraphError(
            f"duplicate edge {twice}: NIR files cannot hold an edge twice", field="edges"
        )
    edges = np.array(graph.edges, dtype=object).reshape(-1, 2)
    group.create_dataset("edges", data=edges, dtype=_STRING)
    if graph.metadata is not None:
        _write_value(group, "metadata", graph.metadata)


def _write_value(group: h5py.Group, key: str, value: Any) -> None:
    if isinstance(value, Mapping):
        sub = group.create_group(key)
        for k, v in value.items():
            _write_value(sub, str(k), v)
    elif isinstance(value, str):
        group.create_dataset(key, data=value, dtype=_STRING)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "OU":
        if not all(isinstance(v, str) for v in value.reshape(-1)):
            raise GraphError("an object array can only hold strings", field=key)
        group.create_dataset(key, data=value.astype(object), dtype=_STRING)
    elif isinstance(value, (np.ndarray, np.generic, bool, int, float)):
        array = np.asarray(value)
        compress = "gzip" if array.size >= COMPRESS_FROM else None
        group.create_dataset(key, data=array, dtype=array.dtype, compression=compress)
    else:
        raise GraphError(f"cannot store a value of type {type(value).__name__}", field=key)
