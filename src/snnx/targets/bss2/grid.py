"""From a discrete-time spike to a continuous-time event: when it arrives and how big a jump.

A discrete-time reference (``integrator="exact"``) holds each step's input ``x`` over the whole
step ``[n dt, (n+1) dt)``: a spike is a pulse of height 1 (or ``1/dt``) and length ``dt``. The chip
has events: a spike makes the synaptic current jump. One jump ``J`` at ``n dt + offset`` leaves
the pair ``(i, v)`` at the end of the step exactly where the pulse does, for any state, when

    J e^{-s/tau_syn} = w_in x (1 - a_s)                   (the current)
    r J K(s)         = r w_in x (1 - a_m - K(dt))          (the voltage)

with ``s = dt - offset``, ``a = e^{-dt/tau}`` and ``K(s) = tau_syn (e^{-s/tau_syn} -
e^{-s/tau_mem}) / (tau_syn - tau_mem)`` the voltage a unit current jump has caused ``s`` later.
Dividing, ``K(s) e^{s/tau_syn} = (s/tau_mem) phi(s delta)`` (``delta = 1/tau_syn - 1/tau_mem``,
``phi(x) = expm1(x)/x``) must equal ``T = (1 - a_m - K(dt)) / (1 - a_s)``, which solves in closed
form:

    s = T tau_mem psi(T delta tau_mem),  psi(x) = log1p(x)/x
    offset = dt - s,   gain = J / (w_in x) = (1 - a_s) e^{s/tau_syn}

Everything is linear, so below threshold the event-driven neuron then matches the reference at
every grid time (offset ~ dt/2 and gain ~ dt/tau_syn for dt << tau). Spikes of the network's own
neurons are events already; they take the same gain so a spike carries the same charge as in the
reference. Where the two still differ is the threshold: the chip fires at the crossing itself,
the reference only sees it at the end of the step (and resets there).

>>> offset, gain = step_event(np.array([1e-2]), np.array([5e-3]), 1e-4)
>>> round(float(offset[0] / 1e-4), 4), round(float(gain[0] / (1e-4 / 5e-3)), 4)
(0.5012, 1.0)
"""

from __future__ import annotations

import numpy as np


def _phi(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-9
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 + 0.5 * x, np.expm1(safe) / safe)


def _psi(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-9
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - 0.5 * x, np.log1p(safe) / safe)


def kernel(tau_mem: np.ndarray, tau_syn: np.ndarray, s: float | np.ndarray) -> np.ndarray:
    """``K(s)``: the voltage (per unit ``r``) a unit current jump has caused ``s`` later.

    >>> float(kernel(np.array(1.0), np.array(1.0), 1.0)) == float(np.exp(-1.0))
    True
    """
    slow = np.maximum(tau_mem, tau_syn)
    gap = np.abs(1.0 / tau_syn - 1.0 / tau_mem)
    return (s / tau_mem) * np.exp(-s / slow) * _phi(-s * gap)


def step_event(
    tau_mem: np.ndarray, tau_syn: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, gain)`` per neuron: a spike held over a step equals a jump of ``gain`` (per
    unit of ``w_in x``) at ``offset`` into the step (see the module docstring)."""
    tm = np.asarray(tau_mem, dtype=np.float64)
    ts = np.asarray(tau_syn, dtype=np.float64)
    rise_s = -np.expm1(-dt / ts)  # 1 - a_s
    rise_m = -np.expm1(-dt / tm)  # 1 - a_m
    target = (rise_m - kernel(tm, ts, dt)) / rise_s
    delta = 1.0 / ts - 1.0 / tm
    s = target * tm * _psi(target * delta * tm)
    s = np.clip(s, 0.0, dt)
    return dt - s, rise_s * np.exp(s / ts)


def gain_at(tau_syn: np.ndarray, dt: float, offset: float | np.ndarray) -> np.ndarray:
    """The gain that keeps the current exact for a jump at ``offset`` (for a population that
    shares one offset among neurons with different ``tau_syn``)."""
    ts = np.asarray(tau_syn, dtype=np.float64)
    return -np.expm1(-dt / ts) * np.exp((dt - offset) / ts)


def bin_times(times: np.ndarray, dt: float, steps: int) -> np.ndarray:
    """Spike counts per grid step ``floor(t / dt)`` of one train (times past the grid dropped).

    >>> bin_times(np.array([0.5e-4, 1.5e-4, 1.7e-4, 9e-4]), 1e-4, 3).tolist()
    [1, 2, 0]
    """
    index = np.floor(np.asarray(times, dtype=np.float64) / dt).astype(np.int64)
    index = index[(index >= 0) & (index < steps)]
    return np.bincount(index, minlength=steps)[:steps]
