"""BrainScaleS-2: the chip's limits, as lowering enforces them and ``snnx targets`` lists them.

BrainScaleS-2 (Electronic Vision(s), Heidelberg) emulates neurons with analog circuits in
continuous time, about 1000 times faster than biology. Facts used here, with where they come from:

- 512 neuron circuits (2 rows of 256), each an AdEx circuit run as a current-based LIF with
  exponential synaptic kernels (brainscales2-demos ``fp_brainscales.rst``, "Neurons").
- 256 synapse rows per neuron column; each synapse stores a 6-bit weight (0..63, a current DAC);
  the sign is a property of the whole row, set by its synapse driver, so a signed projection takes
  an excitatory and an inhibitory row per source: ``clamp(scale * w, -63, 63)`` split by sign
  (same file, "Synapses"; hxtorch's ``linear_saturating`` weight transform does the same).
- Time: "multiple milliseconds are rendered at the scale of microseconds": hardware time =
  model time / 1000 (same file, introduction; hxtorch's and jaxsnn's NIR import scale tau by 1e-3).
- Time constants in hardware microseconds: calix's calibration targets are *feasible* for tau_mem
  0.5-60 us and tau_syn 0.3-30 us (outside, calix only logs a warning: ``NeuronCalibTarget``); it
  *refuses* outside ``constants.tau_mem_range`` 0.1-1000 us and ``tau_syn_range`` 0.1-100 us
  (``check_values``). snnx's design notes said 2000 us for tau_mem; the calix versions checked
  raise above 1000 us, so 1000 us is the hard limit here (older calix refused above 200 / 50 us).
- Potentials are calibrated in CADC units (LSB): leak and reset 50-160, threshold 50-220;
  refractory time 40 ns - 32 us (calix ``NeuronCalibTarget``).
- A synapse driver accepts one event every 8 ns (125 MEvent/s).

>>> SPEC.limits["neurons"], LIMITS.weight_max, LIMITS.tau_mem_hard_us
(512, 63, (0.1, 1000.0))
"""

from __future__ import annotations

import dataclasses

from snnx.targets.base import Spec


@dataclasses.dataclass(frozen=True)
class Limits:
    """The numbers lowering checks against (time constants in hardware microseconds)."""

    neurons: int = 512
    neurons_per_hemisphere: int = 256
    rows_per_neuron: int = 256
    weight_bits: int = 6
    speedup: float = 1000.0
    tau_mem_calibrated_us: tuple[float, float] = (0.5, 60.0)
    tau_syn_calibrated_us: tuple[float, float] = (0.3, 30.0)
    tau_mem_hard_us: tuple[float, float] = (0.1, 1000.0)
    tau_syn_hard_us: tuple[float, float] = (0.1, 100.0)
    leak_cadc: tuple[int, int] = (50, 160)
    reset_cadc: tuple[int, int] = (50, 160)
    threshold_cadc: tuple[int, int] = (50, 220)
    refractory_us: tuple[float, float] = (0.04, 32.0)
    driver_event_rate: float = 125e6

    @property
    def weight_max(self) -> int:
        """The largest weight magnitude a synapse stores: ``2**bits - 1``."""
        return 2**self.weight_bits - 1


LIMITS = Limits()

#: Where lowering puts potentials on the CADC scale: the lower of leak and reset at ``CADC_LOW``,
#: the threshold at ``CADC_HIGH`` (inside every calibrated range above).
CADC_LOW, CADC_HIGH = 70, 150

#: The node types lowering takes: spikes in, dense projections, current-based LIF populations.
SUPPORTED = ("Input", "Output", "Linear", "Affine", "CubaLIF")

SPEC = Spec(
    "BrainScaleS-2: 512 analog current-based LIF neurons in continuous time, 1000x accelerated; "
    "6-bit weights with sign per synapse row",
    supported=SUPPORTED,
    limits={"neurons": LIMITS.neurons, "rows_per_neuron": LIMITS.rows_per_neuron},
    facts={
        "weight_bits": LIMITS.weight_bits,
        "weights": f"integers in [-{LIMITS.weight_max}, {LIMITS.weight_max}], split into "
        "excitatory and inhibitory rows",
        "speedup": LIMITS.speedup,
        "tau_mem_us": f"calibrated {LIMITS.tau_mem_calibrated_us}, hard {LIMITS.tau_mem_hard_us}",
        "tau_syn_us": f"calibrated {LIMITS.tau_syn_calibrated_us}, hard {LIMITS.tau_syn_hard_us}",
    },
    capabilities=frozenset({"robustness"}),
)
