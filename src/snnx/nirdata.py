"""NIRData files: the data a graph runs on and what it gives back, in nir's own format.

nir 1.0.8 defines `nir.NIRGraphData` (node name -> `nir.NIRNodeData`, or a nested
`nir.NIRGraphData` for a subgraph), whose observables (``"spikes"``, ``"v"``, ...) are
`nir.TimeGriddedData` (``(samples, steps, neurons)`` on a grid of ``dt``), `nir.EventData` (event
indices and times) or `nir.ValuedEventData` (events with values), written to HDF5 by
`nir.write_data` and read by `nir.read_data`.

`read_inputs` takes the data for a graph's `Input` nodes and returns snnx's time-major arrays
``(T, B, *shape)``, checking the node names, the number of neurons and the time grid against the
graph and the semantics it runs under; `write_results` writes a simulation's outputs and records
back (``"spikes"`` for spike trains, ``"output"`` for other values, ``"v"``, ``"i"`` for states).
A node inside a subgraph is written under its flattened name (``sub.inner``, as
`snnx.Graph.flatten` names it), not as a nested `nir.NIRGraphData`: nir 1.0.8's `nir.write_data`
recurses forever on nested graph data (its inner writer iterates the outer graph's nodes).

>>> import os, tempfile
>>> import numpy as np, snnx
>>> graph = snnx.read(snnx.example_path("braille"))
>>> x = np.zeros((5, 2, 12), bool); x[0, 1, 3] = True
>>> path = os.path.join(tempfile.mkdtemp(), "in.h5")
>>> write_results(path, {"input": x}, graph, dt=1e-4)
>>> y = read_inputs(path, graph, dt=1e-4)["input"]
>>> y.shape, bool(y[0, 1, 3]), int(y.sum())
((5, 2, 12), True, 1)
>>> read_inputs(path, graph, dt=1e-3)  # doctest: +ELLIPSIS
Traceback (most recent call last):
snnx.errors.SnnxError: ...: node 'input', observable 'spikes': time grid dt=0.0001 s, but the graph runs at dt=0.001 s (set --dt or --profile to match)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from snnx.atomic import atomic_path
from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.reports.rasters import is_spike_train

#: File names `snnx simulate -o` writes as NIRData (anything else but ``.npz`` is refused).
SUFFIXES = (".h5", ".hdf5", ".nird")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_nirdata(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 file (NIRData), by its first bytes, not its name."""
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == _HDF5_SIGNATURE
    except OSError:
        return False


def read_inputs(
    path: str | os.PathLike, graph: Graph, dt: float, shapes: Mapping | None = None
) -> dict[str, np.ndarray]:
    """The arrays ``(T, B, *shape)`` for every `Input` of ``graph`` from the NIRData file at
    ``path``, on the time grid ``dt`` (seconds). Each Input's data is its observable
    ``"spikes"``, else its only one; time-gridded data must be on the grid ``dt``; events are
    binned onto it. Data of the graph's other nodes (a simulation's outputs) is left alone. Raises `SnnxError` naming the file, node and observable at fault."""
    import nir

    from snnx.ir.hdf5guard import check_file, no_plugins

    try:
        check_file(path)  # nothing libhdf5 would hang, crash or allocate gigabytes on
    except SnnxError as err:
        reason = f"cannot read NIRData: {err.reason}"
        raise type(err)(reason, file=os.fspath(path), field=err.field) from None
    try:
        with no_plugins():
            data = nir.read_data(os.fspath(path))
    except Exception as err:  # nir raises whatever h5py or its own checks raise
        raise SnnxError(f"cannot read NIRData: {err}", file=path) from None
    shapes = graph.check() if shapes is None else shapes
    where = os.fspath(path)
    known = set(graph.flatten().nodes) | set(graph.nodes)
    unknown = [n for n in data.nodes if n not in known]
    if unknown:
        raise SnnxError(
            f"node {unknown[0]!r} in the data is not in the graph (its Inputs: "
            f"{', '.join(graph.inputs)})",
            file=where,
        )
    missing = [n for n in graph.inputs if n not in data.nodes]
    if missing:
        raise SnnxError(f"no data for Input {missing[0]!r}", file=where)
    arrays = {}
    for name in graph.inputs:
        node = data.nodes[name]
        if not isinstance(node, nir.NIRNodeData):
            raise SnnxError(f"node {name!r}: expected node data, got a subgraph's", file=where)
        key, observable = _pick(node, name, where)
        shape = tuple(int(s) for s in shapes[name].output)
        arrays[name] = _gridded(observable, shape, dt, f"node {name!r}, observable {key!r}", where)
    lengths = {k: v.shape[:2] for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise SnnxError(
            f"Inputs disagree on (steps, samples): {lengths}", file=where, field="observables"
        )
    return arrays


def write_results(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], graph: Graph, dt: float
) -> None:
    """Write ``arrays`` (``NODE`` for a node's output, ``NODE.STATE`` for a record, each
    ``(T, B, *shape)``) to ``path`` as NIRData on the time grid ``dt``, atomically."""
    import nir

    tree: dict = {}
    for key, values in arrays.items():
        if key.endswith(".margin"):
            continue
        node, state = (key, "out") if key in graph.nodes else key.rsplit(".", 1)
        values = np.asarray(values)
        if state == "out":
            state = "spikes" if is_spike_train(values) else "output"
        series = values.reshape(values.shape[0], values.shape[1], -1).swapaxes(0, 1)
        if state == "spikes":
            series = series.astype(bool) if series.max(initial=0) <= 1 else series
        tree.setdefault(node, {})[state] = nir.TimeGriddedData(np.ascontiguousarray(series), dt)
    data = nir.NIRGraphData({name: nir.NIRNodeData(found) for name, found in tree.items()})
    with atomic_path(path) as tmp:
        nir.write_data(os.fspath(tmp), data)


def _pick(node: Any, name: str, where: str) -> Any:
    observables = node.observables
    if "spikes" in observables:
        return "spikes", observables["spikes"]
    if len(observables) == 1:
        return next(iter(observables.items()))
    raise SnnxError(
        f"node {name!r}: which observable is the input? none is named 'spikes' among "
        f"{sorted(observables)}",
        file=where,
    )


def _gridded(
    observable: Any, shape: tuple[int, ...], dt: float, what: str, where: str
) -> np.ndarray:
    """An observable as a time-major array ``(T, B, *shape)`` on the grid ``dt``."""
    import nir

    neurons = math.prod(shape)
    if isinstance(observable, nir.TimeGriddedData):
        if not math.isclose(observable.dt, dt, rel_tol=1e-9):
            raise SnnxError(
                f"{what}: time grid dt={observable.dt:g} s, but the graph runs at dt={dt:g} s "
                "(set --dt or --profile to match)",
                file=where,
            )
        values = np.asarray(observable.data)
    else:
        values = _binned(observable, neurons, dt, what, where)
    if values.shape[2] != neurons:
        raise SnnxError(
            f"{what}: {values.shape[2]} neurons, but the Input has shape {shape} ({neurons})",
            file=where,
        )
    dtype = np.float32 if values.dtype.kind == "f" else values.dtype
    return values.swapaxes(0, 1).reshape(values.shape[1], values.shape[0], *shape).astype(dtype)


def _binned(events: Any, neurons: int, dt: float, what: str, where: str) -> np.ndarray:
    """Events binned onto the grid: the count (or summed value) per step and neuron."""
    if events.n_neurons != neurons:
        raise SnnxError(
            f"{what}: {events.n_neurons} neurons, but the Input has {neurons}", file=where
        )
    steps = round(events.t_max / dt)
    if not math.isclose(steps * dt, events.t_max, rel_tol=1e-9) or steps < 1:
        raise SnnxError(
            f"{what}: t_max={events.t_max:g} s is not a whole number of steps of dt={dt:g} s",
            file=where,
        )
    idx, time = np.asarray(events.idx), np.asarray(events.time, np.float64)
    valued = hasattr(events, "value")
    value = np.asarray(events.value, np.float64) if valued else np.ones(idx.shape)
    real = idx >= 0
    if np.any(idx >= neurons) or np.any(real & ~((time >= 0) & (time < events.t_max))):
        raise SnnxError(f"{what}: events outside the neurons or [0, t_max)", file=where)
    grid = np.zeros((idx.shape[0], steps, neurons), np.float64 if valued else np.int64)
    sample = np.broadcast_to(np.arange(idx.shape[0])[:, None], idx.shape)
    step = np.minimum(np.floor(time[real] / dt).astype(np.int64), steps - 1)
    np.add.at(grid, (sample[real], step, idx[real]), value[real])
    return grid if valued else grid.astype(np.float32)
