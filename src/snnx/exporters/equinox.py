"""`to_equinox`: a `Graph` as an Equinox module running snnx's reference simulator.

The module's leaves are the graph's trainable parameters (node -> field -> float32 array: weights,
biases, time constants, thresholds); the compiled program is static. It runs a whole sequence
``(T, B, *shape)`` in one call (`jax.jit` / `eqx.filter_jit` and `eqx.filter_grad` apply), takes
and returns a state, so a long sequence can go in pieces, and steps one time step at a time.

`save_equinox` writes one file (a zip archive, written atomically): ``graph.nir`` (the structure
and semantics), ``leaves.eqx`` (`eqx.tree_serialise_leaves` of the module; no pickle);
`load_equinox` reads it back.

>>> import jax.numpy as jnp, snnx
>>> net = to_equinox(snnx.read(snnx.example_path("braille")), "snntorch-nir")
>>> ys, state = net(jnp.zeros((10, 2, 12)))
>>> ys.shape
(10, 2, 7)
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax.numpy as jnp

from snnx.atomic import atomic_path
from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.sim.simulator import Simulator


class _Static:
    """Holds the compiled simulator as a static field (hashed by identity)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim


class EquinoxNetwork(eqx.Module):
    """A graph as an Equinox module: ``params`` are its leaves (see the module docstring).

    ``__call__(xs, state=None) -> (ys, state)``: ``xs`` ``(T, B, *shape)`` (a dict of them for
    several Inputs), ``ys`` likewise per Output; ``init_state(batch, shape)`` is the rest state;
    ``step(x, state)`` runs one step ``(B, *shape)``.
    """

    params: dict
    static: _Static = eqx.field(static=True)

    @property
    def semantics(self) -> Semantics:
        return self.static.sim.semantics

    @property
    def graph(self) -> Graph:
        """The graph with this module's parameters written into its nodes."""
        return self.static.sim.graph(self.params)

    def _named(self, xs: Any) -> dict[str, Any]:
        if isinstance(xs, Mapping):
            return dict(xs)
        inputs = self.static.sim.inputs
        if len(inputs) != 1:
            raise ConversionError(f"the graph has Inputs {inputs}: give a dict of arrays")
        return {inputs[0]: xs}

    def _single(self, outputs: dict, xs: Any) -> Any:
        return (
            next(iter(outputs.values()))
            if len(outputs) == 1 and not isinstance(xs, Mapping)
            else outputs
        )

    def __call__(self, xs: Any, state: dict | None = None) -> tuple[Any, dict]:
        program = self.static.sim.program
        outputs, _, carry = program.run(
            self.params, self._named(xs), {} if state is None else state
        )
        return self._single(outputs, xs), carry

    def init_state(self, batch: int) -> dict:
        """The rest state for ``batch`` samples (what a run from rest starts with)."""
        shapes = self.static.sim.program.plan.shapes
        empty = {n: jnp.zeros((0, batch, *shapes[n].output)) for n in self.static.sim.inputs}
        return self.static.sim.program.run(self.params, empty, {})[2]

    def step(self, x: Any, state: dict | None = None) -> tuple[Any, dict]:
        """One time step: ``x`` ``(B, *shape)`` -> ``(y, new state)``."""
        named = {k: jnp.asarray(v)[None] for k, v in self._named(x).items()}
        program = self.static.sim.program
        outputs, _, carry = program.run(self.params, named, {} if state is None else state)
        return self._single({k: v[0] for k, v in outputs.items()}, x), carry


def to_equinox(
    graph: Graph, semantics: Semantics | str | None = None, **options: Any
) -> EquinoxNetwork:
    """An `EquinoxNetwork` running ``graph`` (semantics: given, else the graph's, else
    ``nir-reference``); ``options`` go to `snnx.sim.Simulator` (``schedule``, ``surrogate``)."""
    sim = Simulator(graph, semantics, **options)
    return EquinoxNetwork(sim.params, _Static(sim))


def save_equinox(model: EquinoxNetwork, path: str | os.PathLike) -> None:
    """Write ``model`` to one file (see the module docstring), atomically."""
    from snnx.ir.nirfile import write

    graph = model.static.sim.source.copy()
    graph.semantics = model.semantics
    leaves = io.BytesIO()
    eqx.tree_serialise_leaves(leaves, model)
    with tempfile.TemporaryDirectory() as tmp:
        nir_path = Path(tmp) / "graph.nir"
        write(graph, nir_path)
        with atomic_path(path) as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(nir_path, "graph.nir")
            archive.writestr("leaves.eqx", leaves.getvalue())


def load_equinox(path: str | os.PathLike, **options: Any) -> EquinoxNetwork:
    """Read a model written by `save_equinox`."""
    from snnx.ir.nirfile import read

    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise ConversionError(f"not a saved snnx Equinox model ({err})", file=path) from None
    with archive, tempfile.TemporaryDirectory() as tmp:
        names = set(archive.namelist())
        if not {"graph.nir", "leaves.eqx"} <= names:
            raise ConversionError("the archive lacks graph.nir or leaves.eqx", file=path)
        archive.extract("graph.nir", tmp)
        graph = read(Path(tmp) / "graph.nir")
        skeleton = to_equinox(graph, **options)
        return eqx.tree_deserialise_leaves(io.BytesIO(archive.read("leaves.eqx")), skeleton)
