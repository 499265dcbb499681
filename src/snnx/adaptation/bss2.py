"""Adapting a BrainScaleS-2 program (`snnx.targets.bss2`) for the chips it will meet: robustness
to the fixed-pattern mismatch model (`snnx.targets.bss2.mismatch`), not fitting one ideal chip.

No two chips are alike, so adaptation minimises the loss of the common loop
(`snnx.adaptation.loop`) in expectation over chips: every step draws a fresh chip instance
(time constants, per-synapse weights and gains, CADC offsets of threshold, leak and reset, from
`mismatch.sample` with the adapter's `Spread`) and runs the minibatch on it; the step follows
each projection's normalised gradient with momentum (`normalized_step`). The free
parameters are the 6-bit signed weights ``q`` of every projection (straight-through rounding,
clamped to +-63: the artifact's rows stay within the chip's range; scales, rows and neurons are
unchanged).

The chip runs in continuous time (`snnx.targets.bss2.numerics`, exact but not differentiable);
the training forward pass integrates the same current-based LIF equations exactly over
``substeps`` sub-steps of each grid step (exponential propagators, an input spike arriving at
the start of the sub-step holding its offset, a threshold crossing seen at the end of a
sub-step, reset to ``v_reset``, held for the refractory time from half a sub-step before the
end, recurrent jumps applied from the
next sub-step on) with surrogate spikes: an approximation of the chip, close at these step
sizes. Candidates are judged on the exact numerics: every ``check`` steps, the mean class
agreement with the reference on the first calibration samples over ``check_chips`` fixed chip
instances; the best is kept.

The report adds, to the nominal chip's verification before and after, the Monte-Carlo
distribution over ``chips`` other instances on the held-out inputs: per chip the class
agreement with the reference (decided samples), the same chips before and after (a chip is a
fixed set of factors and offsets, applied to the lowered and to the adapted weights alike).

>>> import numpy as np, snnx
>>> from snnx.targets import get_target
>>> lowered = get_target("bss2").lower(
...     snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("nir-reference"))
>>> adapter = Bss2Adapter()
>>> again = adapter.apply(lowered, adapter.init(lowered))
>>> bool(np.array_equal(again.program.network.w_input, lowered.program.network.w_input))
True
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from snnx.adaptation.base import Params
from snnx.adaptation.loop import Adapted, Goal, Settings, chip_semantics, reference_counts
from snnx.adaptation.surrogate import round_ste, spike
from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.sim import resolve_semantics
from snnx.targets.base import Lowered, Target
from snnx.targets.bss2.mismatch import Spread, sample
from snnx.targets.bss2.network import Network
from snnx.targets.bss2.numerics import Params as ChipParams
from snnx.targets.bss2.numerics import run_grid
from snnx.targets.bss2.program import Program
from snnx.targets.bss2.spec import LIMITS
from snnx.verification import is_decided, verify

TOP = float(LIMITS.weight_max)


class Chip(NamedTuple):
    """One chip instance as the forward pass takes it: per-neuron parameters ``(N,)`` and the
    factors its weights are multiplied by, ``(N, inputs)`` and ``(N, N)``."""

    tau_mem: Any
    tau_syn: Any
    v_leak: Any
    v_threshold: Any
    v_reset: Any
    drive: Any
    v_start: Any
    f_input: Any
    f_internal: Any


def nominal_chip(net: Network) -> Chip:
    """The ideal chip: the network's own numbers, weight factors 1."""
    return Chip(
        net.tau_mem,
        net.tau_syn,
        net.v_leak,
        net.v_threshold,
        net.v_reset,
        net.drive,
        net.v_start,
        np.ones_like(net.w_input),
        np.ones_like(net.w_internal),
    )


def sampled_chip(net: Network, spread: Spread, rng: np.random.Generator, vpl: np.ndarray) -> Chip:
    """A chip instance of the mismatch model (`mismatch.sample`), its weight variation as
    factors (1 where the network has no weight)."""
    p = sample(net, spread, rng, vpl)

    def factor(drawn: np.ndarray, nominal: np.ndarray) -> np.ndarray:
        safe = np.where(nominal != 0, nominal, 1.0)
        return np.where(nominal != 0, drawn / safe, 1.0)

    return Chip(
        p.tau_mem,
        p.tau_syn,
        p.v_leak,
        p.v_threshold,
        p.v_reset,
        p.drive,
        p.v_start,
        factor(p.w_input, net.w_input),
        factor(p.w_internal, net.w_internal),
    )


def on_chip(net: Network, chip: Chip) -> ChipParams:
    """``net`` as ``chip`` runs it: the exact numerics' parameters."""
    return ChipParams(
        chip.tau_mem,
        chip.tau_syn,
        chip.v_leak,
        chip.v_threshold,
        chip.v_reset,
        chip.drive,
        chip.v_start,
        net.w_input * chip.f_input,
        net.w_internal * chip.f_internal,
        net.refractory,
    )


@dataclasses.dataclass
class RobustAdapted(Adapted):
    """`Adapted` with the Monte-Carlo class agreement per chip instance (held-out inputs,
    decided samples), before and after."""

    chips_before: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    chips_after: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def summary(self) -> dict[str, Any]:
        """`Adapted.summary` with the distribution over chips: mean, 10th percentile, worst."""
        out = super().summary()
        n = len(self.chips_before)
        for key, values in (("before", self.chips_before), ("after", self.chips_after)):
            out[key][f"class agreement over {n} mismatched chips (mean)"] = round(
                float(np.mean(values)), 4
            )
            out[key][f"class agreement over {n} mismatched chips (10th percentile)"] = round(
                float(np.percentile(values, 10)), 4
            )
            out[key][f"class agreement over {n} mismatched chips (worst)"] = round(
                float(np.min(values)), 4
            )
        out["notes"].append(
            f"trained under the mismatch model (a fresh chip instance per step); {n} other "
            "instances judge it on the held-out inputs"
        )
        return out


class Bss2Adapter:
    """The BrainScaleS-2 adapter (`snnx.adaptation.base.Adapter`, with its own loop:
    `run_adaptation`). ``spread``: the mismatch model trained and reported under; ``chips``:
    instances in the held-out report; ``check_chips`` / ``check_samples``: the exact numerics'
    judgement of candidates; ``substeps``: sub-steps per grid step of the training forward
    pass."""

    batch = 32
    learning_rate = 0.001

    def __init__(
        self,
        spread: Spread | None = None,
        chips: int = 8,
        check_chips: int = 4,
        check_samples: int = 128,
        substeps: int = 4,
    ) -> None:
        self.spread = spread or Spread()
        self.chips = chips
        self.check_chips = check_chips
        self.check_samples = check_samples
        self.substeps = substeps

    def init(self, lowered: Lowered) -> Params:
        """Each projection's signed integers over 63."""
        program: Program = lowered.program
        if not program.quantized:
            raise SnnxError("bss2 adaptation trains the 6-bit weights: lower with quantize=True")
        return {p.name: jnp.asarray(p.q, jnp.float32) / TOP for p in program.projections}

    def feed(self, lowered: Lowered, inputs: np.ndarray) -> np.ndarray:
        """Spike counts per step and input channel ``(T, B, n_in)``."""
        x = np.asarray(inputs, np.float32)
        return x.reshape(x.shape[0], x.shape[1], -1)

    def forward(self, lowered: Lowered, params: Params, x: jax.Array) -> dict[str, jax.Array]:
        """Each population's spike counts per step ``(T, B, size)`` on the ideal chip."""
        chip = nominal_chip(lowered.program.network)
        return self.forward_on(lowered, params, chip, x)

    def forward_on(
        self, lowered: Lowered, params: Params, chip: Chip, x: jax.Array
    ) -> dict[str, jax.Array]:
        """Each population's spike counts per step ``(T, B, size)`` on ``chip``."""
        program: Program = lowered.program
        net = program.network
        w_in, w_int = _weights(program, params)
        chip = Chip(*(jnp.asarray(c, jnp.float32) for c in chip))
        w_in = w_in * chip.f_input
        recurrent = jnp.asarray(_recurrent(program))
        w_rec = jnp.where(recurrent, w_int * chip.f_internal, 0.0)
        w_ff = jnp.where(recurrent, 0.0, w_int * chip.f_internal)
        k = self.substeps
        h = net.dt / k
        arrival = np.minimum(np.floor(net.input_offset / h), k - 1).astype(int)
        slow = jnp.maximum(chip.tau_mem, chip.tau_syn)
        gap = jnp.abs(1.0 / chip.tau_syn - 1.0 / chip.tau_mem)
        v_inf = chip.v_leak + chip.drive
        span = chip.v_threshold - chip.v_reset
        # a crossing lies half a sub-step before the end, on average: the hold starts there
        hold = jnp.asarray(np.maximum(np.asarray(net.refractory) - h / 2, 0.0), jnp.float32)
        batch = x.shape[1]
        n = net.size

        def evolve(v: jax.Array, i: jax.Array, wait: jax.Array) -> tuple[jax.Array, jax.Array]:
            """``(v, I)`` after one sub-step, the first ``wait`` of it held at reset."""
            held = jnp.clip(wait, 0.0, h)
            free = h - held
            u = (i - chip.drive) * jnp.exp(-held / chip.tau_syn)
            v = jnp.where(wait > 0, chip.v_reset, v)
            x_gap = -free * gap
            phi = jnp.where(
                jnp.abs(x_gap) < 1e-7, 1.0, jnp.expm1(x_gap) / jnp.where(x_gap == 0, 1.0, x_gap)
            )
            kernel = (free / chip.tau_mem) * jnp.exp(-free / slow) * phi
            v = v_inf + (v - v_inf) * jnp.exp(-free / chip.tau_mem) + u * kernel
            return v, chip.drive + u * jnp.exp(-free / chip.tau_syn)

        def step(carry: tuple, xt: jax.Array) -> tuple[tuple, jax.Array]:
            v, i, wait = carry
            jump = xt @ w_in.T
            count = jnp.zeros((batch, n), jnp.float32)
            for sub in range(k):
                i = i + jnp.where(jnp.asarray(arrival == sub), jump, 0.0)
                v_new, i = evolve(v, i, wait)
                wait = wait - h
                s = spike((v_new - chip.v_reset) / span, jnp.float32(1.0))
                fired = jax.lax.stop_gradient(s) > 0
                v = jnp.where(fired, chip.v_reset, v_new)
                wait = jnp.where(fired, hold, wait)
                # no gradient back in time through recurrent jumps (it explodes over the
                # sub-steps); forward projections pass it on
                i = i + jax.lax.stop_gradient(s) @ w_rec.T + s @ w_ff.T
                count = count + s
            return (v, i, wait), count

        start = (
            jnp.broadcast_to(chip.v_start, (batch, n)),
            jnp.zeros((batch, n), jnp.float32),
            jnp.zeros((batch, n), jnp.float32),
        )
        _, counts = jax.lax.scan(step, start, jnp.asarray(x, jnp.float32))
        return {
            layer.name: counts[:, :, slice(*program.population(layer.name).neurons)]
            for layer in lowered.layers
        }

    def apply(self, lowered: Lowered, params: Params) -> Lowered:
        """The program with the trained 6-bit weights (and the network they mean)."""
        program: Program = lowered.program
        net = program.network
        w_input, w_internal = net.w_input.copy(), net.w_internal.copy()
        projections = []
        for proj in program.projections:
            assert proj.q is not None and proj.scale is not None  # `init` refuses float weights
            q = np.clip(np.rint(np.asarray(params[proj.name], np.float64) * TOP), -TOP, TOP)
            new = dataclasses.replace(proj, q=q.astype(np.int16), clipped=0)
            rows, cols = _block(program, proj)
            matrix = w_internal if cols is not None else w_input
            matrix[rows, cols if cols is not None else slice(None)] += new.applied - proj.applied
            projections.append(new)
        network = net.replace(w_input=w_input, w_internal=w_internal)
        program = dataclasses.replace(program, projections=projections, network=network)
        return dataclasses.replace(lowered, program=program)

    def run_adaptation(
        self,
        graph: Graph,
        target: Target,
        semantics: Semantics | str | None,
        calibration: np.ndarray,
        held_out: np.ndarray,
        settings: Settings,
    ) -> RobustAdapted:
        """Adapt in expectation over chip instances (the module docstring); report on
        ``held_out`` on the nominal chip and over ``chips`` instances."""
        started = time.perf_counter()
        reference = resolve_semantics(graph, semantics)
        lowered, chip_sem = chip_semantics(graph, target, reference)
        steps, samples = calibration.shape[:2]
        if samples < 1 or steps < 1:
            raise SnnxError(f"calibration inputs hold no samples (shape {calibration.shape})")
        program: Program = lowered.program
        net = program.network
        vpl = np.concatenate([p.hardware["volts_per_cadc"] for p in program.populations])
        fed = jnp.asarray(self.feed(lowered, calibration))
        goal = Goal.of(lowered, calibration, settings.bin)
        out_name = goal.output

        def loss_fn(params: Params, chip: Chip, idx: jax.Array) -> jax.Array:
            return goal.loss(self.forward_on(lowered, params, chip, fed[:, idx]), idx, settings)

        rate = settings.learning_rate or self.learning_rate

        @jax.jit
        def update(params: Params, state: Any, chip: Chip, idx: jax.Array) -> tuple:
            value, grads = jax.value_and_grad(loss_fn)(params, chip, idx)
            params, state = normalized_step(params, grads, state, rate, settings.iterations)
            return params, state, value

        rng = np.random.default_rng(settings.seed)
        check_rng = np.random.default_rng([settings.seed, 1])
        judges = [sampled_chip(net, self.spread, check_rng, vpl) for _ in range(self.check_chips)]
        checked = calibration[:, : min(settings.check_samples, self.check_samples)]
        want = goal.counts[out_name][:, : checked.shape[1]].sum(0)

        def score(params: Params) -> float:
            adapted = self.apply(lowered, params).program.network
            return float(np.mean(chip_agreement(lowered, adapted, judges, checked, want)))

        params = self.init(lowered)
        state = {"m": jax.tree_util.tree_map(jnp.zeros_like, params), "k": jnp.int32(0)}
        batch = min(settings.batch or self.batch, samples)
        best = (score(params), params)
        history = [(0, best[0], float("nan"))]
        for i in range(1, settings.iterations + 1):
            idx = jnp.asarray(rng.choice(samples, size=batch, replace=False))
            chip = sampled_chip(net, self.spread, rng, vpl)
            params, state, value = update(params, state, chip, idx)
            if i % settings.check == 0 or i == settings.iterations:
                now = score(params)
                history.append((i, now, float(value)))
                if now > best[0]:
                    best = (now, jax.tree_util.tree_map(jnp.copy, params))
        adapted = self.apply(lowered, best[1])
        seconds = time.perf_counter() - started
        before = verify(graph, target, held_out, reference, lowered=lowered)
        after = verify(graph, target, held_out, reference, lowered=adapted)
        report_rng = np.random.default_rng([settings.seed, 2])
        chips = [sampled_chip(net, self.spread, report_rng, vpl) for _ in range(self.chips)]
        want = reference_counts(lowered, held_out)[out_name].sum(0)
        return RobustAdapted(
            adapted,
            before,
            after,
            seconds,
            chip_sem,
            history,
            chips_before=chip_agreement(lowered, net, chips, held_out, want),
            chips_after=chip_agreement(lowered, adapted.program.network, chips, held_out, want),
        )


def normalized_step(
    params: Params, grads: Params, state: dict[str, Any], rate: float, total: int
) -> tuple[Params, dict[str, Any]]:
    """One step of momentum (0.9) along each projection's gradient divided by its norm, the
    step size ``rate`` decaying along a cosine over ``total`` steps. Not Adam: Adam moves every
    weight by about the same amount at first, so that thousands of 6-bit weights cross a
    rounding boundary together; here a weight moves in proportion to its gradient.

    >>> p, s = normalized_step({"w": jnp.zeros(2)}, {"w": jnp.array([3.0, 4.0])},
    ...                        {"m": {"w": jnp.zeros(2)}, "k": jnp.int32(0)}, 0.1, 10)
    >>> [round(float(v), 3) for v in p["w"]]
    [-0.06, -0.08]
    """
    unit = jax.tree_util.tree_map(
        lambda g: (
            jnp.where(jnp.isfinite(g), g, 0.0)
            / (jnp.sqrt(jnp.sum(jnp.where(jnp.isfinite(g), g, 0.0) ** 2)) + 1e-12)
        ),
        grads,
    )
    m = jax.tree_util.tree_map(lambda m, u: 0.9 * m + u, state["m"], unit)
    size = rate * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(state["k"], total) / max(total, 1)))
    params = jax.tree_util.tree_map(lambda p, m: p - size * m, params, m)
    return params, {"m": m, "k": state["k"] + 1}


def chip_agreement(
    lowered: Lowered, net: Network, chips: list[Chip], inputs: np.ndarray, want: np.ndarray
) -> np.ndarray:
    """Per chip, the share of decided samples (reference output counts ``want`` ``(B, size)``)
    whose most active output of ``net`` run on that chip is the reference's, on ``inputs``."""
    x = np.asarray(inputs, np.float64)
    x = x.reshape(x.shape[0], x.shape[1], -1)
    out = slice(*lowered.program.population(lowered.output.name).neurons)
    keep = is_decided(want)
    keep = keep if keep.any() else np.ones(len(want), bool)
    scores = []
    for chip in chips:
        counts = run_grid(net, x, params=on_chip(net, chip))["counts"][:, :, out].sum(0)
        scores.append(float(np.mean((counts.argmax(-1) == want.argmax(-1))[keep])))
    return np.asarray(scores)


def _block(program: Program, proj: Any) -> tuple[slice, slice | None]:
    """The rows of ``proj``'s target and the columns of its source population (``None``: the
    input) in the network's weight matrices."""
    rows = slice(*program.population(proj.target).neurons)
    names = {p.name for p in program.populations}
    cols = slice(*program.population(proj.source).neurons) if proj.source in names else None
    return rows, cols


def _recurrent(program: Program) -> np.ndarray:
    """Where the ``(N, N)`` matrix holds projections of a population onto itself."""
    mask = np.zeros(program.network.w_internal.shape, bool)
    for pop in program.populations:
        block = slice(*pop.neurons)
        mask[block, block] = True
    return mask


def _weights(program: Program, params: Params) -> tuple[jax.Array, jax.Array]:
    """The weight matrices ``(N, inputs)`` and ``(N, N)`` the trained integers mean (straight
    through rounding, clamped to the 6-bit range)."""
    net = program.network
    w_in = jnp.zeros(net.w_input.shape, jnp.float32)
    w_int = jnp.zeros(net.w_internal.shape, jnp.float32)
    for proj in program.projections:
        q = jnp.clip(round_ste(params[proj.name] * TOP), -TOP, TOP)
        w = q / jnp.float32(proj.scale)
        rows, cols = _block(program, proj)
        if cols is None:
            w_in = w_in.at[rows].add(w)
        else:
            w_int = w_int.at[rows, cols].add(w)
    return w_in, w_int
