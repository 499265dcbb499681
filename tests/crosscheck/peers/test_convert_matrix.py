"""The conversion matrix: models built in snnTorch, Norse, Sinabs, SpikingJelly, Spyx and Equinox
(feed-forward, convolutional, recurrent; random weights) are converted through snnx into every
framework that can express them, and each produces the source model's spikes on random inputs.

Targets: snnx's simulator under the stored semantics (``snnx``), `to_torch` (``torch``),
TorchScript (``torchscript``), `to_equinox` (``equinox``), a ``.nir`` file written and read back
(``nir``: the same graph and spikes), and back into snnTorch and Norse through their own NIR
importers (`to_snntorch`, `to_norse`). For each model the table says which of the last two can
express it; for the others the refusal (a `ConversionError` naming the node) is asserted too.
Spikes must match exactly; non-spiking outputs (leaky integrators) to float tolerance.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from peerkit import quiet

import snnx
from snnx import from_torch, to_equinox, to_torch
from snnx.errors import ConversionError
from snnx.exporters.peers import to_norse, to_snntorch
from snnx.exporters.torch import to_torchscript
from snnx.sim import simulate

T, B = 40, 2


@dataclasses.dataclass(frozen=True)
class Arch:
    """One source model: how to build it, its input shape, how the framework runs it."""

    build: Callable[[], Any]
    shape: tuple[int, ...]
    run: Callable[[Any, np.ndarray], np.ndarray]
    peers: frozenset[str] = frozenset()  # which of snntorch/norse can express it
    spiking: bool = True
    gain: float = 2.0  # input spike amplitude, to keep the networks active
    source: str = "torch"  # torch, equinox, spyx
    dt: float | None = None


def seeded(fn: Callable[[], Any]) -> Callable[[], Any]:
    def build() -> Any:
        torch.manual_seed(0)
        return fn()

    return build


def scale(net: torch.nn.Module, factor: float) -> torch.nn.Module:
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                m.weight.mul_(factor)
    return net


# -- how each framework runs its own models -------------------------------------------------


def per_step(net: Any, x: np.ndarray) -> np.ndarray:
    """Stateless-call modules (snnTorch init_hidden, SpikingJelly single-step)."""
    from snntorch import utils as st_utils
    from spikingjelly.activation_based import functional as sj_functional

    st_utils.reset(net)
    sj_functional.reset_net(net)
    with torch.no_grad():
        return np.stack([net(torch.from_numpy(x[t])).numpy() for t in range(len(x))])


def threaded(net: Any, x: np.ndarray) -> np.ndarray:
    """Modules called as ``out, state = net(x_t, state)`` (Norse, nirtorch graphs)."""
    outs, state = [], None
    with torch.no_grad():
        for t in range(len(x)):
            out, state = net(torch.from_numpy(x[t]), state)
            outs.append(out.detach().numpy())
    return np.stack(outs)


def whole_sequence_norse(net: Any, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(x))[0].numpy()


def sinabs_run(net: Any, x: np.ndarray) -> np.ndarray:
    """Sinabs layers take (B, T, ...)."""
    for m in net.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()
    with torch.no_grad():
        return net(torch.from_numpy(x).transpose(0, 1)).transpose(0, 1).numpy()


def sinabs_squeezed(net: Any, x: np.ndarray) -> np.ndarray:
    """Squeeze layers take (B * T, ...), batch-major."""
    for m in net.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()
    steps, batch = x.shape[:2]
    flat = torch.from_numpy(x).transpose(0, 1).reshape(batch * steps, *x.shape[2:])
    with torch.no_grad():
        out = net(flat)
    return out.reshape(batch, steps, *out.shape[1:]).transpose(0, 1).numpy()


def sj_multi_step(net: Any, x: np.ndarray) -> np.ndarray:
    from spikingjelly.activation_based import functional as sj_functional

    sj_functional.reset_net(net)
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def equinox_run(built: Any, x: np.ndarray) -> np.ndarray:
    from snnx.equinox_modules import run

    model, semantics = built
    return np.asarray(run(model, x, semantics))


def spyx_run(model: Any, x: np.ndarray) -> np.ndarray:
    import spyx.nn

    out = spyx.nn.run(model, x)
    return np.asarray(out[0] if isinstance(out, tuple) else out)


# -- the models -----------------------------------------------------------------------------


def _snntorch():
    import snntorch as snn

    return snn


def _norse():
    import norse.torch as norse

    return norse


def _sinabs():
    import sinabs.layers as sl

    return sl


def _sj():
    from spikingjelly.activation_based import layer, neuron

    return layer, neuron


L = torch.nn.Linear


@seeded
def st_default():
    snn = _snntorch()
    return torch.nn.Sequential(
        L(5, 6), snn.Leaky(beta=0.85, init_hidden=True), L(6, 3), snn.Leaky(0.7, init_hidden=True)
    )


@seeded
def st_zero():
    snn = _snntorch()
    zero = dict(init_hidden=True, reset_mechanism="zero", reset_delay=False)
    return torch.nn.Sequential(
        L(5, 6),
        snn.Leaky(beta=torch.rand(6) * 0.5 + 0.4, threshold=0.8, **zero),
        L(6, 3),
        snn.Synaptic(alpha=0.6, beta=0.8, threshold=0.5, **zero),
    )


@seeded
def st_zero_delayed():
    snn = _snntorch()
    return torch.nn.Sequential(
        L(5, 6),
        snn.Leaky(beta=0.8, init_hidden=True, reset_mechanism="zero"),
        L(6, 3),
        snn.Leaky(beta=0.9, threshold=0.5, init_hidden=True, reset_mechanism="zero"),
    )


@seeded
def st_synaptic():
    snn = _snntorch()
    return torch.nn.Sequential(
        L(5, 6),
        snn.Synaptic(0.7, 0.85, init_hidden=True),
        L(6, 3),
        snn.Leaky(0.8, init_hidden=True),
    )


@seeded
def st_conv():
    snn = _snntorch()
    zero = dict(init_hidden=True, reset_mechanism="zero", reset_delay=False)
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1),
        snn.Leaky(beta=0.8, threshold=0.5, **zero),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        L(4 * 3 * 3, 4),
        snn.Leaky(beta=0.9, threshold=0.3, **zero),
    )


@seeded
def st_rleaky():
    snn = _snntorch()
    return scale(
        torch.nn.Sequential(
            L(5, 6),
            snn.RLeaky(beta=0.8, linear_features=6, init_hidden=True),
            L(6, 3),
            snn.Leaky(beta=0.8, init_hidden=True),
        ),
        2.0,
    )


@seeded
def st_rsynaptic():
    snn = _snntorch()
    return torch.nn.Sequential(
        L(5, 6),
        snn.RSynaptic(
            alpha=0.6, beta=0.8, all_to_all=False, V=torch.rand(6) - 0.5, init_hidden=True
        ),
        L(6, 3),
        snn.Synaptic(alpha=0.5, beta=0.7, init_hidden=True),
    )


@seeded
def st_batchnorm():
    snn = _snntorch()
    bn = torch.nn.BatchNorm1d(6)
    bn.running_mean = torch.rand(6) * 0.2
    bn.running_var = torch.rand(6) + 0.5
    zero = dict(init_hidden=True, reset_mechanism="zero", reset_delay=False)
    return torch.nn.Sequential(
        L(5, 6), bn, snn.Leaky(0.8, **zero), L(6, 3), snn.Leaky(0.9, threshold=0.6, **zero)
    ).eval()


@seeded
def no_lif():
    norse = _norse()
    p = norse.LIFParameters(
        tau_syn_inv=torch.tensor(150.0), tau_mem_inv=torch.rand(6) * 100 + 50,
        v_th=torch.tensor(0.3), v_reset=torch.tensor(-0.1),
    )  # fmt: skip
    return norse.SequentialState(
        L(5, 6),
        norse.LIFCell(p),
        L(6, 3),
        norse.LIFCell(norse.LIFParameters(v_th=torch.tensor(0.2))),
    )


@seeded
def no_box():
    norse = _norse()
    p = norse.LIFBoxParameters(tau_mem_inv=torch.rand(6) * 100 + 50, v_th=torch.tensor(0.3))
    return scale(
        norse.SequentialState(
            L(5, 6),
            norse.LIFBoxCell(p),
            L(6, 3),
            norse.LIFBoxCell(norse.LIFBoxParameters(v_th=torch.tensor(0.2))),
        ),
        3.0,
    )


@seeded
def no_iaf_li():
    norse = _norse()
    return norse.SequentialState(
        L(5, 6), norse.IAFCell(norse.IAFParameters(v_th=torch.tensor(0.8))), L(6, 3), norse.LICell()
    )


@seeded
def no_recurrent():
    norse = _norse()
    p = norse.LIFParameters(tau_mem_inv=torch.rand(7) * 100 + 50, v_th=torch.tensor(0.2))
    return norse.SequentialState(
        L(5, 6),
        norse.LIFRecurrentCell(6, 7, p, autapses=True),
        L(7, 3),
        norse.LIFBoxCell(norse.LIFBoxParameters(v_th=torch.tensor(0.2))),
    )


@seeded
def no_conv():
    norse = _norse()
    p = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(200.0), v_th=torch.tensor(0.3))
    return norse.SequentialState(
        torch.nn.Conv2d(2, 3, 3),
        norse.LIFBoxCell(p),
        torch.nn.Conv2d(3, 4, 2, stride=2),
        norse.LIFBoxCell(p),
        torch.nn.Flatten(),
        L(4, 3),
        norse.LIFCell(norse.LIFParameters(v_th=torch.tensor(0.2))),
    )


@seeded
def no_sequence():
    norse = _norse()
    return norse.SequentialState(
        L(5, 6), norse.LIF(norse.LIFParameters(v_th=torch.tensor(0.2))), L(6, 3),
        norse.LIF(norse.LIFParameters(v_th=torch.tensor(0.2))),
    )  # fmt: skip


@seeded
def sb_lif_iaf():
    sl = _sinabs()
    return torch.nn.Sequential(
        L(5, 6), sl.LIF(tau_mem=torch.rand(6) * 10 + 2, spike_threshold=torch.tensor(0.5)),
        L(6, 3), sl.IAF(spike_threshold=torch.tensor(0.7), min_v_mem=-0.7),
    )  # fmt: skip


@seeded
def sb_cuba_leak():
    sl = _sinabs()
    return torch.nn.Sequential(
        L(5, 6),
        sl.LIF(tau_mem=5.0, tau_syn=3.0, norm_input=True, spike_threshold=torch.tensor(0.3)),
        L(6, 3),
        sl.ExpLeak(tau_mem=4.0),
    )


@seeded
def sb_single_zero():
    import sinabs.activation as sa

    sl = _sinabs()
    kw = dict(spike_fn=sa.SingleSpike, reset_fn=sa.MembraneReset())
    return scale(
        torch.nn.Sequential(
            L(5, 6),
            sl.LIF(tau_mem=8.0, spike_threshold=torch.tensor(0.4), **kw),
            L(6, 3),
            sl.LIF(tau_mem=6.0, spike_threshold=torch.tensor(0.4), **kw),
        ),
        3.0,
    )


@seeded
def sb_conv():
    sl = _sinabs()
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1),
        sl.IAFSqueeze(batch_size=B, spike_threshold=torch.tensor(0.5)),
        torch.nn.LPPool2d(1, 2),
        torch.nn.Flatten(),
        L(4 * 3 * 3, 3),
        sl.IAFSqueeze(batch_size=B, spike_threshold=torch.tensor(0.5)),
    )


@seeded
def sj_hard():
    _layer, neuron = _sj()
    return torch.nn.Sequential(
        L(5, 6), neuron.LIFNode(tau=3.0, v_reset=-0.1, v_threshold=0.5),
        L(6, 3), neuron.IFNode(v_threshold=0.6),
    )  # fmt: skip


@seeded
def sj_soft():
    _layer, neuron = _sj()
    return torch.nn.Sequential(
        L(5, 6), neuron.LIFNode(tau=3.0, v_reset=None, v_threshold=0.5),
        L(6, 3), neuron.LIFNode(tau=2.5, decay_input=False, v_reset=None, v_threshold=0.6),
    )  # fmt: skip


@seeded
def sj_plif_conv():
    layer, neuron = _sj()
    return scale(
        torch.nn.Sequential(
            layer.Conv2d(2, 4, 3, padding=1),
            neuron.ParametricLIFNode(init_tau=3.0, v_threshold=0.4),
            layer.AvgPool2d(2),
            layer.Flatten(),
            layer.Linear(36, 3),
            neuron.LIFNode(tau=2.0, v_threshold=0.3),
        ),
        4.0,
    )


@seeded
def sj_multi():
    layer, neuron = _sj()
    return torch.nn.Sequential(
        layer.Linear(5, 6, step_mode="m"),
        neuron.LIFNode(tau=4.0, v_threshold=0.5, step_mode="m"),
        layer.Linear(6, 3, step_mode="m"),
        neuron.IFNode(v_threshold=0.5, step_mode="m"),
    )


def _eqx():
    import equinox as eqx
    import jax

    from snnx import equinox_modules as em

    return eqx, jax.random.split(jax.random.PRNGKey(0), 8), em


def eqx_ff():
    eqx, k, em = _eqx()
    model = em.Sequential(
        [eqx.nn.Linear(5, 6, key=k[0]), em.LIF.init(6, np.linspace(3e-4, 2e-3, 6), v_threshold=0.5),
         eqx.nn.Linear(6, 3, key=k[1]), em.CubaLIF.init(3, 3e-4, 8e-4, v_threshold=0.3)]
    )  # fmt: skip
    return model, snnx.Semantics.profile("snntorch-nir")


def eqx_conv():
    eqx, k, em = _eqx()
    model = em.Sequential(
        [eqx.nn.Conv2d(2, 4, 3, padding=1, key=k[2]), em.IF.init((4, 6, 6), v_threshold=0.5),
         eqx.nn.AvgPool2d(2, 2), em.Flatten(), eqx.nn.Linear(36, 3, key=k[3]),
         em.LIF.init(3, 1e-3, v_threshold=0.2)]
    )  # fmt: skip
    return model, snnx.Semantics.profile("nir-reference")


def eqx_recurrent():
    eqx, k, em = _eqx()
    model = em.Network(
        {"fc": eqx.nn.Linear(5, 6, key=k[4]), "lif": em.LIF.init(6, 1e-3, v_threshold=0.4),
         "rec": eqx.nn.Linear(6, 6, use_bias=False, key=k[5]),
         "out": eqx.nn.Linear(6, 3, key=k[6]), "lif2": em.LIF.init(3, 2e-3, v_threshold=0.3)},
        [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out"),
         ("out", "lif2"), ("lif2", "output")],
    )  # fmt: skip
    return model, snnx.Semantics.profile("norse", dt=1e-4, overrides={})


def spyx_ff():
    import spyx.nn as snn
    from flax import nnx

    rngs = nnx.Rngs(0)
    return snn.Sequential(
        nnx.Linear(5, 6, rngs=rngs), snn.LIF((6,), beta=0.8, threshold=0.5, rngs=rngs),
        nnx.Linear(6, 3, rngs=rngs), snn.CuBaLIF((3,), alpha=0.7, beta=0.9, threshold=0.5, rngs=rngs),
    )  # fmt: skip


def spyx_if():
    import spyx.nn as snn
    from flax import nnx

    rngs = nnx.Rngs(1)
    return snn.Sequential(
        nnx.Linear(5, 6, rngs=rngs), snn.IF((6,), threshold=0.8),
        nnx.Linear(6, 3, rngs=rngs), snn.LIF((3,), beta=0.9, threshold=0.4, rngs=rngs),
    )  # fmt: skip


def spyx_recurrent():
    import spyx.nn as snn
    from flax import nnx

    rngs = nnx.Rngs(2)
    return snn.Sequential(
        nnx.Linear(5, 6, rngs=rngs),
        snn.RLIF((6,), beta=0.8, threshold=0.5, rngs=rngs),
        nnx.Linear(6, 4, rngs=rngs),
        snn.RCuBaLIF((4,), alpha=0.6, beta=0.85, threshold=0.5, rngs=rngs),
        nnx.Linear(4, 3, rngs=rngs),
        snn.LIF((3,), beta=0.9, threshold=0.4, rngs=rngs),
    )


SN, NO = frozenset({"snntorch", "norse"}), frozenset()
CONV = (2, 6, 6)
ARCHS: dict[str, Arch] = {
    "snntorch-default": Arch(st_default, (5,), per_step),
    "snntorch-zero-reset": Arch(st_zero, (5,), per_step, SN),
    "snntorch-zero-delayed": Arch(st_zero_delayed, (5,), per_step),
    "snntorch-synaptic": Arch(st_synaptic, (5,), per_step),
    "snntorch-conv": Arch(st_conv, CONV, per_step),
    "snntorch-rleaky": Arch(st_rleaky, (5,), per_step, gain=6.0),
    "snntorch-rsynaptic": Arch(st_rsynaptic, (5,), per_step),
    "snntorch-batchnorm": Arch(st_batchnorm, (5,), per_step, SN),
    "norse-lif": Arch(no_lif, (5,), threaded),
    "norse-box": Arch(no_box, (5,), threaded, SN, gain=10.0),
    "norse-iaf-li": Arch(no_iaf_li, (5,), threaded, spiking=False),
    "norse-recurrent": Arch(no_recurrent, (5,), threaded, frozenset({"norse"})),
    "norse-conv": Arch(no_conv, (2, 5, 5), threaded),
    "norse-sequence": Arch(no_sequence, (5,), whole_sequence_norse, SN),
    "sinabs-lif-iaf": Arch(sb_lif_iaf, (5,), sinabs_run),
    "sinabs-cuba-expleak": Arch(sb_cuba_leak, (5,), sinabs_run, spiking=False),
    "sinabs-singlespike-zero": Arch(sb_single_zero, (5,), sinabs_run, gain=6.0),
    "sinabs-conv-squeeze": Arch(sb_conv, CONV, sinabs_squeezed),
    "spikingjelly-hard-reset": Arch(sj_hard, (5,), per_step),
    "spikingjelly-soft-reset": Arch(sj_soft, (5,), per_step),
    "spikingjelly-plif-conv": Arch(sj_plif_conv, CONV, per_step, gain=6.0),
    "spikingjelly-multistep": Arch(sj_multi, (5,), sj_multi_step),
    "equinox-ff": Arch(eqx_ff, (5,), equinox_run, SN, source="equinox"),
    "equinox-conv": Arch(eqx_conv, CONV, equinox_run, source="equinox"),
    "equinox-recurrent": Arch(
        eqx_recurrent, (5,), equinox_run, frozenset({"norse"}), source="equinox"
    ),
    "spyx-ff": Arch(spyx_ff, (5,), spyx_run, source="spyx"),
    "spyx-if": Arch(spyx_if, (5,), spyx_run, source="spyx", gain=6.0),
    "spyx-recurrent": Arch(spyx_recurrent, (5,), spyx_run, source="spyx", gain=3.0),
}


@functools.cache
def converted(name: str) -> tuple[snnx.Graph, np.ndarray, np.ndarray]:
    """The graph of one source model, its input and the source's own outputs."""
    arch = ARCHS[name]
    x = (np.random.default_rng(len(name)).random((T, B, *arch.shape)) < 0.35).astype(np.float32)
    x = x * np.float32(arch.gain)
    with quiet():
        model = arch.build()
        if arch.source == "equinox":
            from snnx import from_equinox

            graph = from_equinox(model[0], arch.shape, model[1])
        elif arch.source == "spyx":
            from snnx import from_spyx

            graph = from_spyx(model, arch.shape, (3,), dt=1.0)
        else:
            graph = from_torch(model, shape=arch.shape, dt=arch.dt)
        want = arch.run(model, x)
    return graph, x, want.reshape(T, B, -1)


def check(name: str, got: np.ndarray, want: np.ndarray) -> None:
    got = np.asarray(got).reshape(want.shape)
    if ARCHS[name].spiking:
        bad = np.argwhere(got != want)
        assert not len(bad), f"{len(bad)}/{want.size} spikes differ, first at step {bad[0][0]}"
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_the_matrix_is_large_enough():
    kinds = {"snntorch", "norse", "sinabs", "spikingjelly", "equinox", "spyx"}
    assert len(ARCHS) >= 20 and {n.split("-")[0] for n in ARCHS} == kinds


@pytest.mark.parametrize("name", ARCHS)
def test_source_is_active(name):
    _graph, _x, want = converted(name)
    if ARCHS[name].spiking:
        assert 0.02 < float(np.mean(want != 0)) < 0.98, "a test without spikes proves nothing"


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("target", ["snnx", "torch", "torchscript", "equinox", "nir"])
def test_snnx_targets_reproduce_the_source(name, target, tmp_path):
    graph, x, want = converted(name)
    if target == "snnx":
        got = simulate(graph, x).outputs["output"]
    elif target == "torch":
        with torch.no_grad():
            got = to_torch(graph)(torch.from_numpy(x))[0].numpy()
    elif target == "torchscript":
        module = to_torchscript(graph)
        path = tmp_path / "m.pt"
        torch.jit.save(module, str(path))
        got = torch.jit.load(str(path))(torch.from_numpy(x))[0].detach().numpy()
    elif target == "equinox":
        got = np.asarray(to_equinox(graph)(x)[0])
    else:
        snnx.write(graph, tmp_path / "m.nir")
        back = snnx.read(tmp_path / "m.nir")
        assert back.nodes.keys() == graph.nodes.keys() and back.edges == graph.edges
        assert all(back[n] == graph[n] for n in graph) and back.semantics == graph.semantics
        got = simulate(back, x).outputs["output"]
    check(name, got, want)


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("peer", ["snntorch", "norse"])
def test_peer_importers_reproduce_the_source_where_they_can(name, peer):
    graph, x, want = converted(name)
    convert = to_snntorch if peer == "snntorch" else to_norse
    if peer not in ARCHS[name].peers:
        with quiet(), pytest.raises(ConversionError) as err:
            convert(graph)
        assert "node '" in str(err.value)
        return
    with quiet():
        net = convert(graph)
        got = threaded(net, x)
    check(name, got, want)
