"""BrainScaleS-2 neurons: each CubaLIF's parameters per neuron (after the semantics' overrides), the
current jump one input spike causes under a spike convention, and the time constants checked
against the chip's calibration limits. See `snnx.targets.bss2.lower`.
"""

from __future__ import annotations

import warnings

import numpy as np

from snnx import dynamics
from snnx.errors import LoweringError, SnnxWarning
from snnx.ir.node import Node
from snnx.semantics import Semantics
from snnx.targets.bss2 import grid
from snnx.targets.bss2.spec import LIMITS


def neuron_params(node: Node, size: int, name: str, semantics: Semantics, notes: list[str]) -> dict:
    """A CubaLIF's fields per neuron (overrides applied, ``v_reset`` 0 under subtractive reset,
    ``v_start`` from the semantics' ``v_init``, ``drive`` 0); refuse what the chip cannot run."""
    knobs = semantics.for_type("CubaLIF")

    def field(key: str, default: float | None = None) -> np.ndarray:
        value = node.get(key)
        if value is None:
            if default is None:
                raise LoweringError("missing field", node=name, field=key)
            value = default
        try:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (size,)).copy()
        except ValueError:
            arr = np.asarray(value, dtype=np.float64).reshape(-1)
            if arr.size != size:
                raise LoweringError(
                    f"has {arr.size} values for {size} neurons", node=name, field=key
                ) from None
            return arr.copy()

    p = {
        "tau_mem": field("tau_mem"),
        "tau_syn": field("tau_syn"),
        "r": field("r", 1.0),
        "v_leak": field("v_leak", 0.0),
        "v_threshold": field("v_threshold"),
        "v_reset": field("v_reset", 0.0),
        "w_in": field("w_in", 1.0),
    }
    p = {
        k: np.broadcast_to(np.asarray(v, dtype=np.float64), (size,)).copy()
        for k, v in dynamics.effective_fields("CubaLIF", p, semantics).items()
    }
    if knobs.reset == "subtract":
        p["v_reset"] = np.zeros(size)
        notes.append(
            f"{name}: reset by subtraction; in continuous time the crossing is at the "
            "threshold, so the chip resets to 0"
        )
    for key in ("tau_mem", "tau_syn"):
        if not np.all(np.isfinite(p[key]) & (p[key] > 0)):
            raise LoweringError("time constants must be positive", node=name, field=key)
    bad = np.flatnonzero(p["v_reset"] >= p["v_threshold"])
    if bad.size:
        k = int(bad[0])
        raise LoweringError(
            f"neuron {k}: v_reset {p['v_reset'][k]:g} is not below v_threshold "
            f"{p['v_threshold'][k]:g}; the chip would fire without bound",
            node=name,
            field="v_reset",
        )
    p["v_start"] = np.broadcast_to(dynamics.start_voltage(p, knobs), (size,)).copy()
    if not np.all((p["v_start"] == p["v_leak"]) | (p["v_start"] == p["v_reset"])):
        notes.append(
            f"{name}: neurons start at {knobs.v_init} (the semantics' v_init), which is neither "
            "rest nor reset potential on the chip"
        )
    p["drive"] = np.zeros(size)
    return p


def spike_gain(
    p: dict, semantics: Semantics, convention: str, name: str, notes: list[str]
) -> tuple[np.ndarray, float]:
    """Per neuron: current jump per unit weight (``r w_in`` included) and the input offset."""
    if convention == "jump":
        return p["r"] * p["w_in"], 0.0
    if convention == "dirac":
        return p["r"] * p["w_in"] / p["tau_syn"], 0.0
    offsets, gains = grid.step_event(p["tau_mem"], p["tau_syn"], semantics.dt)
    offset = float(np.median(offsets))
    if not np.allclose(offsets, offset, rtol=0, atol=1e-12 * semantics.dt):
        gains = grid.gain_at(p["tau_syn"], semantics.dt, offset)
        notes.append(
            f"{name}: time constants differ between neurons; input spikes arrive at one offset "
            f"({offset / semantics.dt:.4f} dt), so grid-time voltages are exact in the current only"
        )
    return p["r"] * p["w_in"] * gains * dynamics.amplitude(semantics), offset


def check_time_constants(params: dict, speedup: float, notes: list[str]) -> None:
    """Refuse time constants outside the chip's hard limits; warn outside the calibrated ranges."""
    ranges = {
        "tau_mem": (LIMITS.tau_mem_hard_us, LIMITS.tau_mem_calibrated_us),
        "tau_syn": (LIMITS.tau_syn_hard_us, LIMITS.tau_syn_calibrated_us),
    }
    for name, p in params.items():
        for key, (hard, calibrated) in ranges.items():
            us = p[key] * 1e6 / speedup
            lo, hi = float(us.min()), float(us.max())
            if lo < hard[0] or hi > hard[1]:
                bad = lo if lo < hard[0] else hi
                raise LoweringError(
                    f"{bad / 1e6 * speedup:g} s is {bad:g} us on the chip (speedup {speedup:g}); "
                    f"BrainScaleS-2 cannot calibrate {key} outside {hard[0]:g}-{hard[1]:g} us",
                    node=name,
                    field=key,
                )
            if lo < calibrated[0] or hi > calibrated[1]:
                text = (
                    f"{name}: {key} {lo:g}-{hi:g} us on the chip lies outside the calibrated range "
                    f"{calibrated[0]:g}-{calibrated[1]:g} us (speedup {speedup:g}): expect larger "
                    "deviations"
                )
                warnings.warn(text, SnnxWarning, stacklevel=3)
                notes.append(text)
