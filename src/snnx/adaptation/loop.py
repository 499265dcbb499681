"""The adaptation loop every target shares.

1. **Reference.** The graph runs under its resolved semantics (the file's, the user's, the
   profile's): the model as trained. The target is lowered under that semantics, or, where the
   chip cannot express a knob (Loihi resets to zero), under the nearest it can (`chip_semantics`);
   adaptation then closes the gap.
2. **Calibration.** The reference's spike counts on calibration inputs (the user's, or spike
   trains at the stated rate), per target layer, in time bins of ``bin`` steps.
3. **Fitting.** Adam (`snnx.adaptation.adam`: the step size decaying along a cosine, gradients
   clipped) on the adapter's parameters (`snnx.adaptation.base.Adapter`) through the
   target's numerics (straight-through rounding, surrogate spikes), minimising, over a
   minibatch, ::

       L = sum_l  lambda_l |c_l - r_l|^2 / (|r_l|^2 + 1)   +   gamma CE(c_out / tau, argmax r_out)

   with ``c_l``/``r_l`` the target's and reference's binned counts of layer ``l``
   (``lambda = 1`` for the output, ``hidden`` for the others), the cross-entropy taken over the
   samples whose reference output has one most active neuron. Every ``check`` steps the written
   integers run through the target's exact numerics on the calibration set; the best by class
   agreement there (then by loss) is kept -- never judged on held-out inputs. An adapter may
   offer several starting programs (``starts(lowered)``: label and `Lowered`, the lowering
   first; Loihi's emulates subtractive reset); the loop fits from each in turn and keeps the
   best on the calibration inputs.
4. **Report.** `snnx.verification.verify` of the lowered and the adapted program on held-out
   inputs (another random stream, or the user's), and the seconds adaptation took.

Deterministic for a given seed: minibatches and inputs come from ``numpy.random.default_rng``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnx import dynamics
from snnx.adaptation import adam
from snnx.adaptation.base import Adapter, Params
from snnx.errors import LoweringError, SnnxError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.sim import Simulator, resolve_semantics
from snnx.targets.base import Lowered, Target
from snnx.verification import Verification, is_decided, verify


@dataclasses.dataclass(frozen=True)
class Settings:
    """How adaptation runs: ``iterations`` of Adam at ``learning_rate`` (``None``: the adapter's
    ``learning_rate``) on minibatches of
    ``batch`` calibration samples (``None``: the adapter's ``batch``); counts compared in bins of ``bin`` steps; ``hidden``: weight
    of hidden layers' counts, ``gamma``/``tau``: weight and temperature of the output
    cross-entropy; the exact numerics checked every ``check`` iterations on the first
    ``check_samples`` calibration samples; ``starts``: the labels of the adapter's starting
    programs to fit from (``None``: all it offers; by default the lowering alone: on the Braille
    network Loihi's emulated subtractive reset fits worse, see benchmarks/adapt.md)."""

    iterations: int = 400
    learning_rate: float | None = None
    batch: int | None = None
    bin: int = 16
    hidden: float = 1.0
    gamma: float = 0.5
    tau: float = 2.0
    check: int = 50
    check_samples: int = 512
    seed: int = 0
    starts: tuple[str, ...] | None = ("lowered",)


@dataclasses.dataclass
class Adapted:
    """The outcome: the adapted network (its ``semantics`` the reference's), the verification
    of the lowered and of the adapted program on the held-out inputs, the seconds taken, the
    semantics the chip was lowered under, and the best calibration agreement at each check."""

    lowered: Lowered
    before: Verification
    after: Verification
    seconds: float
    chip_semantics: Semantics
    history: list[tuple[int, float, float]]
    start: str = "lowered"

    def summary(self) -> dict[str, Any]:
        """Before/after figures for the report (`snnx.reports.verification.adaptation_section`).

        Keys: class agreement (all samples and decided ones), per layer exact agreement and
        count correlation, adaptation seconds."""

        def figures(v: Verification) -> dict[str, Any]:
            out: dict[str, Any] = {
                "class agreement": round(v.class_agreement, 4),
                "class agreement (decided samples)": round(v.decided_agreement, 4),
                "undecided reference samples": v.undecided,
            }
            for a in v.layers:
                out[f"layer {a.layer} ({a.node}) exact"] = round(a.exact, 4)
                out[f"layer {a.layer} ({a.node}) count correlation"] = round(a.count_correlation, 4)
                out[f"layer {a.layer} ({a.node}) spikes ref/target"] = (
                    f"{a.reference_spikes:g}/{a.target_spikes:g}"
                )
            return out

        notes = [f"adaptation took {self.seconds:.1f} s on the calibration inputs"]
        if self.start != "lowered":
            notes.append(f"fitted from: {self.start} (best on the calibration inputs)")
        if self.chip_semantics != self.lowered.semantics:
            notes.append(
                f"lowered under {self.chip_semantics.describe()} (what the chip expresses); "
                f"the reference is {self.lowered.semantics.describe()}"
            )
        return {"before": figures(self.before), "after": figures(self.after), "notes": notes}


#: For a knob the chip cannot express, the values to try instead, nearest first.
NEAREST: dict[str, tuple[str, ...]] = {
    "integrator": ("exp-decay", "euler", "exact"),
    "reset": ("zero", "subtract", "none"),
}


def chip_semantics(graph: Graph, target: Target, semantics: Semantics) -> tuple[Lowered, Semantics]:
    """``graph`` lowered under ``semantics``, or, if the target cannot express a knob (the
    lowering's error names it as its field), under the nearest value of that knob it can
    (`NEAREST`), knob after knob; the `Lowered` carries ``semantics`` as its reference.

    >>> import snnx
    >>> from snnx.targets import get_target
    >>> graph = snnx.read(snnx.example_path("braille"))
    >>> nir = snnx.Semantics.profile("nir-reference", reset="subtract")
    >>> lowered, chip = chip_semantics(graph, get_target("loihi"), nir)
    >>> chip.reset, chip.integrator, lowered.semantics == nir
    ('zero', 'exp-decay', True)
    """
    candidate, tried = semantics, {knob: {getattr(semantics, knob)} for knob in NEAREST}
    first: LoweringError | None = None
    while True:
        try:
            lowered = target.lower(graph, candidate)
        except LoweringError as err:
            first = first or err
            knob = err.field
            options = [v for v in NEAREST.get(knob or "", ()) if v not in tried.get(knob or "", ())]
            if knob not in NEAREST or not options:
                raise LoweringError(
                    f"{target.name} cannot express the graph's semantics: {first.args[0]}",
                    node=first.node,
                    field=first.field,
                ) from None
            tried[knob].add(options[0])
            candidate = _changed(candidate, knob, options[0])
            continue
        return dataclasses.replace(lowered, semantics=semantics), candidate


def _changed(semantics: Semantics, knob: str, value: str) -> Semantics:
    """``semantics`` with ``knob`` set to ``value`` everywhere (per-type overrides of it
    dropped)."""
    overrides = {
        scope: {k: v for k, v in knobs.items() if k != knob}
        for scope, knobs in semantics.overrides.items()
    }
    return semantics.replace(overrides=overrides, profile_name=None, **{knob: value})


def reference_counts(lowered: Lowered, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Target layer name -> the reference's spikes ``(T, B, size)`` as counts (amplitude
    divided out), on ``inputs`` ``(T, B, *shape)``."""
    nodes = list(dict.fromkeys(layer.node for layer in lowered.layers))
    sim = Simulator(lowered.graph, lowered.semantics, record=nodes)
    _, records = sim.forward(np.asarray(inputs, np.float32))
    steps, batch = inputs.shape[:2]
    out = {}
    for layer in lowered.layers:
        node = lowered.graph[layer.node]
        amplitude = dynamics.amplitude(lowered.semantics.for_type(node.type))
        values = np.asarray(records[f"{layer.node}.out"], np.float32).reshape(steps, batch, -1)
        out[layer.name] = np.round(values / amplitude).astype(np.float32)
    return out


def binned(counts: jax.Array, size: int) -> jax.Array:
    """``(T, B, N)`` counts summed over bins of ``size`` steps: ``(ceil(T / size), B, N)``.

    >>> binned(jnp.ones((5, 1, 1)), 2)[:, 0, 0].tolist()
    [2.0, 2.0, 1.0]
    """
    steps = counts.shape[0]
    bins = -(-steps // size)
    padded = jnp.concatenate([counts, jnp.zeros((bins * size - steps, *counts.shape[1:]))])
    return padded.reshape(bins, size, *counts.shape[1:]).sum(1)


@dataclasses.dataclass(frozen=True)
class Goal:
    """What adaptation matches on calibration inputs: the reference's counts per target layer
    (``counts``, and summed in bins of ``bin`` steps), the output layer's class per sample
    (``labels``) and which samples decide one (``decided``, 1.0 or 0.0)."""

    counts: dict[str, np.ndarray]
    binned: dict[str, jax.Array]
    output: str
    labels: jax.Array
    decided: jax.Array

    @classmethod
    def of(cls, lowered: Lowered, calibration: np.ndarray, bin: int) -> Goal:
        """The goal of ``lowered``'s reference on ``calibration`` ``(T, B, *shape)``."""
        counts = reference_counts(lowered, calibration)
        output = lowered.output.name
        totals = counts[output].sum(0)
        return cls(
            counts,
            {k: binned(jnp.asarray(v), bin) for k, v in counts.items()},
            output,
            jnp.asarray(totals.argmax(-1)),
            jnp.asarray(is_decided(totals), jnp.float32),
        )

    def loss(self, spikes: dict[str, jax.Array], idx: jax.Array, settings: Settings) -> jax.Array:
        """The loss of the module docstring for the target's ``spikes`` ``(T, b, N)`` per layer,
        aligned with the reference's steps, on calibration samples ``idx``."""
        total = jnp.float32(0.0)
        for name, r in self.binned.items():
            c = binned(spikes[name], settings.bin)
            rb = r[:, idx]
            err = jnp.sum((c - rb) ** 2) / (jnp.sum(rb**2) + 1.0)
            total = total + (1.0 if name == self.output else settings.hidden) * err
        logits = jax.nn.log_softmax(spikes[self.output].sum(0) / settings.tau, axis=-1)
        ce = -jnp.take_along_axis(logits, self.labels[idx][:, None], axis=-1)[:, 0]
        m = self.decided[idx]
        return total + settings.gamma * jnp.sum(ce * m) / jnp.maximum(jnp.sum(m), 1.0)


def run_adaptation(
    graph: Graph,
    target: Target,
    adapter: Adapter,
    semantics: Semantics | str | None,
    calibration: np.ndarray,
    held_out: np.ndarray,
    settings: Settings,
) -> Adapted:
    """Adapt ``graph`` lowered for ``target`` on ``calibration`` (``(T, B, *shape)``), report
    on ``held_out`` (the module docstring)."""
    started = time.perf_counter()
    reference = resolve_semantics(graph, semantics)
    lowered, chip = chip_semantics(graph, target, reference)
    steps, samples = calibration.shape[:2]
    if samples < 1 or steps < 1:
        raise SnnxError(f"calibration inputs hold no samples (shape {calibration.shape})")
    horizon = steps + max(layer.latency for layer in lowered.layers)
    padded = np.concatenate(
        [calibration, np.zeros((horizon - steps, *calibration.shape[1:]), calibration.dtype)]
    )
    fed = jnp.asarray(adapter.feed(lowered, padded))
    goal = Goal.of(lowered, calibration, settings.bin)
    ref = goal.counts
    latency = {layer.name: layer.latency for layer in lowered.layers}

    rng = np.random.default_rng(settings.seed)
    batch = min(settings.batch or adapter.batch, samples)
    checked = calibration[:, : settings.check_samples]
    ref_checked = {k: v[:, : settings.check_samples] for k, v in ref.items()}
    starts = adapter.starts(lowered) if hasattr(adapter, "starts") else [("lowered", lowered)]
    starts = [s for s in starts if settings.starts is None or s[0] in settings.starts]
    if not starts:
        raise SnnxError(f"no starting program among {settings.starts} for {target.name}")
    best: tuple[float, int, Lowered, str] | None = None
    history: list[tuple[int, float, float]] = []
    for label, start in starts:

        def loss_fn(params: Params, idx: jax.Array, start: Lowered = start) -> jax.Array:
            spikes = adapter.forward(start, params, fed[:, idx])
            aligned = {n: spikes[n][latency[n] : latency[n] + steps] for n in goal.binned}
            return goal.loss(aligned, idx, settings)

        found = _fit(
            adapter, start, loss_fn, samples, batch, settings, rng, target, checked, ref_checked
        )
        history += found[3]
        if best is None or found[0] > best[0]:
            best = (found[0], found[1], found[2], label)
    assert best is not None  # every adapter has at least one start
    adapted = best[2]
    seconds = time.perf_counter() - started
    before = verify(graph, target, held_out, reference, lowered=lowered)
    after = verify(graph, target, held_out, reference, lowered=adapted)
    return Adapted(adapted, before, after, seconds, chip, history, best[3])


def _fit(
    adapter: Adapter,
    start: Lowered,
    loss_fn: Any,
    samples: int,
    batch: int,
    settings: Settings,
    rng: np.random.Generator,
    target: Target,
    checked: np.ndarray,
    ref_checked: dict[str, np.ndarray],
) -> tuple[float, int, Lowered, list[tuple[int, float, float]]]:
    """Adam from ``start``'s parameters; the best program by calibration agreement: ``(score,
    iteration, program, history)``."""
    rate = settings.learning_rate or adapter.learning_rate
    params = adapter.init(start)
    state = adam.init(params)

    @jax.jit
    def update(params: Params, state: Any, idx: jax.Array) -> tuple[Params, Any, jax.Array]:
        value, grads = jax.value_and_grad(loss_fn)(params, idx)
        params, state = adam.update(params, grads, state, rate, settings.iterations)
        return params, state, value

    best = (_agreement(target, adapter.apply(start, params), checked, ref_checked), 0, params)
    history = [(0, best[0], float("nan"))]
    for i in range(1, settings.iterations + 1):
        idx = jnp.asarray(rng.choice(samples, size=batch, replace=False))
        params, state, value = update(params, state, idx)
        if i % settings.check == 0 or i == settings.iterations:
            score = _agreement(target, adapter.apply(start, params), checked, ref_checked)
            history.append((i, score, float(value)))
            if score > best[0]:
                best = (score, i, jax.tree_util.tree_map(jnp.copy, params))
    return best[0], best[1], adapter.apply(start, best[2]), history


def _agreement(
    target: Target, lowered: Lowered, inputs: np.ndarray, ref: dict[str, np.ndarray]
) -> float:
    """Class agreement of the exact numerics with the reference counts ``ref`` on ``inputs``,
    over the samples whose reference output is decided; then the share of equal output counts
    breaks ties between candidates (added as a fraction below one sample)."""
    steps = inputs.shape[0]
    lat = lowered.output.latency
    horizon = steps + max(layer.latency for layer in lowered.layers)
    padded = np.concatenate([inputs, np.zeros((horizon - steps, *inputs.shape[1:]), inputs.dtype)])
    out = np.asarray(target.run(lowered, padded)[lowered.output.name])[lat : lat + steps]
    node = lowered.graph[lowered.output.node]
    got = np.round(out / dynamics.amplitude(lowered.semantics.for_type(node.type))).sum(0)
    want = ref[lowered.output.name].sum(0)
    keep = is_decided(want)
    agree = got.argmax(-1) == want.argmax(-1)
    score = float(agree[keep].mean()) if keep.any() else float(agree.mean())
    close = float(np.mean(np.abs(got - want) <= 1))
    return score + close / (10 * max(len(agree), 1))
