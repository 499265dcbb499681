"""`Network`: the continuous-time current-based LIF network the chip emulates, in model units.

Every neuron ``k`` (all populations side by side, ``N`` in all) follows, between events,

    tau_syn dI/dt = -I + drive          tau_mem dv/dt = (v_leak - v) + I

(``I`` in volts: NIR's ``r`` is folded in; ``drive`` is the constant input of Affine biases,
``r w_in b``). A spike of presynaptic neuron ``j`` at time ``t`` makes ``I_k`` jump by
``w_internal[k, j]`` at ``t``; input channel ``j`` by ``w_input[k, j]``. When ``v`` reaches
``v_threshold`` it is set to ``v_reset`` and held there for ``refractory`` seconds (``I`` is kept
and keeps decaying; NIR has no refractory time, the chip at least 40 ns). Neurons start at
``v_start`` with ``I = 0``. Times are model (biological) seconds; the chip runs them
``speedup`` times faster.

For inputs on a time grid of step ``dt`` (what `snnx verify` feeds), a spike in step ``n``
reaches neuron ``k`` at ``n dt + input_offset[k]``.

>>> net = Network.single(tau_mem=1e-3, tau_syn=5e-4, weight=2.0)
>>> net.size, net.inputs, net.populations
(1, 1, (('neurons', 0, 1),))
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

_PER_NEURON = ("tau_mem", "tau_syn", "v_leak", "v_threshold", "v_reset", "drive", "v_start")


@dataclasses.dataclass(frozen=True)
class Network:
    """Per-neuron parameters ``(N,)``, jump matrices ``(N, inputs)`` and ``(N, N)`` (post, pre),
    grid input offsets ``(N,)``, the grid step ``dt``, ``populations``: ``(name, start, size)``
    slices of the neuron axis, and refractory times ``(N,)`` (zeros when not given)."""

    tau_mem: np.ndarray
    tau_syn: np.ndarray
    v_leak: np.ndarray
    v_threshold: np.ndarray
    v_reset: np.ndarray
    drive: np.ndarray
    v_start: np.ndarray
    w_input: np.ndarray
    w_internal: np.ndarray
    input_offset: np.ndarray
    dt: float
    populations: tuple[tuple[str, int, int], ...]
    refractory: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = int(np.size(self.tau_mem))
        if self.refractory is None:
            object.__setattr__(self, "refractory", np.zeros(n))
        for name in (*_PER_NEURON, "input_offset", "refractory"):
            value = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if value.size != n:
                raise ValueError(f"{name} has {value.size} values for {n} neurons")
            object.__setattr__(self, name, value)
        w_in = np.asarray(self.w_input, dtype=np.float64)
        w_int = np.asarray(self.w_internal, dtype=np.float64)
        if w_in.ndim != 2 or w_in.shape[0] != n:
            raise ValueError(f"w_input must be (neurons={n}, inputs), got {w_in.shape}")
        if w_int.shape != (n, n):
            raise ValueError(f"w_internal must be ({n}, {n}), got {w_int.shape}")
        object.__setattr__(self, "w_input", w_in)
        object.__setattr__(self, "w_internal", w_int)
        if not (np.all(self.tau_mem > 0) and np.all(self.tau_syn > 0)):
            raise ValueError("time constants must be positive")
        if np.any(self.v_reset >= self.v_threshold):
            raise ValueError("v_reset must lie below v_threshold")
        if np.any(np.asarray(self.refractory) < 0):
            raise ValueError("refractory times must not be negative")
        object.__setattr__(self, "dt", float(self.dt))
        object.__setattr__(
            self, "populations", tuple((str(a), int(b), int(c)) for a, b, c in self.populations)
        )

    @property
    def size(self) -> int:
        """Neurons in all populations."""
        return int(self.tau_mem.size)

    @property
    def inputs(self) -> int:
        """Input channels."""
        return int(self.w_input.shape[1])

    def replace(self, **changes: Any) -> Network:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def population(self, name: str) -> slice:
        """The neuron-axis slice of population ``name``."""
        for pop, start, size in self.populations:
            if pop == name:
                return slice(start, start + size)
        raise KeyError(name)

    @classmethod
    def single(
        cls,
        *,
        tau_mem: float,
        tau_syn: float,
        weight: float,
        v_threshold: float = 1.0,
        v_reset: float = 0.0,
        v_leak: float = 0.0,
        drive: float = 0.0,
        dt: float = 1e-4,
        refractory: float = 0.0,
    ) -> Network:
        """One neuron fed by one input channel through a jump of ``weight`` (for examples)."""

        def one(x: ArrayLike) -> np.ndarray:
            return np.array([x], dtype=np.float64)

        return cls(
            tau_mem=one(tau_mem),
            tau_syn=one(tau_syn),
            v_leak=one(v_leak),
            v_threshold=one(v_threshold),
            v_reset=one(v_reset),
            drive=one(drive),
            v_start=one(v_leak),
            w_input=np.array([[weight]], dtype=np.float64),
            w_internal=np.zeros((1, 1)),
            input_offset=one(0.0),
            dt=dt,
            populations=(("neurons", 0, 1),),
            refractory=one(refractory),
        )
