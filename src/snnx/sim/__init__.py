"""The reference simulator: any NIR graph, any framework's semantics, jit-compiled, batched,
differentiable. See `Simulator` and `simulate`."""

from snnx.sim.simulator import Result, Simulator, resolve_semantics, simulate

__all__ = ["Result", "Simulator", "resolve_semantics", "simulate"]
