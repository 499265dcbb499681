"""The six simulator-benchmark workloads, as snnx graphs with seeded inputs, and two hand-written
JAX implementations of each (the yardsticks snnx is measured against).

1. ``dense2048``: 128 -> 2048 LIF -> 2048 LIF, batch 32, T = 100 (snnTorch profile).
2. ``dense512``:  128 -> 512 LIF -> 512 LIF -> 10 LIF, batch 64, T = 500 (snnTorch profile).
3. ``cnn``:       the NIR paper's N-MNIST CNN ``cnn_sinabs.nir`` (Conv2d / IF / SumPool2d / Affine),
   batch 32, T = 100, random event frames (Sinabs profile: the network was trained in Sinabs).
4. ``braille``:   the NIR paper's recurrent CubaLIF Braille network (12 -> 38 rec -> 7), batch 64,
   T = 256 (snnTorch profile: it was trained in snnTorch at dt = 1e-4).
5. ``braille8k``: the same network on a batch of 8192 (where a GPU's width pays off).
6. ``linear-lif``: the open-neuromorphic library benchmark's network, one Linear (n -> n) and a
   LIF layer of n neurons, batch 16, T = 500, n = 16384 by default (`LINEAR_N`; ``build``'s
   ``n`` sets it). Their published figures for n = 16384, forward + backward, on an RTX-class
   GPU: Spyx 76 ms (float32) and 47 ms (float16), SpikingJelly (CuPy) 118 ms, snnTorch 3.08 s
   (as published by open-neuromorphic.org, not measured here).

Semantics, and why:

- LIF layers use the ``snntorch`` profile (Euler at dt = 1e-4, reset to zero in the step that
  fires, ``v > threshold``) with ``r = tau/dt``: the convention snnTorch's exporter writes, under
  which the input is added with gain 1 (``v <- (1 - dt/tau) v + x``), as in ``snn.Leaky``.
- The CNN's IF nodes have ``r = 1`` and no time constant; it was trained in Sinabs, so it runs under
  the ``sinabs`` profile (dt = 1: ``v <- v + x``; ``floor(v)`` spikes per step while ``v >= 1``,
  each subtracting the threshold; v clamped below at -1). Under the NIR-paper dt of 1e-4 an IF with
  r = 1 would integrate ``1e-4 x`` per step and never fire.
- Braille is the paper's file as it is, under the ``snntorch`` profile.

The hand-written versions (`HandNet`) are plain JAX, written per workload without snnx, computing
what snnx computes under that semantics, step for step:

- ``scan``: one `jax.lax.scan` over time that steps the whole network;
- ``layer``: every stateless layer (dense, convolution, pooling) over the whole sequence at once,
  as one ``(T*B) x N`` product, then a scan for each neuron layer's dynamics (a recurrent
  population and its recurrent weights scan together).

Both use the same surrogate gradient as snnx's default (fast sigmoid, slope 10, gradient not
through resets), so forward and backward are the same computation; the harness checks their
spikes equal snnx's before timing.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

F32 = np.float32
ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(
    os.environ.get("SNNX_CONFORMANCE", ROOT.parent / "shared" / "conformance")
).resolve()
CNN_PATH = CONFORMANCE / "nir-paper" / "cnn_sinabs.nir"
DT = 1e-4  # the snnTorch profile's time step (s)
LINEAR_N = 16384  # workload 6's layer width, the largest in the open-neuromorphic benchmark
KEYS = ("1", "2", "3", "4", "5", "6")
SLOPE = 10.0  # snnx's default surrogate: fast sigmoid, slope 10


@dataclasses.dataclass
class Workload:
    """One benchmark case: a graph, the semantics snnx runs it under, seeded inputs.

    ``x``: input spikes ``(T, B, *input_shape)``; ``target``: spike counts per output neuron
    ``(B, n_out)`` for the loss `loss_from_outputs`; ``hand``: the hand-written JAX versions.
    """

    key: str
    title: str
    graph: Any  # snnx.Graph
    profile: str
    x: np.ndarray
    target: np.ndarray
    hand: HandNet

    @property
    def kind(self) -> str:
        """``dense`` (1, 2, 6), ``cnn`` (3) or ``braille`` (4, 5): how peers build it."""
        return {"3": "cnn", "4": "braille", "5": "braille"}.get(self.key, "dense")

    @property
    def semantics(self):
        import snnx

        return snnx.Semantics.profile(self.profile)

    @property
    def steps(self) -> int:
        return self.x.shape[0]

    @property
    def batch(self) -> int:
        return self.x.shape[1]


def loss_from_outputs(out, target):
    """The scalar every implementation differentiates: mean squared error of each output
    neuron's spike count over the sequence against a fixed target. ``out``: ``(T, B, N)``."""
    return ((out.sum(0) - target) ** 2).mean()


# --------------------------------------------------------------------------- graphs


def _lif(n: int, tau: float) -> Any:
    from snnx import Node

    full = lambda v: np.full(n, v, F32)  # noqa: E731
    return Node(
        "LIF",
        tau=full(tau),
        r=full(tau / DT),  # gain 1 under Euler: snnTorch's export convention
        v_leak=full(0.0),
        v_threshold=full(1.0),
        v_reset=full(0.0),
    )


def dense_graph(sizes: list[int], gains: list[float], taus: list[float], seed: int):
    """``Input -> (Affine -> LIF) * k -> Output`` with seeded Gaussian weights and biases."""
    from snnx import Graph, Node

    rng = np.random.default_rng(seed)
    nodes = {"input": Node("Input", shape=[sizes[0]])}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        weight = rng.normal(0.0, gains[i] / np.sqrt(n_in), (n_out, n_in)).astype(F32)
        bias = rng.normal(0.0, 0.05, n_out).astype(F32)
        nodes[f"fc{i + 1}"] = Node("Affine", weight=weight, bias=bias)
        nodes[f"lif{i + 1}"] = _lif(n_out, taus[i])
    nodes["output"] = Node("Output", shape=[sizes[-1]])
    return Graph.sequential(nodes)


def spikes(rng: np.random.Generator, shape: tuple[int, ...], rate: float) -> np.ndarray:
    return (rng.random(shape) < rate).astype(F32)


def build(key: str, quick: bool = False, n: int = LINEAR_N) -> Workload:
    """Workload ``key`` ("1".."6"); ``quick`` shortens the sequence 5-fold (a smoke test);
    ``n``: workload 6's width."""
    import snnx

    rng = np.random.default_rng(int(key))
    shorten = 5 if quick else 1
    if key == "1":
        graph = dense_graph([128, 2048, 2048], [3.0, 2.5], [1e-3, 1e-3], seed=1)
        x = spikes(rng, (100 // shorten, 32, 128), 0.1)
        title, profile, hand = "128-2048-2048 LIF, B=32, T=100", "snntorch", DenseLIF(graph)
    elif key == "2":
        graph = dense_graph([128, 512, 512, 10], [3.0, 3.0, 3.0], [1e-3, 1e-3, 2e-3], seed=2)
        x = spikes(rng, (500 // shorten, 64, 128), 0.1)
        title, profile, hand = "128-512-512-10 LIF, B=64, T=500", "snntorch", DenseLIF(graph)
    elif key == "3":
        graph = snnx.read(CNN_PATH)
        x = spikes(rng, (100 // shorten, 32, 2, 34, 34), 0.05)
        title, profile, hand = "NIR-paper CNN (cnn_sinabs), B=32, T=100", "sinabs", SinabsCNN(graph)
    elif key in ("4", "5"):
        graph = snnx.read(snnx.example_path("braille"))
        batch = 64 if key == "4" else 8192
        x = spikes(rng, (256 // shorten, batch, 12), 0.1)
        title, profile, hand = (
            f"Braille rec. CubaLIF 12-38-7, B={batch}, T=256",
            "snntorch",
            Braille(graph),
        )
    elif key == "6":
        graph = dense_graph([n, n], [3.0], [1e-3], seed=6)
        x = spikes(rng, (500 // shorten, 16, n), 0.1)
        title, profile, hand = f"Linear+LIF n={n}, B=16, T=500", "snntorch", DenseLIF(graph)
    else:
        raise KeyError(f"no workload {key!r}; choose from {' '.join(KEYS)}")
    n_out = int(np.prod(graph[graph.outputs[0]].shape))
    target = rng.integers(0, max(2, x.shape[0] // 10), (x.shape[1], n_out)).astype(F32)
    if quick:
        title += f" (quick: T={x.shape[0]})"
    return Workload(key, title, graph, profile, x, target, hand)


# --------------------------------------------------------------------------- hand-written JAX


def spike_fn(inclusive: bool = False) -> Callable:
    """Heaviside ``x > 0`` (``>= 0``) whose derivative is the fast sigmoid ``1/(1+k|x|)^2``."""
    import jax
    import jax.numpy as jnp

    @jax.custom_jvp
    def spike(x):
        return (x >= 0 if inclusive else x > 0).astype(x.dtype)

    @spike.defjvp
    def _(primals, tangents):
        (x,), (dx,) = primals, tangents
        return spike(x), dx / (1.0 + SLOPE * jnp.abs(x)) ** 2

    return spike


def _fields(graph, name: str, keys) -> dict:
    import jax.numpy as jnp

    node = graph[name]
    return {k: jnp.asarray(node.fields[k], jnp.float32) for k in keys if k in node.fields}


class HandNet:
    """Hand-written JAX for one workload. ``weights``: the trainable arrays (what the gradient is
    taken of); ``consts``: the neuron fields; ``scan(weights, consts, x)`` and
    ``layer(weights, consts, x)`` return the output spikes ``(T, B, N)``."""

    weights: dict
    consts: dict

    def scan(self, weights, consts, x):  # pragma: no cover - overridden
        raise NotImplementedError

    def layer(self, weights, consts, x):  # pragma: no cover - overridden
        raise NotImplementedError


def _seq(f, x):
    """Apply a per-sample function to a ``(T, B, ...)`` sequence as one batch of ``T*B``."""
    t, b = x.shape[:2]
    y = f(x.reshape((t * b, *x.shape[2:])))
    return y.reshape((t, b, *y.shape[1:]))


def _scan(step, init, xs):
    import jax

    return jax.lax.scan(step, init, xs)[1]


class DenseLIF(HandNet):
    """Affine -> LIF layers, snnTorch profile: ``w = A v + B x + C`` with ``A = 1 - dt/tau``,
    ``B = r dt/tau``, ``C = v_leak (1 - A)``; spike ``w > threshold``; v <- 0 where it fired."""

    def __init__(self, graph) -> None:
        self.names = [n for n in graph.nodes if graph[n].type == "Affine"]
        self.weights = {n: _fields(graph, n, ("weight", "bias")) for n in self.names}
        lifs = [n for n in graph.nodes if graph[n].type == "LIF"]
        self.consts = {
            n: _fields(graph, lif, ("tau", "r", "v_leak", "v_threshold"))
            for n, lif in zip(self.names, lifs, strict=True)
        }
        self.spike = spike_fn()

    @staticmethod
    def coefficients(c):
        decay = 1.0 - DT / c["tau"]
        return decay, c["r"] * (DT / c["tau"]), c["v_leak"] * (1.0 - decay)

    def lif(self, coef, threshold, v, x):
        import jax
        import jax.numpy as jnp

        a, b, c = coef
        w = a * v + b * x + c
        s = self.spike(w - threshold)
        return jnp.where(jax.lax.stop_gradient(s) > 0, 0.0, w), s

    def scan(self, weights, consts, x):
        import jax.numpy as jnp

        coefs = {n: self.coefficients(consts[n]) for n in self.names}

        def step(vs, xt):
            h, new = xt, {}
            for n in self.names:
                cur = h @ weights[n]["weight"].T + weights[n]["bias"]
                new[n], h = self.lif(coefs[n], consts[n]["v_threshold"], vs[n], cur)
            return new, h

        batch = x.shape[1]
        init = {n: jnp.zeros((batch, weights[n]["bias"].shape[0])) for n in self.names}
        return _scan(step, init, x)

    def layer(self, weights, consts, x):
        import jax.numpy as jnp

        h = x
        for n in self.names:
            w, c = weights[n], consts[n]
            cur = _seq(lambda v, w=w: v @ w["weight"].T + w["bias"], h)
            coef, thr = self.coefficients(c), c["v_threshold"]
            h = _scan(
                lambda v, xt, coef=coef, thr=thr: self.lif(coef, thr, v, xt),
                jnp.zeros(cur.shape[1:]),
                cur,
            )
        return h


class SinabsCNN(HandNet):
    """cnn_sinabs.nir under the Sinabs profile. IF (dt = 1, gain 1): ``w = v + x``; spikes
    ``floor(w)`` when ``w >= 1`` (threshold 1); ``v = max(w - n, -1)``. Conv2d, SumPool2d as a
    window sum, Flatten C-major (as NIR), Affine.

    ``layout="NHWC"`` runs the convolutions and pooling channels-last (the input is transposed
    once, the kernels to HWIO, and back to C-major only at the Flatten), which XLA's CPU
    backend runs much faster than NCHW; ``"NCHW"`` keeps NIR's layout throughout, as snnx does.
    """

    def __init__(self, graph, layout: str = "NHWC") -> None:
        from jax import lax

        self.lax = lax
        self.layout = layout
        flat = graph.flatten()
        self.order = [n for n in flat.flow_order() if flat[n].type not in ("Input", "Output")]
        self.nodes = {n: flat[n] for n in self.order}
        self.weights = {
            n: _fields(flat, n, ("weight", "bias"))
            for n in self.order
            if flat[n].type in ("Conv2d", "Affine")
        }
        self.consts = {
            n: _fields(flat, n, ("v_threshold",)) for n in self.order if flat[n].type == "IF"
        }
        self.shapes = flat.check()
        self.spike = spike_fn(inclusive=True)

    def _last(self) -> bool:
        return self.layout == "NHWC"

    def _shape(self, name):
        """A node's output shape per sample in this layout."""
        shape = tuple(self.shapes[name].output)
        return (*shape[1:], shape[0]) if self._last() and len(shape) == 3 else shape

    def _input(self, x):
        return x.transpose(0, 1, 3, 4, 2) if self._last() else x

    def stateless(self, name, weights, x):
        """One conv / pool / flatten / affine node on a batch of samples."""
        node, lax, last = self.nodes[name], self.lax, self._last()
        kind, f = node.type, node.fields
        pair = lambda v: tuple(int(i) for i in np.broadcast_to(np.asarray(v), (2,)))  # noqa: E731
        if kind == "Conv2d":
            weight = weights[name]["weight"]
            y = lax.conv_general_dilated(
                x,
                weight.transpose(2, 3, 1, 0) if last else weight,
                window_strides=pair(f["stride"]),
                padding=[(p, p) for p in pair(f["padding"])],
                rhs_dilation=pair(f["dilation"]),
                feature_group_count=int(np.asarray(f["groups"]).ravel()[0]),
                dimension_numbers=("NHWC", "HWIO", "NHWC") if last else ("NCHW", "OIHW", "NCHW"),
            )
            bias = weights[name]["bias"]
            return y + (bias if last else bias.reshape(-1, 1, 1))
        if kind == "SumPool2d":
            k, s, p = pair(f["kernel_size"]), pair(f["stride"]), pair(f["padding"])
            pads = [(i, i) for i in p]
            return lax.reduce_window(
                x,
                0.0,  # a Python scalar: JAX then knows the sum and can transpose it
                lax.add,
                (1, *k, 1) if last else (1, 1, *k),
                (1, *s, 1) if last else (1, 1, *s),
                [(0, 0), *pads, (0, 0)] if last else [(0, 0), (0, 0), *pads],
            )
        if kind == "Flatten":
            if last and x.ndim == 4:
                x = x.transpose(0, 3, 1, 2)  # back to NIR's C-major order
            return x.reshape((x.shape[0], *self.shapes[name].output))
        if kind == "Affine":
            return x @ weights[name]["weight"].T + weights[name]["bias"]
        raise ValueError(f"no hand-written rule for {kind}")

    def neuron(self, threshold, v, x):
        import jax
        import jax.numpy as jnp

        if self._last() and threshold.ndim == 3:
            threshold = threshold.transpose(1, 2, 0)
        w = 1.0 * v + 1.0 * x + 0.0  # dt * r = 1: snnx's integrator step, kept term for term
        n = self.spike(w - threshold)
        extra = jnp.maximum(jnp.floor(w / threshold) - 1, 0)
        n = n * (1 + jax.lax.stop_gradient(extra))
        v = w - jax.lax.stop_gradient(n) * threshold
        return jnp.maximum(v, -threshold), n

    def scan(self, weights, consts, x):
        import jax.numpy as jnp

        def step(vs, xt):
            h, new = xt, {}
            for name in self.order:
                if name in consts:
                    new[name], h = self.neuron(consts[name]["v_threshold"], vs[name], h)
                else:
                    h = self.stateless(name, weights, h)
            return new, h

        batch = x.shape[1]
        init = {n: jnp.zeros((batch, *self._shape(n))) for n in consts}
        return _scan(step, init, self._input(x))

    def layer(self, weights, consts, x):
        import jax.numpy as jnp

        h = self._input(x)
        for name in self.order:
            if name in consts:
                thr = consts[name]["v_threshold"]
                h = _scan(lambda v, xt, thr=thr: self.neuron(thr, v, xt), jnp.zeros(h.shape[1:]), h)
            else:
                h = _seq(lambda v, name=name: self.stateless(name, weights, v), h)
        return h


class Braille(HandNet):
    """The Braille graph under the snnTorch profile. CubaLIF (Euler, new current):
    ``i' = As i + Bs x``, ``w = A v + Bn i' + C`` with ``As = 1 - dt/tau_syn``,
    ``Bs = w_in dt/tau_syn``, ``A = 1 - dt/tau_mem``, ``Bn = r dt/tau_mem``; spike ``w > 1``,
    v <- 0 where it fired. The recurrent Affine's output reaches lif1 one step later (nothing,
    not even its bias, at t = 0), as on every back edge."""

    def __init__(self, graph) -> None:
        flat = graph.flatten()
        self.weights = {
            n: _fields(flat, n, ("weight", "bias")) for n in ("fc1", "lif1.w_rec", "fc2")
        }
        keys = ("tau_syn", "tau_mem", "r", "v_leak", "w_in", "v_threshold")
        self.consts = {n: _fields(flat, n, keys) for n in ("lif1.lif", "lif2")}
        self.spike = spike_fn()

    @staticmethod
    def coefficients(c):
        a_s = 1.0 - DT / c["tau_syn"]
        b_s = c["w_in"] * (DT / c["tau_syn"])
        a = 1.0 - DT / c["tau_mem"]
        return a_s, b_s, a, c["r"] * (DT / c["tau_mem"]), c["v_leak"] * (1.0 - a)

    def cuba(self, coef, threshold, state, x):
        import jax
        import jax.numpy as jnp

        a_s, b_s, a, b_n, c = coef
        i, v = state
        i = a_s * i + b_s * x
        w = a * v + b_n * i + c
        s = self.spike(w - threshold)
        return (i, jnp.where(jax.lax.stop_gradient(s) > 0, 0.0, w)), s

    @staticmethod
    def affine(p, x):
        return x @ p["weight"].T + p["bias"]

    def scan(self, weights, consts, x):
        import jax.numpy as jnp

        c1, c2 = (self.coefficients(consts[n]) for n in ("lif1.lif", "lif2"))
        t1, t2 = (consts[n]["v_threshold"] for n in ("lif1.lif", "lif2"))

        def step(carry, xt):
            s1_state, s2_state, rec = carry
            s1_state, s1 = self.cuba(c1, t1, s1_state, rec + self.affine(weights["fc1"], xt))
            rec = self.affine(weights["lif1.w_rec"], s1)
            s2_state, s2 = self.cuba(c2, t2, s2_state, self.affine(weights["fc2"], s1))
            return (s1_state, s2_state, rec), s2

        batch = x.shape[1]
        z1, z2 = jnp.zeros((batch, 38)), jnp.zeros((batch, 7))
        return _scan(step, ((z1, z1), (z2, z2), z1), x)

    def layer(self, weights, consts, x):
        import jax.numpy as jnp

        c1, c2 = (self.coefficients(consts[n]) for n in ("lif1.lif", "lif2"))
        t1, t2 = (consts[n]["v_threshold"] for n in ("lif1.lif", "lif2"))
        cur1 = _seq(lambda v: self.affine(weights["fc1"], v), x)

        def rec_step(carry, xt):
            state, rec = carry
            state, s1 = self.cuba(c1, t1, state, rec + xt)
            return (state, self.affine(weights["lif1.w_rec"], s1)), s1

        batch = x.shape[1]
        z1, z2 = jnp.zeros((batch, 38)), jnp.zeros((batch, 7))
        s1 = _scan(rec_step, ((z1, z1), z1), cur1)
        cur2 = _seq(lambda v: self.affine(weights["fc2"], v), s1)
        return _scan(lambda st, xt: self.cuba(c2, t2, st, xt), (z2, z2), cur2)
