"""BrainScaleS-2 numerics against independent references: closed-form spike times (Lambert W for
equal time constants, a quadratic for tau_mem = 2 tau_syn), an event-driven simulation in 25-digit
mpmath arithmetic written here (bisection on the closed-form trajectory, stationary point in its
textbook form), and the reference simulator's exact integrator at grid times."""

from __future__ import annotations

import itertools
import warnings

import mpmath as mp
import numpy as np
import pytest

import snnx
from snnx.errors import SnnxWarning
from snnx.sim import Simulator
from snnx.targets.bss2 import grid
from snnx.targets.bss2.lower import lower
from snnx.targets.bss2.network import Network
from snnx.targets.bss2.numerics import run_grid, spike_times_events, trains

# -- an independent reference: exact event-driven CUBA LIF network in mpmath -----------------------


class MpNetwork:
    """tau_s dI/dt = -I + c, tau_m dv/dt = v_leak - v + I; jumps on spikes; reset and hold."""

    def __init__(self, net: Network, dps: int = 25):
        mp.mp.dps = dps
        self.n = net.size
        f = lambda a: [mp.mpf(float(x)) for x in a]  # noqa: E731
        self.tm, self.ts = f(net.tau_mem), f(net.tau_syn)
        self.vl, self.th, self.vr = f(net.v_leak), f(net.v_threshold), f(net.v_reset)
        self.c, self.v0, self.ref = f(net.drive), f(net.v_start), f(net.refractory)
        self.win = [f(row) for row in net.w_input]
        self.w = [f(row) for row in net.w_internal]

    def at(self, k, v, i, s):
        """(v, I) of neuron k after s free seconds."""
        tm, ts, c = self.tm[k], self.ts[k], self.c[k]
        u, b = i - c, v - (self.vl[k] + c)
        if abs(tm - ts) < mp.mpf(10) ** -30 * tm:
            vs = (b + u * s / tm) * mp.exp(-s / tm)
        else:
            a = u * ts / (ts - tm)
            vs = (b - a) * mp.exp(-s / tm) + a * mp.exp(-s / ts)
        return self.vl[k] + c + vs, c + u * mp.exp(-s / ts)

    def stationary(self, k, v, i):
        tm, ts, c = self.tm[k], self.ts[k], self.c[k]
        u, b = i - c, v - (self.vl[k] + c)
        if u == 0:
            return None
        if abs(tm - ts) < mp.mpf(10) ** -30 * tm:
            s = tm * (u - b) / u
        else:
            a = u * ts / (ts - tm)
            if b - a == 0:
                return None
            ratio = -(a * tm) / ((b - a) * ts)
            if ratio <= 0:
                return None
            s = mp.log(ratio) / (1 / ts - 1 / tm)
        return s if s > 0 else None

    def crossing(self, k, v, i, hold, horizon):
        """First s in [0, horizon] where neuron k reaches threshold, or None."""
        h = min(hold, horizon)
        if hold > 0:
            v, i = self.vr[k], self.c[k] + (i - self.c[k]) * mp.exp(-h / self.ts[k])
        span = horizon - h
        f = lambda s: self.at(k, v, i, s)[0] - self.th[k]  # noqa: E731
        if f(mp.mpf(0)) >= 0:
            return h
        points = [mp.mpf(0)]
        sp = self.stationary(k, v, i)
        if sp is not None and sp < span:
            points.append(sp)
        points.append(span)
        for lo, hi in itertools.pairwise(points):
            if f(hi) >= 0:
                for _ in range(mp.mp.prec + 8):
                    mid = (lo + hi) / 2
                    lo, hi = (lo, mid) if f(mid) >= 0 else (mid, hi)
                return h + hi
        return None

    def simulate(self, events, t_end):
        """events: per input channel, spike times. Returns per-neuron spike-time lists."""
        queue = sorted((mp.mpf(float(t)), j) for j, tr in enumerate(events) for t in tr)
        queue = [e for e in queue if e[0] < t_end] + [(mp.mpf(t_end), None)]
        v, i = list(self.v0), [mp.mpf(0)] * self.n
        until = [mp.mpf(0)] * self.n
        t, out = mp.mpf(0), [[] for _ in range(self.n)]
        for te, j in queue:
            while True:
                found = [
                    self.crossing(k, v[k], i[k], max(until[k] - t, 0), te - t)
                    for k in range(self.n)
                ]
                times = [s for s in found if s is not None]
                if not times:
                    break
                m = min(times)
                fired = [s is not None and s <= m for s in found]
                for k in range(self.n):
                    v[k], i[k] = self._advance(k, v[k], i[k], max(until[k] - t, 0), m)
                t = t + m
                for k in range(self.n):
                    if fired[k]:
                        v[k], until[k] = self.vr[k], t + self.ref[k]
                        out[k].append(t)
                for k in range(self.n):
                    i[k] += sum(self.w[k][p] for p in range(self.n) if fired[p])
            for k in range(self.n):
                v[k], i[k] = self._advance(k, v[k], i[k], max(until[k] - t, 0), te - t)
            t = te
            if j is not None:
                for k in range(self.n):
                    i[k] += self.win[k][j]
        return [[float(x) for x in tr] for tr in out]

    def _advance(self, k, v, i, hold, s):
        h = min(hold, s)
        if hold > 0:
            v, i = self.vr[k], self.c[k] + (i - self.c[k]) * mp.exp(-h / self.ts[k])
        return self.at(k, v, i, s - h)


def network(tm, ts, w_in, w_int=None, *, drive=0.0, refractory=0.0, theta=1.0, v_reset=0.0):
    w_in = np.asarray(w_in, dtype=np.float64)
    n = w_in.shape[0]
    one = np.ones(n)
    return Network(
        tau_mem=tm * one,
        tau_syn=ts * one,
        v_leak=0 * one,
        v_threshold=theta * one,
        v_reset=v_reset * one,
        drive=drive * one,
        v_start=0 * one,
        w_input=w_in,
        w_internal=np.zeros((n, n)) if w_int is None else np.asarray(w_int, dtype=np.float64),
        input_offset=0 * one,
        dt=1e-4,
        populations=(("all", 0, n),),
        refractory=refractory * one,
    )


PAD_NEURONS, PAD_INPUTS, PAD_BATCH = 16, 16, 4


def events_run(net: Network, batch, t_end):
    """`spike_times_events` at one padded shape (inert neurons, silent inputs, empty samples), so
    the tests here share one compiled program."""
    n, k = net.size, net.inputs
    assert n <= PAD_NEURONS and k <= PAD_INPUTS and len(batch) <= PAD_BATCH

    def grow(a, fill):
        return np.concatenate([a, np.full(PAD_NEURONS - n, fill)])

    w_in = np.zeros((PAD_NEURONS, PAD_INPUTS))
    w_in[:n, :k] = net.w_input
    w_int = np.zeros((PAD_NEURONS, PAD_NEURONS))
    w_int[:n, :n] = net.w_internal
    padded = Network(
        tau_mem=grow(net.tau_mem, 1.0),
        tau_syn=grow(net.tau_syn, 1.0),
        v_leak=grow(net.v_leak, 0.0),
        v_threshold=grow(net.v_threshold, 1.0),
        v_reset=grow(net.v_reset, 0.0),
        drive=grow(net.drive, 0.0),
        v_start=grow(net.v_start, 0.0),
        w_input=w_in,
        w_internal=w_int,
        input_offset=grow(net.input_offset, 0.0),
        dt=net.dt,
        populations=(("all", 0, PAD_NEURONS),),
        refractory=grow(net.refractory, 0.0),
    )
    samples = [list(b) + [[]] * (PAD_INPUTS - k) for b in batch]
    samples += [[[]] * PAD_INPUTS] * (PAD_BATCH - len(batch))
    out = spike_times_events(padded, samples, t_end, capacity=512, slots=16)
    return [trains[:n] for trains in out[: len(batch)]]


def assert_same_trains(got, want, tol):
    assert [len(g) for g in got] == [len(w) for w in want]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=tol)


# -- closed forms --------------------------------------------------------------------------------


def test_single_spike_times_match_the_closed_forms():
    """One input spike of weight w at t0 from rest: tau_m = tau_s gives t0 - tau W0(-theta/w);
    tau_m = 2 tau_s gives t0 - tau_m ln((1 + sqrt(1 - 4 theta / w)) / 2). Grazing (w barely
    above the minimum) and strong inputs, ms and us time scales, all neurons in one run."""
    cases = []
    for scale in (1e-3, 1e-6):
        for grazing in (1.0001, 1.5, 30.0):
            cases.append((10 * scale, 10 * scale, grazing * float(mp.e)))  # ratio 1: w_min = e
            cases.append((10 * scale, 5 * scale, grazing * 4.0))  # ratio 2: w_min = 4
    t0 = [1e-3 if tm > 1e-5 else 1e-6 for tm, _, _ in cases]
    n = len(cases)
    net = Network(
        tau_mem=np.array([c[0] for c in cases]),
        tau_syn=np.array([c[1] for c in cases]),
        v_leak=np.zeros(n),
        v_threshold=np.ones(n),
        v_reset=np.full(n, -1e9),  # fire once: the reset is far below
        drive=np.zeros(n),
        v_start=np.zeros(n),
        w_input=np.diag([c[2] for c in cases]),
        w_internal=np.zeros((n, n)),
        input_offset=np.zeros(n),
        dt=1e-4,
        populations=(("all", 0, n),),
    )
    got = events_run(net, [[[t] for t in t0]], t_end=1.0)[0]
    for k, (tm, ts, w) in enumerate(cases):
        if tm == ts:
            want = t0[k] - tm * float(mp.lambertw(-1 / mp.mpf(w), 0).real)
        else:
            want = t0[k] - tm * float(mp.log((1 + mp.sqrt(1 - 4 / mp.mpf(w))) / 2))
        assert len(got[k]) == 1
        assert got[k][0] == pytest.approx(want, rel=0, abs=1e-12 * tm)


def test_no_spike_below_the_minimum_weight():
    """w just below w_min (e theta for equal time constants, 4 theta for ratio 2): no spike."""
    net = network(1e-3, 1e-3, [[float(mp.e) * 0.9999]])
    assert events_run(net, [[[1e-3]]], t_end=1.0)[0][0].size == 0
    net = network(1e-3, 5e-4, [[4.0 * 0.9999]])
    assert events_run(net, [[[1e-3]]], t_end=1.0)[0][0].size == 0


# -- against the mpmath network simulation, any tau ratio ---------------------------------------------


RATIOS = [1.0, 2.0, 1.5, 3.0, 0.5, 1.2, 1.0 + 1e-7]


@pytest.mark.parametrize("ratio", RATIOS)
def test_two_layer_spike_trains_match_mpmath_for_any_ratio(ratio):
    """3 inputs -> 4 -> 2 neurons, mixed-sign weights (in units of the weight that just reaches
    threshold), every spike of every neuron; jaxsnn is exact only for ratios 1 and 2, these
    numerics for all."""
    rng = np.random.default_rng(int(ratio * 1000))
    ts = 5e-3
    tm = ratio * ts
    peak = grid.kernel(np.array(tm), np.array(ts), np.linspace(0, 10 * max(tm, ts), 20001)).max()
    w1, w2 = rng.uniform(-1, 1.6, (4, 3)) / peak, rng.uniform(-1, 1.2, (2, 4)) / peak
    w_in = np.zeros((6, 3))
    w_in[:4] = w1
    w_int = np.zeros((6, 6))
    w_int[4:, :4] = w2
    net = network(tm, ts, w_in, w_int)
    events = [sorted(rng.uniform(0, 3 * tm, rng.integers(1, 4))) for _ in range(3)]
    t_end = 8 * max(tm, ts)
    want = MpNetwork(net).simulate(events, t_end)
    got = events_run(net, [events], t_end)[0]
    assert sum(len(w) for w in want) >= 3
    assert_same_trains(got, want, tol=1e-12 * ts)


def test_recurrent_network_with_drive_and_refractory_matches_mpmath():
    """Recurrence (zero delay), a constant drive above threshold (tonic firing), inhibition, and
    a refractory hold: every spike within 1e-12 tau_syn."""
    rng = np.random.default_rng(7)
    w_in = rng.uniform(0, 3, (4, 2))
    w_int = rng.uniform(-2, 2, (4, 4))
    np.fill_diagonal(w_int, 0.0)
    net = network(2e-3, 1e-3, w_in, w_int, drive=1.3, refractory=3e-4, v_reset=-0.2)
    events = [[1e-3, 4e-3], [2.5e-3]]
    want = MpNetwork(net).simulate(events, 2e-2)
    got = events_run(net, [events], 2e-2)[0]
    assert sum(len(w) for w in want) > 20
    assert_same_trains(got, want, tol=1e-12 * 1e-3)


def test_simultaneous_crossings_are_all_kept():
    """Two identical neurons cross at the same instant: both spike (jaxsnn can lose one), and a
    neuron that needs both spikes fires at the closed-form time of one input of twice the weight."""
    w = 5.0
    net = network(1e-3, 5e-4, [[w], [w], [0.0]], [[0, 0, 0], [0, 0, 0], [2.5, 2.5, 0]])
    got = events_run(net, [[[1e-3]]], t_end=0.1)[0]
    first = 1e-3 - 1e-3 * np.log((1 + np.sqrt(1 - 4 / w)) / 2)
    assert len(got[0]) == len(got[1]) == 1
    assert got[0][0] == got[1][0] == pytest.approx(first, abs=1e-15)
    second = first - 1e-3 * np.log((1 + np.sqrt(1 - 4 / 5.0)) / 2)
    assert got[2] == pytest.approx([second], abs=1e-15)


def test_batched_samples_are_independent():
    """Consistency check of two snnx paths: a batch runs each sample on its own clock, the
    same as one sample at a time."""
    net = network(1e-3, 5e-4, [[5.0, -1.0], [3.0, 4.5]])
    batch = [[[1e-3], [1.5e-3, 2e-3]], [[], [0.3e-3]], [[2e-3, 2.1e-3], []]]
    together = events_run(net, batch, t_end=0.02)
    for b, sample in enumerate(batch):
        alone = events_run(net, [sample], t_end=0.02)[0]
        assert_same_trains(together[b], alone, tol=1e-18)  # vectorised exp: last-bit differences


# -- on the reference's grid -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def braille_subthreshold():
    """Braille with thresholds out of reach (no spikes) and no recurrent bias (the reference
    delivers back-edge values one step late; here nothing travels the back edge)."""
    graph = snnx.read(snnx.example_path("braille")).flatten()
    for name in ("lif1.lif", "lif2"):
        node = graph[name]
        graph.replace_node(name, node.replace(v_threshold=np.full_like(node.v_threshold, 1e9)))
    rec = graph["lif1.w_rec"]
    graph.replace_node("lif1.w_rec", rec.replace(bias=np.zeros_like(rec.bias)))
    return graph


def test_grid_voltages_equal_the_exact_integrator_below_threshold(braille_subthreshold):
    """Input spikes become jumps at n dt + offset with the gain of `grid.step_event`; with biases
    as constant drive, every neuron's voltage at every step end equals the reference simulator's
    exact integrator (float64) to rounding: the discrete-to-event mapping is exact."""
    import jax

    semantics = snnx.Semantics.profile("nir-reference")
    x = (np.random.default_rng(0).uniform(size=(40, 3, 12)) < 0.2).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnnxWarning)
        lowered = lower(braille_subthreshold, semantics, quantize=False, refractory=0.0)
    got = run_grid(lowered.program.network, x, record_v=True)["v"]
    with jax.enable_x64(True):
        ref = Simulator(braille_subthreshold, semantics, record=["lif1.lif"], dtype="float64")(x)
    want = ref.records["lif1.lif.v"].reshape(40, 3, -1)
    assert np.abs(want).max() > 10
    np.testing.assert_allclose(got[:, :, :38], want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_grid_spikes_are_binned_crossing_times():
    """`run_grid` counts a spike in the step its crossing time falls in; the same network fed the
    same spikes as events at n dt + offset gives those times."""
    net = network(1e-3, 5e-4, [[6.0], [9.0]]).replace(input_offset=np.full(2, 3e-5))
    x = np.zeros((60, 1, 1))
    x[[3, 10, 11, 30]] = 1
    grid = run_grid(net, x, capacity=None)
    times = trains(grid["times"], grid["neurons"], 2)[0]
    events = events_run(net, [[[n * 1e-4 + 3e-5 for n in (3, 10, 11, 30)]]], t_end=6e-3)[0]
    assert_same_trains(times, events, tol=1e-15)
    for k in range(2):
        binned = np.bincount(np.floor(times[k] / 1e-4).astype(int), minlength=60)
        np.testing.assert_array_equal(grid["counts"][:, 0, k], binned)
    assert grid["counts"].sum() > 2
