"""BrainScaleS-2 hardware units: potentials in CADC LSB, time constants in chip microseconds, the
refractory time, and the `Network` the simulation runs (rounded potentials, model time).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from snnx.errors import LoweringError
from snnx.targets.bss2.network import Network
from snnx.targets.bss2.program import Population, Projection
from snnx.targets.bss2.spec import CADC_HIGH, CADC_LOW, LIMITS


def refractory_time(value: float | None, speedup: float) -> float:
    """The refractory time in model seconds: the chip's minimum unless given; 0 is the ideal
    NIR neuron (allowed, for comparisons); otherwise within the chip's range."""
    lo, hi = (x * speedup / 1e6 for x in LIMITS.refractory_us)
    if value is None:
        return lo
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise LoweringError(f"refractory must be a time in seconds, got {value!r}")
    if value and not lo <= value <= hi:
        raise LoweringError(
            f"refractory {value:g} s is {value * 1e6 / speedup:g} us on the chip (speedup "
            f"{speedup:g}); BrainScaleS-2 sets {LIMITS.refractory_us[0]:g}-"
            f"{LIMITS.refractory_us[1]:g} us",
            field="refractory",
        )
    return float(value)


def hardware_units(
    p: dict, speedup: float, quantize: bool, refractory: float
) -> dict[str, np.ndarray]:
    """A population's parameters in hardware units: time constants in chip us, potentials in CADC
    LSB (the lower of leak and reset at 70, the higher of threshold and leak at 150)."""
    low = np.minimum(p["v_leak"], p["v_reset"])
    high = np.maximum(p["v_threshold"], p["v_leak"])
    volts = (high - low) / (CADC_HIGH - CADC_LOW)

    def cadc(v: ArrayLike) -> np.ndarray:
        exact = CADC_LOW + (v - low) / volts
        return np.rint(exact) if quantize else exact

    return {
        "tau_mem_us": p["tau_mem"] * 1e6 / speedup,
        "tau_syn_us": p["tau_syn"] * 1e6 / speedup,
        "leak_cadc": cadc(p["v_leak"]),
        "reset_cadc": cadc(p["v_reset"]),
        "threshold_cadc": cadc(p["v_threshold"]),
        "v_low": low,
        "volts_per_cadc": volts,
        "drive": p["drive"],
        "v_start": p["v_start"],
        "refractory_us": np.full(p["v_leak"].shape, refractory * 1e6 / speedup),
    }


def volts(hardware: dict[str, np.ndarray], key: str) -> np.ndarray:
    """A potential of a population back in model volts, from its CADC value."""
    return hardware["v_low"] + (hardware[key] - CADC_LOW) * hardware["volts_per_cadc"]


def chip_network(
    populations: list[Population],
    projections: list[Projection],
    params: dict[str, dict],
    n_in: int,
    dt: float,
    quantize: bool,
    hold: float,
) -> Network:
    """The `Network` the simulation runs: all populations side by side, the rounded potentials
    (when ``quantize``), model time."""
    n = sum(p.size for p in populations)
    per = {
        k: np.zeros(n)
        for k in ("tau_mem", "tau_syn", "v_leak", "v_threshold", "v_reset", "drive", "v_start")
    }
    offset, refractory = np.zeros(n), np.zeros(n)
    for pop in populations:
        sl = slice(pop.start, pop.start + pop.size)
        p, hw = params[pop.name], pop.hardware
        for key in ("tau_mem", "tau_syn", "drive"):
            per[key][sl] = p[key]
        refractory[sl] = hold
        for key, cadc in (
            ("v_leak", "leak_cadc"),
            ("v_threshold", "threshold_cadc"),
            ("v_reset", "reset_cadc"),
        ):
            per[key][sl] = volts(hw, cadc) if quantize else p[key]
        per["v_start"][sl] = np.where(
            p["v_start"] == p["v_reset"],
            per["v_reset"][sl],
            np.where(p["v_start"] == p["v_leak"], per["v_leak"][sl], p["v_start"]),
        )
    index = {pop.name: pop for pop in populations}
    w_input, w_internal = np.zeros((n, n_in)), np.zeros((n, n))
    for proj in projections:
        post = index[proj.target]
        rows = slice(post.start, post.start + post.size)
        if proj.source in index:
            pre = index[proj.source]
            w_internal[rows, pre.start : pre.start + pre.size] += proj.applied
        else:
            w_input[rows] += proj.applied
            offset[rows] = proj.input_offset
    return Network(
        **per,
        w_input=w_input,
        w_internal=w_internal,
        input_offset=offset,
        dt=dt,
        populations=tuple((p.name, p.start, p.size) for p in populations),
        refractory=refractory,
    )
