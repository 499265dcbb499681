"""Fixed-pattern mismatch: every BrainScaleS-2 chip (and every calibration) leaves each neuron and
synapse slightly off its target; `robustness` asks how much a model's behaviour depends on that.

One *instance* draws, once, per neuron and per synapse (``e`` standard normal, independent):

    tau_mem, tau_syn   ->  tau e^{sigma e}                      (relative, log-normal)
    weight (k, j)      ->  w (1 + sigma_w e_kj) (1 + sigma_g e_k,sign(w))
                           (per synapse, and per neuron and row sign: the synaptic input gain)
    drive              ->  drive (1 + sigma_g e_k)
    v_threshold, v_leak, v_reset  ->  v + sigma_lsb e volts_per_cadc     (CADC LSB)

(a reset that ends up at or above the threshold is put 1 LSB below it). `Spread` holds the
sigmas. The defaults are assumptions for a calibrated chip, not measurements: no hardware is
reachable from here; pass the spreads your calibration reports. ``Spread.uniform(s)`` sets every
relative sigma to ``s`` and the potentials' to ``s`` of the 80-LSB leak-threshold span.

`robustness` runs the nominal chip and ``n`` instances on the same inputs and reports, per
instance, output-class agreement with the nominal chip (and the reference simulator), spike
coincidence within ``dt`` and spike-count changes.

>>> import numpy as np
>>> net = Network.single(tau_mem=1e-3, tau_syn=5e-4, weight=5.0)
>>> p = sample(net, Spread.uniform(0.0), np.random.default_rng(0))
>>> bool(np.all(p.tau_mem == net.tau_mem) and np.all(p.w_input == net.w_input))
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from snnx.targets.base import Lowered
from snnx.targets.bss2.agreement import event_trains, spike_agreement
from snnx.targets.bss2.network import Network
from snnx.targets.bss2.numerics import Params, params_of, run_grid
from snnx.targets.bss2.spec import CADC_HIGH, CADC_LOW


@dataclasses.dataclass(frozen=True)
class Spread:
    """Standard deviations of the fixed-pattern variation (relative, or CADC LSB)."""

    tau_mem: float = 0.05
    tau_syn: float = 0.05
    weight: float = 0.05
    gain: float = 0.03
    threshold_lsb: float = 2.0
    leak_lsb: float = 2.0
    reset_lsb: float = 2.0

    @classmethod
    def uniform(cls, sigma: float) -> Spread:
        """Every relative sigma ``sigma``; potentials ``sigma`` of the leak-threshold span."""
        lsb = sigma * (CADC_HIGH - CADC_LOW)
        return cls(sigma, sigma, sigma, sigma, lsb, lsb, lsb)


def _volts_per_lsb(net: Network, lowered: Lowered | None) -> np.ndarray:
    if lowered is not None:
        return np.concatenate([p.hardware["volts_per_cadc"] for p in lowered.program.populations])
    low = np.minimum(net.v_leak, net.v_reset)
    high = np.maximum(net.v_threshold, net.v_leak)
    return (high - low) / (CADC_HIGH - CADC_LOW)


def sample(
    net: Network,
    spread: Spread,
    rng: np.random.Generator,
    volts_per_lsb: np.ndarray | None = None,
) -> Params:
    """One chip instance: the network's parameters with fixed-pattern variation drawn."""
    n = net.size
    vpl = _volts_per_lsb(net, None) if volts_per_lsb is None else volts_per_lsb

    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    tau_mem = net.tau_mem * np.exp(spread.tau_mem * normal(n))
    tau_syn = net.tau_syn * np.exp(spread.tau_syn * normal(n))
    gain_exc = 1.0 + spread.gain * normal(n)
    gain_inh = 1.0 + spread.gain * normal(n)

    def weights(w: np.ndarray) -> np.ndarray:
        per_synapse = 1.0 + spread.weight * normal(*w.shape)
        gain = np.where(w >= 0, gain_exc[:, None], gain_inh[:, None])
        return w * per_synapse * gain

    threshold = net.v_threshold + spread.threshold_lsb * vpl * normal(n)
    leak = net.v_leak + spread.leak_lsb * vpl * normal(n)
    reset = net.v_reset + spread.reset_lsb * vpl * normal(n)
    reset = np.minimum(reset, threshold - vpl)
    start = np.where(
        net.v_start == net.v_reset, reset, np.where(net.v_start == net.v_leak, leak, net.v_start)
    )
    drive = net.drive * (1.0 + spread.gain * normal(n))
    return params_of(net)._replace(
        tau_mem=tau_mem,
        tau_syn=tau_syn,
        v_leak=leak,
        v_threshold=threshold,
        v_reset=reset,
        drive=drive,
        v_start=start,
        w_input=weights(net.w_input),
        w_internal=weights(net.w_internal),
    )


@dataclasses.dataclass
class Robustness:
    """Per-instance results of `robustness` (arrays of length ``instances``)."""

    instances: int
    spread: Spread
    tolerance: float
    class_vs_nominal: np.ndarray
    class_vs_reference: np.ndarray | None
    nominal_class_vs_reference: float | None
    coincidence: np.ndarray
    rates_within: np.ndarray
    output_spikes: np.ndarray
    nominal_output_spikes: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""

        def stats(a: ArrayLike) -> dict[str, float]:
            a = np.asarray(a, dtype=np.float64)
            return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min())}

        out = {
            "instances": self.instances,
            "spread": dataclasses.asdict(self.spread),
            "tolerance_s": self.tolerance,
            "class_agreement_vs_nominal": stats(self.class_vs_nominal),
            "coincidence_vs_nominal": stats(self.coincidence),
            "rates_within_margin": stats(self.rates_within),
            "output_spikes": stats(self.output_spikes),
            "nominal_output_spikes": self.nominal_output_spikes,
        }
        if self.class_vs_reference is not None:
            out["class_agreement_vs_reference"] = stats(self.class_vs_reference)
            out["nominal_class_agreement_vs_reference"] = self.nominal_class_vs_reference
        return out

    def summary(self) -> str:
        """A few lines for the terminal."""
        d = self.to_dict()

        def line(label: str, key: str, pct: bool = True) -> str:
            s = d[key]
            f = (lambda x: f"{x:.1%}") if pct else (lambda x: f"{x:.3g}")
            return f"  {label:<34} {f(s['mean'])} +- {f(s['std'])} (worst {f(s['min'])})"

        lines = [
            f"mismatch: {self.instances} chip instances, spread {dataclasses.asdict(self.spread)}",
            line("output class = nominal chip", "class_agreement_vs_nominal"),
            line(f"spike coincidence (+-{self.tolerance:g} s)", "coincidence_vs_nominal"),
            line("spike counts within margin", "rates_within_margin"),
        ]
        if self.class_vs_reference is not None:
            lines.append(line("output class = reference", "class_agreement_vs_reference"))
            lines.append(
                f"  {'nominal chip class = reference':<34} {self.nominal_class_vs_reference:.1%}"
            )
        lines.append(
            f"  {'output spikes':<34} {d['output_spikes']['mean']:.0f} +- "
            f"{d['output_spikes']['std']:.0f} (nominal {self.nominal_output_spikes})"
        )
        return "\n".join(lines)


def robustness(
    lowered: Lowered,
    inputs: np.ndarray,
    n: int = 20,
    spread: Spread | float | None = None,
    *,
    seed: int = 0,
    tolerance: float | None = None,
    margin: float = 0.2,
    reference: np.ndarray | None = None,
) -> Robustness:
    """Monte-Carlo over ``n`` chip instances on grid ``inputs`` ``(T, B, *shape)``.

    ``spread``: a `Spread`, a number (`Spread.uniform`) or ``None`` (the default `Spread`);
    ``tolerance``: spike-time window (default one step ``dt``); ``reference``: the reference
    simulator's output-layer spikes ``(T, B, size)``, to also report class agreement with it.
    """
    if n < 1:
        raise ValueError(f"need at least one instance, got {n}")
    spread = (
        Spread()
        if spread is None
        else Spread.uniform(spread)
        if isinstance(spread, (int, float))
        else spread
    )
    program = lowered.program
    net: Network = program.network
    x = np.asarray(inputs, dtype=np.float64)
    x = x.reshape(x.shape[0], x.shape[1], -1)
    out = program.population(lowered.output.name)
    start, size = out.start, out.size
    tolerance = net.dt if tolerance is None else tolerance

    def simulate(params: Any = None) -> Any:
        result = run_grid(net, x, params=params, capacity=None)
        counts = result["counts"][:, :, start : start + size].sum(axis=0)
        return counts, event_trains(result["times"], result["neurons"], 0, net.size)

    def classes(counts: np.ndarray) -> np.ndarray:
        return np.asarray(counts).argmax(axis=-1)

    nominal_counts, nominal_trains = simulate()
    ref_class = None if reference is None else classes(np.asarray(reference).sum(axis=0))
    rng = np.random.default_rng(seed)
    vpl = _volts_per_lsb(net, lowered)
    cls_nom, cls_ref, coinc, rates, spikes = [], [], [], [], []
    for _ in range(n):
        counts, trains = simulate(sample(net, spread, rng, vpl))
        cls_nom.append(np.mean(classes(counts) == classes(nominal_counts)))
        if ref_class is not None:
            cls_ref.append(np.mean(classes(counts) == ref_class))
        agreement = spike_agreement(nominal_trains, trains, tolerance, margin)
        coinc.append(agreement.coincidence)
        rates.append(agreement.rates_within)
        spikes.append(int(counts.sum()))
    return Robustness(
        instances=n,
        spread=spread,
        tolerance=float(tolerance),
        class_vs_nominal=np.asarray(cls_nom),
        class_vs_reference=None if ref_class is None else np.asarray(cls_ref),
        nominal_class_vs_reference=None
        if ref_class is None
        else float(np.mean(classes(nominal_counts) == ref_class)),
        coincidence=np.asarray(coinc),
        rates_within=np.asarray(rates),
        output_spikes=np.asarray(spikes),
        nominal_output_spikes=int(nominal_counts.sum()),
    )
