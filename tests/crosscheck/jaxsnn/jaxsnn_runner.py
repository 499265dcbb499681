"""Run a NIR graph (Input -> Linear -> CubaLIF [-> Linear -> CubaLIF ...] -> Output) through
jaxsnn 0.3.0's event-based simulator and return spike times in SECONDS (the cross-check oracle of
snnx's bss2 target; measured facts behind it: /work/staging/jaxsnn/FACTS.md).

This file only *calls* jaxsnn's public API (``jaxsnn.event.from_nir``, ``ConversionConfig``,
``Topology.done``, ``jaxsnn.event.types.Spike``); it contains no jaxsnn code (jaxsnn is LGPL).

Units and conventions (read this before using the numbers)
---------------------------------------------------------
* NIR (spec and nir>=1.0.8) gives time constants in SECONDS. jaxsnn 0.3.0's ``from_nir``
  instead assumes MILLISECONDS: it multiplies ``tau_mem[0]`` and ``tau_syn[0]`` by 1e-3, and
  its simulation clock, ``t_max`` and all spike times are in seconds.  This helper therefore
  multiplies tau by 1e3 in a private copy of the graph before calling ``from_nir``
  (``nir_time_unit="s"``, the default) so that jaxsnn simulates exactly the NIR time constants.
  Pass ``nir_time_unit="ms"`` for graphs written in jaxsnn's/hxtorch's own convention (tau
  already in ms; newer jaxsnn/hxtorch ``to_nir`` write that).  Note: passing an SI graph raw to
  jaxsnn/hxtorch ``from_nir`` is the same as simulating it 1000x accelerated (BSS-2 hardware time).
* ``input_spike_times``, ``t_max`` and the returned spike times are always in seconds.
* jaxsnn's neuron is  tau_mem dv/dt = -v + I,  dI/dt = -I/tau_syn,  and a presynaptic spike of
  neuron j adds W[j, i] to I_i (an instantaneous jump).  NIR's CubaLIF is
  tau_syn dI/dt = -I + w_in*S,  tau_mem dv/dt = (v_leak - v) + r*I.  jaxsnn ignores r, w_in and
  v_leak.  This helper maps them exactly onto jaxsnn's model:
    - v is shifted by v_leak (jaxsnn sees threshold - v_leak and reset - v_leak; neurons start
      at rest, v = v_leak, I = 0);
    - r and w_in are folded into the incoming weights per postsynaptic neuron;
    - ``input_semantics="jump"`` (default): a spike through weight w makes I jump by w_in*w
      (the discrete-time frameworks' convention, and jaxsnn's own); ``"dirac"``: the spike is a
      unit-area Dirac delta in  tau_syn dI/dt = -I + w_in*S, i.e. the jump is w_in*w/tau_syn.
* NIR ``Linear.weight`` has shape (out, in).  jaxsnn indexes its weight matrix by the
  presynaptic neuron (shape (in, out)) but 0.3.0's ``from_nir`` passes the NIR matrix
  untransposed (wrong result for square layers, shape error otherwise).  This helper replaces
  the weights with the transposed (and r/w_in-folded) matrix in the parameter dict.
* Only homogeneous layers: tau_mem, tau_syn, v_threshold - v_leak, v_reset - v_leak must be equal
  across a layer (jaxsnn reads element [0] only).  r and w_in may vary per neuron.
* jaxsnn's LIF threshold solver is closed-form and only valid for tau_mem/tau_syn == 1 or 2
  (it rounds the ratio and uses the ratio-1 or ratio-2 formula regardless).  Other ratios give
  wrong spike times, so they are refused unless ``allow_unsupported_tau_ratio=True``.
* No refractory period; reset sets v to v_reset, I is kept.  Every spike is reported (there is no
  first-spike-only restriction), but the simulation of a layer processes a fixed number of
  events ``n_steps`` (input events + own spikes).  The helper sizes it as
  (events entering the layer) + max_spikes_per_neuron * layer size; when a layer used up every
  slot it doubles max_spikes_per_neuron and re-runs (up to max_budget_doublings times), and
  raises if that (or an explicit ``n_steps``) is still not enough.
* Precision: float32 unless x64 is enabled.  ``x64=True`` (default) calls
  ``jax.config.update("jax_enable_x64", True)`` (process-global).

Returns ``{layer_name: [np.ndarray of spike times (s) for neuron 0, neuron 1, ...]}`` for each
CubaLIF node.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["prepare_graph", "run_jaxsnn"]


def _is(node, name):
    return type(node).__name__ == name


def _homog(arr, what, layer):
    a = np.asarray(arr, dtype=np.float64).ravel()
    if a.size and not np.allclose(a, a[0], rtol=1e-12, atol=0.0):
        raise ValueError(f"jaxsnn supports only homogeneous layers: {layer}.{what} varies: {a}")
    return float(a[0])


def prepare_graph(
    graph,
    *,
    nir_time_unit: str = "s",
    input_semantics: str = "jump",
    allow_unsupported_tau_ratio: bool = False,
):
    """Return (graph_for_jaxsnn, effective_weights) where effective_weights[linear_key] is the
    (in, out) matrix jaxsnn must use (r, w_in and, for 'dirac', 1/tau_syn folded in)."""
    import nir

    if nir_time_unit not in ("s", "ms"):
        raise ValueError("nir_time_unit must be 's' or 'ms'")
    if input_semantics not in ("jump", "dirac"):
        raise ValueError("input_semantics must be 'jump' or 'dirac'")
    to_ms = 1e3 if nir_time_unit == "s" else 1.0
    tau_to_seconds = 1e-3 if nir_time_unit == "ms" else 1.0

    g = copy.deepcopy(graph)
    nodes = g.nodes
    for key, node in nodes.items():
        if not any(_is(node, n) for n in ("Input", "Output", "Linear", "CubaLIF")):
            raise NotImplementedError(
                f"node {key!r} of type {type(node).__name__}: jaxsnn 0.3.0 imports only "
                "Input, Linear, CubaLIF (and skips Output)"
            )
    preds: dict[str, list[str]] = {k: [] for k in nodes}
    succs: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in g.edges:
        preds[b].append(a)
        succs[a].append(b)

    new_nodes = {}
    scale_post: dict[str, np.ndarray] = {}
    for key, node in nodes.items():
        if _is(node, "CubaLIF"):
            tm = _homog(node.tau_mem, "tau_mem", key)
            ts = _homog(node.tau_syn, "tau_syn", key)
            vl = np.asarray(node.v_leak, dtype=np.float64).ravel()
            th = _homog(
                np.asarray(node.v_threshold, dtype=np.float64).ravel() - vl,
                "v_threshold - v_leak",
                key,
            )
            vr = _homog(
                np.asarray(node.v_reset, dtype=np.float64).ravel() - vl, "v_reset - v_leak", key
            )
            ratio = tm / ts
            if not (abs(ratio - 1) < 1e-6 or abs(ratio - 2) < 1e-6):
                msg = (
                    f"{key}: tau_mem/tau_syn = {ratio:.6g}; jaxsnn 0.3.0's spike-time solver is "
                    "exact only for ratio 1 or 2 and gives wrong spike times otherwise"
                )
                if not allow_unsupported_tau_ratio:
                    raise ValueError(msg)
                warnings.warn(msg, stacklevel=2)
            n = vl.size
            r = np.broadcast_to(np.asarray(node.r, dtype=np.float64).ravel(), (n,))
            w_in = np.broadcast_to(np.asarray(node.w_in, dtype=np.float64).ravel(), (n,))
            s = r * w_in
            if input_semantics == "dirac":
                s = s / (ts * tau_to_seconds)
            scale_post[key] = s
            one = np.ones(n)
            new_nodes[key] = nir.CubaLIF(
                tau_mem=one * tm * to_ms,
                tau_syn=one * ts * to_ms,
                r=one,
                v_leak=0 * one,
                v_threshold=one * th,
                v_reset=one * vr,
            )
        else:
            new_nodes[key] = node

    eff_w: dict[str, np.ndarray] = {}
    for key, node in nodes.items():
        if _is(node, "Linear"):
            if len(succs[key]) != 1 or len(preds[key]) != 1:
                raise NotImplementedError(f"Linear {key!r} must have exactly one pre and one post")
            post = succs[key][0]
            if not _is(nodes[post], "CubaLIF"):
                raise NotImplementedError(f"Linear {key!r} must feed a CubaLIF (got {post!r})")
            w = np.asarray(node.weight, dtype=np.float64)  # (out, in)
            eff_w[key] = (w * scale_post[post][:, None]).T  # (in, out), jaxsnn orientation
    for key, node in nodes.items():
        if _is(node, "CubaLIF"):
            for p in preds[key]:
                if not _is(nodes[p], "Linear"):
                    raise NotImplementedError(f"CubaLIF {key!r} input {p!r} is not a Linear")
    g2 = nir.NIRGraph(nodes=new_nodes, edges=list(g.edges))
    return g2, eff_w


def run_jaxsnn(
    nir_graph_or_path,
    input_spike_times: Sequence[Sequence[float]],
    t_max: float,
    *,
    nir_time_unit: str = "s",
    input_semantics: str = "jump",
    max_spikes_per_neuron: int = 16,
    max_budget_doublings: int = 6,
    n_steps: dict[str, int] | None = None,
    x64: bool | None = True,
    allow_unsupported_tau_ratio: bool = False,
    input_node: str | None = None,
    return_raw: bool = False,
):
    """Simulate ``nir_graph_or_path`` with jaxsnn; see the module docstring for all conventions.

    input_spike_times: one array-like of spike times (seconds) per input neuron.
    t_max: simulation end (seconds); events at t >= t_max are dropped by jaxsnn.
    Returns {CubaLIF node name: [np.ndarray(spike times in s) per neuron]}.
    """
    if x64 is not None:
        import jax

        jax.config.update("jax_enable_x64", bool(x64))
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import logging

    import jax.numpy as jnp
    import nir
    from jax import random

    for name in ("jaxsnn", "jaxsnn.jaxsnn"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from jaxsnn.event import ConversionConfig, from_nir
    from jaxsnn.event.types import Spike

    graph = (
        nir.read(str(nir_graph_or_path))
        if isinstance(nir_graph_or_path, (str, os.PathLike))
        else nir_graph_or_path
    )
    g2, eff_w = prepare_graph(
        graph,
        nir_time_unit=nir_time_unit,
        input_semantics=input_semantics,
        allow_unsupported_tau_ratio=allow_unsupported_tau_ratio,
    )
    inputs = [k for k, n in g2.nodes.items() if _is(n, "Input")]
    if input_node is None:
        if len(inputs) != 1:
            raise ValueError(f"need exactly one Input node (found {inputs}); pass input_node=")
        input_node = inputs[0]
    n_in = int(np.prod(g2.nodes[input_node].input_type["input"]))
    if len(input_spike_times) != n_in:
        raise ValueError(f"got spike trains for {len(input_spike_times)} inputs, graph has {n_in}")

    # flatten + sort input events (stable: equal times keep ascending neuron index)
    times = np.concatenate(
        [np.asarray(t, dtype=np.float64).ravel() for t in input_spike_times] + [np.zeros(0)]
    )
    idx = np.concatenate(
        [np.full(len(np.ravel(t)), j, dtype=np.int64) for j, t in enumerate(input_spike_times)]
        + [np.zeros(0, np.int64)]
    )
    order = np.lexsort((idx, times))
    times, idx = times[order], idx[order]
    if times.size == 0:  # jaxsnn needs at least one slot: an empty event
        times, idx, internal = np.array([2.0 * t_max]), np.array([-1]), np.array([False])
    else:
        internal = np.ones(times.size, dtype=bool)

    # event budget per layer, in topological order
    preds: dict[str, list[str]] = {k: [] for k in g2.nodes}
    for a, b in g2.edges:
        preds[b].append(a)

    def pop_budget(k, budget, per_neuron):
        """events a node emits downstream, upper bound: inputs + per_neuron * size per layer"""
        if k in budget:
            return budget[k]
        node = g2.nodes[k]
        total = sum(pop_budget(p, budget, per_neuron) for p in preds[k])
        if _is(node, "CubaLIF"):
            total += per_neuron * int(np.size(node.tau_mem))
        budget[k] = total
        return total

    lif_keys = [k for k, n in g2.nodes.items() if _is(n, "CubaLIF")]
    fdt = jnp.zeros(()).dtype  # float64 when x64 is on, else float32
    t = jnp.asarray(times[None, :], dtype=fdt)
    i = jnp.asarray(idx[None, :])
    spk = Spike(
        time=t,
        idx=i,
        current=jnp.zeros_like(t),
        layer_idx=jnp.zeros_like(i),
        internal=jnp.asarray(internal[None, :]),
    )

    per_neuron = max_spikes_per_neuron
    for attempt in range(max_budget_doublings + 1):
        budget = {input_node: int(times.size)}
        steps = {k: pop_budget(k, budget, per_neuron) for k in lif_keys}
        if n_steps:
            steps.update(n_steps)
        topo = from_nir(g2, ConversionConfig(t_max=float(t_max), n_steps=dict(steps)))
        init, apply = topo.done()
        params = dict(init(random.PRNGKey(0)))
        for k, w in eff_w.items():
            params[k] = jnp.asarray(w, dtype=fdt)
        out = apply({input_node: spk}, params)
        full = [k for k in lif_keys if int(np.asarray(out[k].idx[0])[-1]) != -1]
        if not full:
            break
        if n_steps or attempt == max_budget_doublings:
            raise RuntimeError(
                f"layers {full}: all event slots were used ({ {k: steps[k] for k in full} }); "
                "spikes may be missing. Increase max_spikes_per_neuron or n_steps."
            )
        per_neuron *= 2

    result: dict[str, list[np.ndarray]] = {}
    for k in lif_keys:
        o = out[k]
        ot = np.asarray(o.time[0], dtype=np.float64)
        oi = np.asarray(o.idx[0])
        oint = np.asarray(o.internal[0])
        n = int(np.size(g2.nodes[k].tau_mem))
        sel = oint & (oi >= 0) & (ot < t_max)
        result[k] = [np.sort(ot[sel & (oi == j)]) for j in range(n)]
    if return_raw:
        return result, out
    return result
