"""The Lynxi KA200's limits, and which of them are documented facts and which are snnx's choices.

Documented (the chip and its compiler, ``lyngor``):

- float16 arithmetic: the KA200 computes in FP16 (24 TFLOPS) or INT8 (48 TOPS); Lynxi boards run
  float16 models fully, float32 only with accumulating error (SpikingJelly's Lynxi tutorial);
- a static graph: the number of time steps ``T`` is fixed when the model is compiled, and so is
  the input shape (batch included);
- no in-place operations, and no tensor of more than 4 dimensions anywhere in the model (the
  batch is folded into time: ``(T * B, C, H, W)``);
- one chip holds 250,000 neurons and 25 million synapses in dense mode, up to 2 million neurons
  and 2 billion synapses in sparse mode (Lynxi's KA200 description on the Nanhu Brain community
  documentation).

snnx's own choices (so that every network it lowers has one plain-PyTorch form whose float16
arithmetic it can reproduce bit for bit; see FORMAT.md):

- the node types in `NODE_TYPES` (each has a plain torch equivalent); ``Delay`` is refused;
- one Input, one Output fed by one node;
- at most `MAX_STEPS` time steps, because the TorchScript module is unrolled over time;
- every weight and neuron coefficient must be finite in float16 (``|x| <= 65504``).

>>> SPEC.facts["tensor_rank"]
'<= 4, batch folded into time: (T*B, C, H, W) [documented]'
>>> "Delay" in NODE_TYPES
False
"""

from __future__ import annotations

from snnx.targets.base import Spec

#: Largest finite float16 (IEEE 754 binary16).
FLOAT16_MAX = 65504.0
#: Dimensions any tensor may have, batch folded into time (documented).
MAX_RANK = 4
#: Time steps a compiled model may have (snnx: the TorchScript module is unrolled over time).
MAX_STEPS = 1024
#: Default time steps and batch of the compiled model when `lower` is not given them.
DEFAULT_STEPS = 100
DEFAULT_BATCH = 1
#: One KA200 (documented): neurons and synapses, sparse mode (dense mode in brackets).
MAX_NEURONS = 2_000_000
DENSE_NEURONS = 250_000
MAX_SYNAPSES = 2_000_000_000
DENSE_SYNAPSES = 25_000_000

#: NIR node types snnx lowers for the KA200, and the torch operation each becomes.
NODE_TYPES = {
    "Input": "the folded input (T*B, *shape), float16",
    "Output": "the folded output (T*B, *shape), float16",
    "Affine": "torch.nn.functional.linear with bias",
    "Linear": "torch.nn.functional.linear",
    "Conv1d": "torch.nn.functional.conv1d",
    "Conv2d": "torch.nn.functional.conv2d",
    "SumPool2d": "torch.nn.functional.avg_pool2d with divisor_override=1",
    "AvgPool2d": "torch.nn.functional.avg_pool2d",
    "Flatten": "reshape",
    "Scale": "multiply",
    "Threshold": "compare, cast to float16",
    "I": "neuron: v' = v + B x",
    "IF": "neuron: v' = v + B x, fire, reset",
    "LI": "neuron: v' = A v + B x + C",
    "LIF": "neuron: v' = A v + B x + C, fire, reset",
    "CubaLI": "neuron: i' = As i + Bs x, v' = A v + ... + C",
    "CubaLIF": "neuron: i' = As i + Bs x, v' = A v + ... + C, fire, reset",
}

SPEC = Spec(
    description=(
        "Lynxi KA200 (via lyngor): float16, fixed time steps, batch folded into time, "
        "TorchScript + JSON + float16 BIN"
    ),
    supported=tuple(NODE_TYPES),
    limits={"neurons": MAX_NEURONS, "synapses": MAX_SYNAPSES, "steps": MAX_STEPS},
    facts={
        "precision": "float16 values [documented]; float32 sums inside products [snnx]",
        "tensor_rank": f"<= {MAX_RANK}, batch folded into time: (T*B, C, H, W) [documented]",
        "in_place_ops": "none [documented]",
        "steps": f"fixed at compile time [documented]; 1..{MAX_STEPS} [snnx: unrolled module]",
        "batch": "fixed at compile time, folded into time [documented]",
        "neurons": f"<= {MAX_NEURONS:,} ({DENSE_NEURONS:,} in dense mode) [documented]",
        "synapses": f"<= {MAX_SYNAPSES:,} ({DENSE_SYNAPSES:,} in dense mode) [documented]",
        "value_range": f"|weight|, |coefficient| <= {FLOAT16_MAX:g} [float16]",
        "inputs_outputs": "one Input, one Output fed by one node [snnx]",
    },
)
