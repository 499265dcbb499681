"""Models built in SNNAX and Slax with random weights, and each library running its own models
(the references the tier compares snnx against)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

warnings.filterwarnings("ignore", message=".*static_field.*")  # SNNAX 0.0.1 on Equinox 0.13

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import slax as sl  # noqa: E402
import snnax.snn as snn  # noqa: E402

KEYS = jax.random.split(jax.random.PRNGKey(0), 16)


def linear(n_in: int, n_out: int, key: int, gain: float = 3.0, bias: bool = True):
    """An ``eqx.nn.Linear`` with its random weights scaled by ``gain`` (to keep spikes coming)."""
    layer = eqx.nn.Linear(n_in, n_out, use_bias=bias, key=KEYS[key])
    return eqx.tree_at(lambda m: m.weight, layer, layer.weight * gain)


def stateful(layers: list, sources: list[list[int]]) -> Any:
    """``StatefulModel`` whose first layer reads the external input (SNNAX's usual wiring)."""
    structure = snn.GraphStructure(
        num_layers=len(layers),
        input_layer_ids=[[0]] + [[] for _ in layers[1:]],
        final_layer_ids=[len(layers) - 1],
        input_connectivity=sources,
    )
    return snn.StatefulModel(structure, layers)


def chain(layers: list) -> Any:
    """A feed-forward ``StatefulModel`` (SNNAX 0.0.1's own ``Sequential`` cannot be built: it
    unpacks three values from a function returning two)."""
    return stateful(layers, [[]] + [[i] for i in range(len(layers) - 1)])


def snnax_rest(model: Any, in_shape: tuple[int, ...]) -> list:
    """The state a SNNAX model starts from, layer by layer as ``init_state`` builds it: neurons
    from their own ``init_state`` (an LI or SimpleIAF holds one array: SNNAX's generic list
    fails inside their step), stateless layers their output on zero inputs. SNNAX's own
    ``init_state`` raises IndexError on a loop (it reads layers it has not built yet)."""
    key = jax.random.PRNGKey(0)
    struct = model.graph_structure
    ins: dict[int, tuple] = {}  # each layer's input shape (its sources concatenated)
    outs: dict[int, tuple] = {
        i: (layer.out_features,) for i, layer in enumerate(model.layers)
        if isinstance(layer, eqx.nn.Linear)
    }  # fmt: skip
    for _ in model.layers:
        for i, layer in enumerate(model.layers):
            parts = [outs.get(j) for j in struct.input_connectivity[i]]
            parts += [in_shape for _ in struct.input_layer_ids[i]]
            if i in ins or any(p is None for p in parts):
                continue
            ins[i] = (sum(p[0] for p in parts), *parts[0][1:])
            if i not in outs:
                out = jax.eval_shape(layer, jnp.zeros(ins[i])) if not isinstance(
                    layer, snn.StatefulLayer) else jnp.zeros(ins[i])  # fmt: skip
                outs[i] = tuple(out.shape)
    states = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, (snn.LI, snn.SimpleIAF)):
            states.append(jnp.zeros(outs[i]))
        elif isinstance(layer, snn.StatefulLayer):
            states.append(layer.init_state(outs[i], key))
        else:
            states.append([layer(jnp.zeros(ins[i]))])
    return states


def snnax_run(model: Any, xs: np.ndarray, state: Any = None) -> np.ndarray:
    """A SNNAX model over ``xs`` ``(T, B, *shape)``, one sample at a time (``jax.vmap``)."""
    if state is None:
        state = snnax_rest(model, xs.shape[2:])

    def one(x):
        return model(state, x, jax.random.PRNGKey(0))[1][0]

    return np.asarray(jax.vmap(one, in_axes=1, out_axes=1)(jnp.asarray(xs)))


def snnx_snnax_run(model: Any, xs: np.ndarray) -> np.ndarray:
    """A model from `snnx.to_snnax` over ``xs``, the SNNAX way."""
    state = model.init_state()

    def one(x):
        return model(state, x, jax.random.PRNGKey(0))[1][0]

    return np.asarray(jax.vmap(one, in_axes=1, out_axes=1)(jnp.asarray(xs)))


def slax_rest(module: Any, variables: dict) -> dict:
    """Slax's ``init`` steps its cells once; a run starts from zero states (Slax's own rest)."""
    return {**variables, "carry": jax.tree_util.tree_map(jnp.zeros_like, variables["carry"])}


def slax_run(module: Any, variables: dict, xs: np.ndarray) -> np.ndarray:
    """A Slax cell stepped over ``xs`` ``(T, B, *shape)``, its carry threaded through."""
    params = {k: v for k, v in variables.items() if k != "carry"}
    carry = variables.get("carry", {})
    outs = []
    for x in xs:
        y, updated = module.apply({**params, "carry": carry}, jnp.asarray(x))
        carry = updated["carry"]
        outs.append(np.asarray(y))
    return np.stack(outs)


def slax_model(layers: list, p: dict | None, in_size: int, batch: int, seed: int = 1):
    """``connect(layers, p)`` initialised for ``batch`` samples, from rest."""
    module = sl.connect(layers, p=p)
    variables = module.init(jax.random.PRNGKey(seed), jnp.zeros((batch, in_size)))
    return module, slax_rest(module, dict(variables))


def scaled(variables: dict, gain: float) -> dict:
    """Dense kernels times ``gain`` (to keep spikes coming)."""

    def scale(path, leaf):
        return leaf * gain if path[-1].key == "kernel" else leaf

    params = jax.tree_util.tree_map_with_path(scale, variables["params"])
    return {**variables, "params": params}


Builder = Callable[[], Any]
