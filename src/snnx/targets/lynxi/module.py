"""The TorchScript module handed to Lynxi's compiler: the `Program` in plain PyTorch.

The form ``lyngor`` takes: torch operations only, float16 tensors and parameters, no in-place
operation, no tensor of more than 4 dimensions (the batch is folded into time: the module takes
``x`` of shape ``(T * B, *input shape)``, rows ``t*B .. t*B+B-1`` being step ``t``), and a fixed
number of steps ``T`` (the time loop is unrolled when the module is traced). Stateless layers run
on the whole folded sequence at once; neurons and recurrent groups slice it one step at a time
(``(B, *shape)``) and concatenate their outputs back. Neurons are plain tensor arithmetic, the
equations of `numerics` in the same order (so the two agree bit for bit):
``F.linear``/``F.conv1d``/``F.conv2d``/``F.avg_pool2d`` for the synapses and pooling, on float16
values cast up to float32 and rounded back once (the accumulation is float32 on every CPU, not
whatever torch's float16 kernels do there), ``*``, ``+``, ``-``, comparisons cast to float16,
``floor``, ``clamp`` and ``maximum`` for the neurons.

`build` makes the ``torch.nn.Module``; `trace` turns it into a ``torch.jit.ScriptModule`` ready
for ``torch.jit.save``. With ``probe=True`` the module returns every reported layer's folded
output (the program's ``layers``, the network output last) instead of the output alone.

>>> import snnx, torch
>>> from snnx.targets.lynxi.lower import lower_program
>>> program, _ = lower_program(snnx.read(snnx.example_path("braille")), "snntorch-nir", steps=4, batch=2)
>>> trace(program)(torch.zeros(8, 12, dtype=torch.float16)).shape
torch.Size([8, 7])
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from snnx.targets.lynxi.program import Program, Segment, Step

HALF = torch.float16


class LynxiNetwork(torch.nn.Module):
    """``forward(x)``: ``x`` ``(T * B, *input shape)`` float16 -> the output ``(T * B, *output
    shape)`` (or every layer's, with ``probe``). Tensors are float16 buffers named
    ``n<index>_<tensor>`` after the program's node order."""

    def __init__(self, program: Program, probe: bool = False) -> None:
        super().__init__()
        self.program = program
        self.probe = probe
        self.names: dict[str, dict[str, str]] = {}
        for index, (name, step) in enumerate(program.nodes.items()):
            self.names[name] = {}
            for key, value in step.tensors.items():
                buffer = f"n{index}_{re.sub(r'[^0-9A-Za-z_]', '_', key)}"
                self.register_buffer(buffer, torch.from_numpy(value.copy()).to(HALF))
                self.names[name][key] = buffer

    def tensors(self, name: str) -> dict[str, torch.Tensor]:
        """The float16 tensors of step ``name``."""
        return {k: getattr(self, b) for k, b in self.names[name].items()}

    def forward(self, x: torch.Tensor) -> Any:
        program = self.program
        steps, batch = program.steps, program.batch
        if program.input_amplitude is not None:
            x = x * program.input_amplitude
        seqs = {program.input: x}
        for segment in program.schedule:
            if segment.kind == "sequence":
                step = program.nodes[segment.steps[0]]
                y = _gather(step, seqs, steps * batch)
                seqs[step.name] = _apply(step, self.tensors(step.name), y)
            else:
                seqs.update(self._scan(segment, seqs, steps, batch))
        if self.probe:
            return tuple(seqs[name] for name in program.layers)
        out = seqs[program.output_source]
        return out.reshape(steps * batch, *program.output_shape)

    def _scan(
        self, segment: Segment, seqs: dict[str, torch.Tensor], steps: int, batch: int
    ) -> dict[str, torch.Tensor]:
        nodes = self.program.nodes
        inside = set(segment.steps)
        external = list(
            dict.fromkeys(p for n in segment.steps for p in nodes[n].inputs if p not in inside)
        )
        carried = sorted({src for src, _ in segment.back_edges})
        tensors = {n: self.tensors(n) for n in segment.steps}
        states = {n: _init(nodes[n], tensors[n], batch) for n in segment.steps if nodes[n].stateful}
        prev = {s: torch.zeros((batch, *nodes[s].output_shape), dtype=HALF) for s in carried}
        outputs: dict[str, list[torch.Tensor]] = {n: [] for n in segment.steps}
        for t in range(steps):
            now = {p: seqs[p][t * batch : (t + 1) * batch] for p in external}
            for name in segment.steps:
                step = nodes[name]
                x = _gather(step, now, batch, segment.back_edges, prev)
                if step.stateful:
                    states[name], now[name] = _neuron(step, tensors[name], states[name], x)
                else:
                    now[name] = _apply(step, tensors[name], x)
                outputs[name].append(now[name])
            prev = {s: now[s] for s in carried}
        return {n: torch.cat(outputs[n], dim=0) for n in segment.steps}


def build(program: Program, *, probe: bool = False) -> LynxiNetwork:
    """The program as an eager ``torch.nn.Module`` (float16 buffers)."""
    return LynxiNetwork(program, probe=probe).eval()


def trace(program: Program, *, probe: bool = False) -> torch.jit.ScriptModule:
    """The program traced into TorchScript for its fixed ``steps`` and ``batch``."""
    module = build(program, probe=probe)
    example = torch.zeros((program.steps * program.batch, *program.input_shape), dtype=HALF)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tracing runs thousands of tiny ops: threads only wait on each other
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # lyngor takes TorchScript
            return torch.jit.trace(module, (example,), check_trace=False)
    finally:
        torch.set_num_threads(threads)


def _gather(
    step: Step,
    values: dict,
    lead: int,
    back: Collection[tuple[str, str]] = (),
    prev: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    total = None
    for pred in step.inputs:
        value = prev[pred] if prev is not None and (pred, step.name) in back else values[pred]
        value = value.reshape(lead, *step.input_shape)
        total = value if total is None else total + value
    assert total is not None  # `Graph.check`: every node but an Input has an edge in
    return total


def _apply(step: Step, t: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    a = step.attributes
    if step.op == "dense":
        bias = t.get("bias")
        y = F.linear(x.float(), t["weight"].float(), None if bias is None else bias.float())
        return y.to(HALF)
    if step.op == "conv":
        pads = a["padding"]
        if any(lo != hi for lo, hi in pads):
            x = F.pad(x, [p for lo, hi in reversed(pads) for p in (lo, hi)])
            padding = [0] * len(pads)
        else:
            padding = [lo for lo, _ in pads]
        conv = F.conv2d if len(pads) == 2 else F.conv1d
        y = conv(
            x.float(),
            t["weight"].float(),
            t["bias"].float(),
            a["stride"],
            padding,
            a["dilation"],
            a["groups"],
        )
        return y.to(HALF)
    if step.op == "pool":
        y = F.avg_pool2d(
            x.float(),
            a["kernel"],
            a["stride"],
            a["padding"],
            ceil_mode=False,
            count_include_pad=True,
            divisor_override=1 if a["divisor"] == 1 else None,
        )
        return y.to(HALF)
    if step.op == "flatten":
        return x.reshape(-1, *step.output_shape)
    if step.op == "scale":
        return x * t["scale"]
    if step.op == "threshold":
        return _emit(_fire(x, t["threshold"], a["compare"]), a["amplitude"])
    raise ValueError(f"unknown lynxi step op {step.op!r} at node {step.name!r}")


def _init(step: Step, t: dict[str, torch.Tensor], batch: int) -> dict[str, torch.Tensor]:
    shape = (batch, *step.output_shape)
    state = {"v": t["v0"].expand(shape)}
    if step.attributes["kind"] == "cuba":
        state["i"] = torch.zeros(shape, dtype=HALF)
    if step.attributes.get("carries_last"):
        state["last"] = torch.zeros(shape, dtype=HALF)
    return state


def _neuron(step: Step, t: dict, state: dict, x: torch.Tensor) -> tuple[dict, torch.Tensor]:
    """`snnx.targets.lynxi.numerics.neuron`, operation for operation."""
    a = step.attributes
    spiking = a["spiking"]
    v = state["v"]
    last: Any = state.get("last")  # None where the semantics carries no last output
    if spiking and a["reset_timing"] == "next-step" and a["reset"] == "zero":
        f = (last > 0).to(HALF)
        v = (1 - f) * v + f * t["v_reset"]
    values: dict[str, Any] = {"v": v, "x": x}
    new: dict[str, torch.Tensor] = {}
    if a["kind"] == "cuba":
        i_new = t["As"] * state["i"] + t["Bs"] * x
        values.update(i=state["i"], i_new=i_new)
        new["i"] = i_new
    w: Any = None  # the sum of at least one voltage term (`lower`)
    for coefficient, variable in a["voltage_terms"]:
        term = t[coefficient] if variable is None else t[coefficient] * values[variable]
        w = term if w is None else w + term
    if all(variable is None for _, variable in a["voltage_terms"]):
        w = w.expand(x.shape)
    if not spiking:
        new["v"] = w
        return new, w
    threshold = t["v_threshold"]
    if a["reset_timing"] == "next-step" and a["reset"] == "subtract":
        w = w - last * threshold
    s = _fire(w, threshold, a["compare"])
    count = s
    if a["max_spikes"] != 1:
        extra = torch.floor(w / threshold) - 1
        extra = (
            torch.clamp(extra, min=0)
            if a["max_spikes"] == 0
            else torch.clamp(extra, 0, a["max_spikes"] - 1)
        )
        count = s * (1 + extra)
    v = w
    if a["reset_timing"] == "same-step" and a["reset"] == "subtract":
        v = w - count * threshold
    elif a["reset_timing"] == "same-step":
        v = (1 - s) * w + s * t["v_reset"]
    if a["v_min"] == "-threshold":
        v = torch.maximum(v, -threshold)
    new["v"] = v
    if a["carries_last"]:
        new["last"] = count
    sent = last if a["spike_output"] == "next-step" else count
    return new, _emit(sent, a["amplitude"])


def _fire(w: torch.Tensor, threshold: torch.Tensor, compare: str) -> torch.Tensor:
    return (w >= threshold if compare == ">=" else w > threshold).to(HALF)


def _emit(spikes: torch.Tensor, amplitude: float | None) -> torch.Tensor:
    return spikes if amplitude is None else spikes * amplitude
