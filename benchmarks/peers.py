"""The peers, each running the workload's network with the same weights, written the way that
framework's users write it:

- **snnTorch 1.0** (`snn.Leaky` / `snn.Synaptic` modules in a Python loop over time, torch
  ``nn.Linear`` / ``nn.Conv2d``). Its NIR import cannot build the recurrent Braille graph
  (nirtorch mis-wires or rejects the 2-cycle), so every workload is written natively.
- **Norse 1.1** (`norse.torch.from_nir`, stepped in a Python loop, where it works: the dense and
  Braille graphs; for the CNN its Flatten mapping loses the batch dimension for B > 1, so the
  CNN is written with native ``IAFCell`` / ``SequentialState``).
- **Spyx 1.0** (`spyx.nir.from_nir`, then `spyx.nn.run` under ``jax.jit``: one `lax.scan`).

Each peer computes its own framework's semantics, which is not always snnx's profile for the
workload (Spyx emits spikes a step late, snnTorch has no multi-spike IF, ...); the work per step
is the same. Where a framework's import ignores a field (Norse's LIF drops ``r``), the weights it
gets are folded so its dynamics match. Every peer names the graph and snnx semantics under which
snnx reproduces it (``reference``), and the harness reports how many output spikes differ.

Peers are imported lazily; a missing one raises `PeerMissing`. The torch peers run on CUDA where
torch sees a GPU (`torch_device`), synchronised after each call; Spyx on JAX's default device.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from workloads import DT, F32, Workload

PEERS = ("snntorch", "norse", "spyx")


class PeerMissing(Exception):
    """The peer's package is not installed in this environment."""


@dataclasses.dataclass
class Impl:
    """One implementation of a workload, ready to time.

    ``forward()`` and ``backward()`` (forward + backward of `workloads.loss_from_outputs` with
    respect to every weight and bias) run once and block until done; ``outputs()`` returns the
    output spikes ``(T, B, N)``; ``reference`` is ``(graph, semantics)`` under which snnx should
    compute the same spikes, or None.
    """

    name: str
    forward: Callable[[], Any]
    backward: Callable[[], Any]
    outputs: Callable[[], np.ndarray]
    reference: tuple | None = None
    note: str = ""


@contextlib.contextmanager
def quiet():
    """Silence the peers' prints, warnings and log lines while they import or build."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def build_peer(name: str, wl: Workload) -> Impl:
    builders = {"snntorch": snntorch_impl, "norse": norse_impl, "spyx": spyx_impl}
    try:
        with quiet():
            return builders[name](wl)
    except ImportError as err:
        raise PeerMissing(f"{name} not installed ({err})") from None


# --------------------------------------------------------------------------- helpers


def _uniform(value, what: str) -> float:
    values = np.unique(np.asarray(value, F32))
    if values.size != 1:
        raise ValueError(f"{what} must be uniform for this peer, got {values.size} values")
    return float(values[0])


def _dense_layers(graph):
    """``[(affine_node, neuron_node)]`` of a chain graph, in flow order."""
    flat = graph.flatten()
    order = [n for n in flat.flow_order() if flat[n].type not in ("Input", "Output")]
    return flat, order


def _torch_linear(node):
    import torch

    weight = np.asarray(node.weight, F32)
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=node.type == "Affine")
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weight))
        if node.type == "Affine":
            layer.bias.copy_(torch.from_numpy(np.asarray(node.bias, F32)))
    return layer


def _torch_conv(node):
    import torch

    weight = np.asarray(node.weight, F32)
    pair = lambda v: tuple(int(i) for i in np.broadcast_to(np.asarray(v), (2,)))  # noqa: E731
    layer = torch.nn.Conv2d(
        weight.shape[1],
        weight.shape[0],
        weight.shape[2:],
        stride=pair(node.stride),
        padding=pair(node.padding),
        dilation=pair(node.dilation),
        groups=int(np.asarray(node.groups).ravel()[0]),
    )
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weight))
        layer.bias.copy_(torch.from_numpy(np.asarray(node.bias, F32)))
    return layer


def torch_device() -> str:
    """``cuda`` where torch sees a GPU, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _on_device(state):
    """An initial state (a tensor or a tuple of them) on the peers' device."""
    if isinstance(state, tuple):
        return tuple(_on_device(s) for s in state)
    return state.to(torch_device())


def _torch_impl(name, wl: Workload, module, run, reference, note="") -> Impl:
    """``run(x) -> (T, B, N)`` spikes; forward under no_grad, backward through autograd; on
    `torch_device`, each call waiting for the device."""
    import torch
    from workloads import loss_from_outputs

    device = torch_device()
    module.to(device)
    x = torch.from_numpy(wl.x).to(device)
    target = torch.from_numpy(wl.target).to(device)
    params = [p for p in module.parameters() if p.requires_grad]

    def forward():
        with torch.no_grad():
            out = run(x)
        _sync()
        return out

    def backward():
        for p in params:
            p.grad = None
        loss_from_outputs(run(x), target).backward()
        _sync()
        return [p.grad for p in params]

    note += f" ({device})" if device != "cpu" else ""
    return Impl(name, forward, backward, lambda: forward().cpu().numpy(), reference, note)


# --------------------------------------------------------------------------- snnTorch


def snntorch_impl(wl: Workload) -> Impl:
    import snntorch as snn
    import torch

    import snnx

    flat, order = _dense_layers(wl.graph)
    modules, steps = torch.nn.ModuleList(), []
    if wl.kind == "dense":
        # snnTorch's import builds exactly this: Leaky(beta = 1 - dt/tau, threshold / (r dt/tau)),
        # reset to zero in the step that fires (reset_delay=False).
        for name in order:
            node = flat[name]
            if node.type == "Affine":
                modules.append(_torch_linear(node))
            else:
                gain = _uniform(node.r * DT / node.tau, f"{name}.r*dt/tau")
                beta = _uniform(1.0 - DT / np.asarray(node.tau), f"{name} beta")
                thr = _uniform(node.v_threshold, f"{name}.v_threshold") / gain
                modules.append(
                    snn.Leaky(beta=beta, threshold=thr, reset_mechanism="zero", reset_delay=False)
                )
        reference = (wl.graph, snnx.Semantics.profile("snntorch"))
        note = "snn.Leaky (reset to zero, no delay) in a Python loop"
    elif wl.kind == "cnn":
        # snnTorch has no IF neuron; users write a Leaky with beta = 1 and subtractive reset. One
        # spike per step (no multi-spike), v > threshold: not Sinabs' rule, the same work.
        modules += _torch_cnn(
            flat,
            order,
            lambda thr: snn.Leaky(
                beta=1.0, threshold=thr, reset_mechanism="subtract", reset_delay=False
            ),
        )
        reference = (
            wl.graph,
            snnx.Semantics(dt=1.0, reset="subtract", profile_name="snntorch-IF"),
        )
        note = "Leaky(beta=1) as IF, one spike per step, subtract"
    else:
        return _snntorch_braille(wl)

    neurons = [i for i, m in enumerate(modules) if isinstance(m, snn.Leaky)]

    def run(x):
        mems = {i: _on_device(modules[i].init_leaky()) for i in neurons}
        out = []
        for t in range(x.shape[0]):
            h = x[t]
            for i, m in enumerate(modules):
                if i in mems:
                    h, mems[i] = m(h, mems[i])
                else:
                    h = m(h)
            out.append(h)
        return torch.stack(out)

    steps = run
    return _torch_impl("snntorch", wl, modules, steps, reference, note)


def _snntorch_braille(wl: Workload) -> Impl:
    import snntorch as snn
    import torch

    import snnx

    flat = wl.graph.flatten()
    fc1, rec, fc2 = (_torch_linear(flat[n]) for n in ("fc1", "lif1.w_rec", "fc2"))

    def synaptic(node, name):
        # snnTorch's CubaLIF mapping: alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem, the state
        # scaled by w = w_in dt/tau_syn (threshold / w); requires r = tau_mem/dt.
        alpha = _uniform(1.0 - DT / np.asarray(node.tau_syn), f"{name} alpha")
        beta = _uniform(1.0 - DT / np.asarray(node.tau_mem), f"{name} beta")
        w = _uniform(node.w_in * DT / node.tau_syn, f"{name} w_in*dt/tau_syn")
        thr = _uniform(node.v_threshold, f"{name}.v_threshold") / w
        return snn.Synaptic(
            alpha=alpha, beta=beta, threshold=thr, reset_mechanism="zero", reset_delay=False
        )

    lif1, lif2 = synaptic(flat["lif1.lif"], "lif1"), synaptic(flat["lif2"], "lif2")
    modules = torch.nn.ModuleList([fc1, rec, fc2, lif1, lif2])

    def run(x):
        syn1, mem1 = _on_device(lif1.init_synaptic())
        syn2, mem2 = _on_device(lif2.init_synaptic())
        back = 0.0  # the recurrent Affine's output of the previous step (nothing at t = 0)
        out = []
        for t in range(x.shape[0]):
            s1, syn1, mem1 = lif1(fc1(x[t]) + back, syn1, mem1)
            back = rec(s1)
            s2, syn2, mem2 = lif2(fc2(s1), syn2, mem2)
            out.append(s2)
        return torch.stack(out)

    note = "snn.Synaptic + recurrent nn.Linear in a Python loop (NIR import fails on Braille)"
    reference = (wl.graph, snnx.Semantics.profile("snntorch"))
    return _torch_impl("snntorch", wl, modules, run, reference, note)


# --------------------------------------------------------------------------- Norse


def norse_impl(wl: Workload) -> Impl:
    import norse.torch as nt

    import snnx

    flat, order = _dense_layers(wl.graph)
    if wl.kind == "cnn":
        return _norse_cnn(wl, flat, order)
    graph = wl.graph
    if wl.kind == "dense":
        # Norse's LIF import drops r (gain dt/tau): fold r into the Affine before each LIF so
        # its dynamics are the snnTorch profile's (gain r dt/tau = 1).
        graph = graph.copy()
        for src, dst in graph.edges:
            if graph[src].type == "Affine" and graph[dst].type == "LIF":
                r = np.asarray(graph[dst].r, F32)
                node = graph[src]
                graph.replace_node(
                    src,
                    node.replace(
                        weight=np.asarray(node.weight, F32) * r[:, None],
                        bias=np.asarray(node.bias, F32) * r,
                    ),
                )
    model = nt.from_nir(graph.to_nir(), dt=DT)
    reference = (graph, snnx.Semantics.profile("norse-nir", dt=DT))

    run = _stepped(model)

    note = "from_nir(dt=1e-4), GraphExecutor stepped in a Python loop"
    if wl.kind == "dense":
        note += "; r folded into the weights"
    return _torch_impl("norse", wl, model, run, reference, note)


def _torch_cnn(flat, order, neuron: Callable[[float], Any]) -> list:
    """The CNN's nodes as torch modules; each IF node is ``neuron(its uniform threshold)``."""
    import torch

    layers = []
    for name in order:
        node = flat[name]
        if node.type == "Conv2d":
            layers.append(_torch_conv(node))
        elif node.type == "Affine":
            layers.append(_torch_linear(node))
        elif node.type == "IF":
            layers.append(neuron(_uniform(node.v_threshold, f"{name}.v_threshold")))
        elif node.type == "SumPool2d":
            layers.append(torch.nn.LPPool2d(1, tuple(node.kernel_size), tuple(node.stride)))
        elif node.type == "Flatten":
            layers.append(torch.nn.Flatten(1))
        else:
            raise ValueError(node.type)
    return layers


def _stepped(model) -> Callable:
    """A Norse stateful module stepped over time in a Python loop: ``(T, B, ...) -> (T, B, ...)``."""
    import torch

    def run(x):
        state, out = None, []
        for t in range(x.shape[0]):
            y, state = model(x[t], state)
            out.append(y)
        return torch.stack(out)

    return run


def _norse_cnn(wl: Workload, flat, order) -> Impl:
    import norse.torch as nt
    import torch

    import snnx

    layers = _torch_cnn(
        flat, order, lambda thr: nt.IAFCell(nt.IAFParameters(v_th=torch.tensor(thr)))
    )
    model = nt.SequentialState(*layers)

    run = _stepped(model)

    # IAFCell: v += x, spike v > threshold, reset to zero: the norse-nir profile at dt = 1.
    reference = (wl.graph, snnx.Semantics.profile("norse-nir", dt=1.0))
    note = "native SequentialState + IAFCell (from_nir's Flatten breaks B > 1)"
    return _torch_impl("norse", wl, model, run, reference, note)


# --------------------------------------------------------------------------- Spyx


def spyx_impl(wl: Workload) -> Impl:
    import jax
    import jax.numpy as jnp
    import spyx.nir
    import spyx.nn
    from flax import nnx
    from workloads import loss_from_outputs

    import snnx

    graph, x, dt = wl.graph, wl.x, DT
    note = "from_nir, spyx.nn.run under jax.jit"
    if wl.kind == "cnn":
        # Spyx runs channels-last but keeps the Affine after Flatten in NIR's C-major column
        # order: permute those columns (CHW -> HWC) so it computes the same network.
        graph, dt = graph.copy(), 1.0
        (flatten,) = graph.of_type("Flatten")
        (after,) = graph.successors(flatten)
        c, h, w = (int(v) for v in graph[flatten].input_type)
        perm = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()
        node = graph[after]
        graph.replace_node(after, node.replace(weight=np.asarray(node.weight, F32)[:, perm]))
        x = x.transpose(0, 1, 3, 4, 2)
        note += "; NHWC, Affine columns permuted"
    model, _ = spyx.nir.from_nir(graph.to_nir(), jnp.asarray(x[:2]), dt=dt)
    gdef, params, rest = nnx.split(model, nnx.Param, ...)
    xj, target = jnp.asarray(x), jnp.asarray(wl.target)

    def outputs(p, r, x):
        out = spyx.nn.run(nnx.merge(gdef, p, r), x)[0]
        return out.reshape((*out.shape[:2], -1))

    fwd = jax.jit(outputs)
    grad = jax.jit(jax.grad(lambda p, r, x, t: loss_from_outputs(outputs(p, r, x), t)))
    reference = (wl.graph, snnx.Semantics.profile("spyx", dt=dt))
    if wl.kind == "braille":
        note += "; recurrent bias dropped, recurrence one step sooner"
    return Impl(
        "spyx",
        lambda: jax.block_until_ready(fwd(params, rest, xj)),
        lambda: jax.block_until_ready(grad(params, rest, xj, target)),
        lambda: np.asarray(fwd(params, rest, xj)),
        reference,
        note,
    )
