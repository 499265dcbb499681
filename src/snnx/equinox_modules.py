"""snnx's own Equinox modules for building spiking networks in JAX, and a runner for them.

Neurons hold NIR's fields (``LIF(tau, r, v_leak, v_threshold, v_reset)``, ``CubaLIF``, ``IF``,
``LI``, ``CubaLI``, ``I``) and step under a `Semantics` exactly as `snnx.sim` does (NIR's
``tau dv/dt = v_leak - v + r x`` discretised by the semantics' integrator, then fire / reset /
emit). Containers: `Sequential` (a chain of layers) and `Network` (named layers and edges, several
edges into a layer summed, cycles allowed: an edge closing a cycle carries the value of the
previous step). Other layers: ``eqx.nn.Linear``, ``eqx.nn.Conv1d``/``Conv2d`` (symmetric padding),
``eqx.nn.AvgPool2d``, `Flatten`, ``eqx.nn.Identity``; like Equinox's, they act on one sample, and
`run` maps them over the batch.

>>> import jax, jax.numpy as jnp, equinox as eqx
>>> key = jax.random.PRNGKey(0)
>>> net = Sequential((eqx.nn.Linear(3, 2, key=key), LIF.init(2, tau=1e-3, v_threshold=0.5)))
>>> run(net, jnp.ones((5, 4, 3)), "nir-reference").shape
(5, 4, 2)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from snnx import dynamics
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.sim.surrogate import spike_function


class Neuron(eqx.Module):
    """Base of the neuron modules: NIR fields as array leaves, one step under a semantics
    (`snnx.dynamics`, as the simulator runs it)."""

    def node(self) -> Node:
        """The NIR node with this module's fields."""
        fields = {k: np.asarray(v) for k, v in vars(self).items()}
        return Node(type(self).__name__, fields)

    def _coefficients(self, semantics: Semantics) -> dict[str, Any]:
        params = {k: jnp.asarray(v, jnp.float32) for k, v in vars(self).items()}
        return dynamics.coefficients(
            type(self).__name__, params, semantics, dynamics.jax_arithmetic()
        )

    def init_state(self, batch: int, shape: tuple[int, ...], semantics: Semantics) -> dict:
        """The rest state for ``batch`` samples of ``shape``."""
        zeros = jnp.zeros((batch, *shape), jnp.float32)
        return dynamics.rest_state(
            self._coefficients(semantics), zeros, type(self).__name__, semantics
        )

    def step(self, x: jax.Array, state: dict, semantics: Semantics) -> tuple[jax.Array, dict]:
        """One step on a batch ``x`` ``(B, *shape)``: ``(output, new state)``."""
        kind = type(self).__name__
        own = semantics.for_type(kind)
        spike = spike_function("fast-sigmoid", 10.0, inclusive=own.threshold == ">=")
        q = self._coefficients(semantics)
        new, y = dynamics.step(q, state, x, kind, own, spike, dynamics.jax_arithmetic())
        return y, new


def _full(n: int | Sequence[int], value: Any) -> jax.Array:
    shape = (n,) if isinstance(n, int) else tuple(n)
    return jnp.broadcast_to(jnp.asarray(value, jnp.float32), shape)


class LIF(Neuron):
    """``tau dv/dt = v_leak - v + r x``; spike above ``v_threshold``, reset to ``v_reset``."""

    tau: jax.Array
    r: jax.Array
    v_leak: jax.Array
    v_threshold: jax.Array
    v_reset: jax.Array

    @classmethod
    def init(
        cls,
        n: int | Sequence[int],
        tau: ArrayLike,
        r: ArrayLike | None = None,
        v_leak: ArrayLike = 0.0,
        v_threshold: ArrayLike = 1.0,
        v_reset: ArrayLike = 0.0,
    ) -> LIF:
        """``n`` neurons (an int or a shape); ``r`` defaults to ``tau / 1e-4`` (gain 1)."""
        r = np.asarray(tau) / 1e-4 if r is None else r
        return cls(*(_full(n, v) for v in (tau, r, v_leak, v_threshold, v_reset)))


class LI(Neuron):
    """``tau dv/dt = v_leak - v + r x``; outputs ``v``."""

    tau: jax.Array
    r: jax.Array
    v_leak: jax.Array

    @classmethod
    def init(
        cls,
        n: int | Sequence[int],
        tau: ArrayLike,
        r: ArrayLike | None = None,
        v_leak: ArrayLike = 0.0,
    ) -> LI:
        r = np.asarray(tau) / 1e-4 if r is None else r
        return cls(*(_full(n, v) for v in (tau, r, v_leak)))


class IF(Neuron):
    """``dv/dt = r x``; spike above ``v_threshold``, reset to ``v_reset``."""

    r: jax.Array
    v_threshold: jax.Array
    v_reset: jax.Array

    @classmethod
    def init(
        cls,
        n: int | Sequence[int],
        r: ArrayLike = 1e4,
        v_threshold: ArrayLike = 1.0,
        v_reset: ArrayLike = 0.0,
    ) -> IF:
        return cls(*(_full(n, v) for v in (r, v_threshold, v_reset)))


class I(Neuron):  # noqa: E742 (NIR's name)
    """``dv/dt = r x``; outputs ``v``."""

    r: jax.Array


class CubaLIF(Neuron):
    """``tau_syn di/dt = -i + w_in x``, ``tau_mem dv/dt = v_leak - v + r i``; spike and reset."""

    tau_syn: jax.Array
    tau_mem: jax.Array
    r: jax.Array
    v_leak: jax.Array
    v_threshold: jax.Array
    v_reset: jax.Array
    w_in: jax.Array

    @classmethod
    def init(
        cls,
        n: int | Sequence[int],
        tau_syn: ArrayLike,
        tau_mem: ArrayLike,
        r: ArrayLike | None = None,
        v_leak: ArrayLike = 0.0,
        v_threshold: ArrayLike = 1.0,
        v_reset: ArrayLike = 0.0,
        w_in: ArrayLike | None = None,
    ) -> CubaLIF:
        r = np.asarray(tau_mem) / 1e-4 if r is None else r
        w_in = np.asarray(tau_syn) / 1e-4 if w_in is None else w_in
        values = (tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in)
        return cls(*(_full(n, v) for v in values))


class CubaLI(Neuron):
    """``tau_syn di/dt = -i + w_in x``, ``tau_mem dv/dt = v_leak - v + r i``; outputs ``v``."""

    tau_syn: jax.Array
    tau_mem: jax.Array
    r: jax.Array
    v_leak: jax.Array
    w_in: jax.Array


class Flatten(eqx.Module):
    """Flatten one sample's dims ``start_dim..end_dim`` (NIR's ``Flatten``; no batch dim)."""

    start_dim: int = eqx.field(static=True, default=0)
    end_dim: int = eqx.field(static=True, default=-1)

    def __call__(self, x: jax.Array) -> jax.Array:
        end = self.end_dim % x.ndim
        return x.reshape((*x.shape[: self.start_dim], -1, *x.shape[end + 1 :]))


class Sequential(eqx.Module):
    """A chain of layers (neurons, ``eqx.nn`` layers, nested containers)."""

    layers: tuple

    def __init__(self, layers: Sequence[Any]) -> None:
        self.layers = tuple(layers)


class Network(eqx.Module):
    """Named layers and edges; ``inputs``/``outputs`` name the ports. An edge that closes a cycle
    (found by a depth-first walk from the inputs) carries the previous step's value."""

    layers: dict
    edges: tuple = eqx.field(static=True)
    inputs: tuple = eqx.field(static=True, default=("input",))
    outputs: tuple = eqx.field(static=True, default=("output",))

    def __init__(
        self,
        layers: Mapping[str, Any],
        edges: Iterable[tuple[str, str]],
        inputs: Sequence[str] = ("input",),
        outputs: Sequence[str] = ("output",),
    ) -> None:
        self.layers = dict(layers)
        self.edges = tuple((str(a), str(b)) for a, b in edges)
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)

    def schedule(
        self, semantics: Semantics | None = None
    ) -> tuple[list[str], set[tuple[str, str]], set[str]]:
        """Layer names in step order, the back edges, and the *early* layers: neurons whose
        spikes leave one step late publish them when a step starts (as `snnx.sim` does), so a
        loop through one needs no back edge."""
        import networkx as nx

        from snnx.ir.graph import back_edges

        early = {
            name
            for name, layer in self.layers.items()
            if semantics is not None and _is_early(layer, semantics)
        }
        g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        g.add_nodes_from([*self.inputs, *self.layers, *self.outputs])
        g.add_edges_from(e for e in self.edges if e[0] not in early)
        back = back_edges(g, list(self.inputs))
        dag: nx.DiGraph[str] = nx.DiGraph(g)
        dag.remove_edges_from(back)
        order = {n: i for i, n in enumerate(g.nodes)}
        flow = nx.lexicographical_topological_sort(dag, key=order.__getitem__)
        return [n for n in flow if n in self.layers], back, early


def _is_early(layer: Any, semantics: Semantics) -> bool:
    """A spiking neuron whose spikes leave a step late: the simulator schedules those ahead of
    the step."""
    name = type(layer).__name__
    if not isinstance(layer, Neuron) or not SCHEMA[name].spiking:
        return False
    return semantics.for_type(name).spike_output == "next-step"


# -- running -------------------------------------------------------------------------------


def _apply(layer: Any, x: jax.Array, state: Any, semantics: Semantics) -> tuple[jax.Array, Any]:
    if isinstance(layer, Neuron):
        return layer.step(x, state, semantics)
    if isinstance(layer, (Sequential, Network)):
        return _container_step(layer, x, state, semantics)
    return jax.vmap(layer)(x), state


def _init(layer: Any, x: jax.Array, semantics: Semantics) -> tuple[Any, tuple[int, ...]]:
    """``(state, output shape)`` of a layer for a batch shaped like ``x``."""
    batch, shape = x.shape[0], tuple(x.shape[1:])
    if isinstance(layer, Neuron):
        return layer.init_state(batch, shape, semantics), shape
    if isinstance(layer, (Sequential, Network)):
        return _container_init(layer, x, semantics)
    out = jax.eval_shape(jax.vmap(layer), x)
    return None, tuple(out.shape[1:])


def _container_init(c: Any, x: jax.Array, semantics: Semantics) -> tuple[Any, tuple[int, ...]]:
    if isinstance(c, Sequential):
        per_layer = []
        for layer in c.layers:
            state, shape = _init(layer, x, semantics)
            per_layer.append(state)
            x = jnp.zeros((x.shape[0], *shape))
        return tuple(per_layer), tuple(x.shape[1:])
    order, back, _ = c.schedule()  # shapes flow along every edge but the back edges
    shapes = {c.inputs[0]: tuple(x.shape[1:])}
    states: dict[str, Any] = {}
    for name in order:
        preds = [a for a, b in c.edges if b == name and (a, b) not in back]
        inp = jnp.zeros((x.shape[0], *shapes[preds[0]]))
        states[name], shapes[name] = _init(c.layers[name], inp, semantics)
    prev = {a: jnp.zeros((x.shape[0], *shapes[a])) for a, _ in c.schedule(semantics)[1]}
    out = next(a for a, b in c.edges if b == c.outputs[0])
    return (states, prev), shapes[out]


def _container_step(
    c: Any, x: jax.Array, state: Any, semantics: Semantics
) -> tuple[jax.Array, Any]:
    if isinstance(c, Sequential):
        new = []
        for layer, s in zip(c.layers, state, strict=True):
            x, s = _apply(layer, x, s, semantics)
            new.append(s)
        return x, tuple(new)
    states, prev = state
    order, back, early = c.schedule(semantics)
    now = {c.inputs[0]: x}
    for name in early:  # spikes that leave a step late are known when it starts
        now[name] = dynamics.emit(states[name]["last"], semantics)

    def gather(name: str) -> jax.Array:
        total = None
        for a, b in c.edges:
            if b == name:
                value = prev[a] if (a, b) in back else now[a]
                total = value if total is None else total + value
        assert total is not None  # every layer has an edge in (`Network`'s check)
        return total

    new_states = {}
    for name in order:
        y, new_states[name] = _apply(c.layers[name], gather(name), states[name], semantics)
        now.setdefault(name, y)
    return gather(c.outputs[0]), (new_states, {a: now[a] for a in prev})


def init_state(model: Any, batch: int, shape: Sequence[int], semantics: Semantics | str) -> Any:
    """The rest state of ``model`` for ``batch`` samples of ``shape``."""
    semantics = Semantics.profile(semantics) if isinstance(semantics, str) else semantics
    return _init(model, jnp.zeros((batch, *shape)), semantics)[0]


def run(model: Any, xs: jax.Array, semantics: Semantics | str, state: Any = None) -> jax.Array:
    """Run ``model`` over a sequence ``xs`` ``(T, B, *shape)`` (input spikes scaled by the spike
    amplitude like every other spike); returns its outputs ``(T, B, ...)``."""
    semantics = Semantics.profile(semantics) if isinstance(semantics, str) else semantics
    xs = dynamics.emit(jnp.asarray(xs, jnp.float32), semantics)
    if state is None:
        state = init_state(model, xs.shape[1], xs.shape[2:], semantics)

    def body(carry: Any, x: jax.Array) -> tuple[Any, jax.Array]:
        y, carry = _apply(model, x, carry, semantics)
        return carry, y

    return jax.lax.scan(body, state, xs)[1]
