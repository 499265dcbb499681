"""The registry of ops: how each NIR primitive runs in the simulator.

An `Op` is either stateless, ``apply(p, x, ctx) -> y`` with ``x`` of shape ``(N, *in_shape)`` for
any number ``N`` of samples (the executor folds time into it when the node is hoisted), or
stateful: ``prepare(p, ctx) -> q`` once per run (constants such as decay factors, outside the time
loop), ``init(q, batch, ctx) -> state`` and ``step(q, state, x, ctx) -> (state, y)`` for one time
step with ``x`` of shape ``(B, *in_shape)``; a state is a dict of arrays, and those named in
``states`` can be recorded. An op whose output at a step is known before that step's input
(``early(node, semantics)``: spikes that leave a step late, a delay) says what it is,
``emit(q, state, ctx)``, so loops through it need no back edge. ``p`` maps the op's trainable
``params`` (float fields of the node) to arrays; everything else (strides, delays in steps,
semantics) is static, in ``ctx``. ``layout`` says how the op takes 2-D feature maps, which the
executor holds channels-last (`snnx.sim.layout`): ``elementwise``, ``channels-last`` (it reads
``ctx.channels_last``) or ``canonical`` (NIR's layout, converted for it). A stateful op that
has ``prepare`` may also say ``prepare_many(p, ctxs)``: ``prepare`` of several nodes alike but for
their parameter values, stacked along a first axis (`snnx.sim.runs`).

>>> sorted(OPS)[:4]
['Affine', 'AvgPool2d', 'Conv1d', 'Conv2d']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from snnx.ir.node import Node
from snnx.semantics import Semantics

#: An op's trainable parameters (field -> array), and a stateful op's state (name -> array).
Params = Mapping[str, Any]
State = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Context:
    """What an op knows statically: its node, shapes, the semantics, the spike function
    (``spike(x)`` is ``x > 0`` (or ``>=``) with the chosen surrogate gradient) and the dtype.
    With ``channels_last``, the shapes are the executor's: feature maps ``(H, W, C)``."""

    name: str
    node: Node
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    semantics: Semantics
    spike: Callable[[Any], Any]
    dtype: Any
    channels_last: bool = False


@dataclasses.dataclass(frozen=True)
class Op:
    """How one primitive runs (see the module docstring)."""

    params: tuple[str, ...]
    apply: Callable | None = None
    prepare: Callable | None = None
    init: Callable | None = None
    step: Callable | None = None
    states: tuple[str, ...] = ()
    early: Callable[[Node, Semantics], bool] | None = None
    emit: Callable | None = None
    layout: str = "canonical"
    prepare_many: Callable | None = None

    @property
    def stateful(self) -> bool:
        return self.step is not None


OPS: dict[str, Op] = {}


def register(*types: str) -> Callable[[Op], Op]:
    """Register an op under one or more NIR type names."""

    def add(op: Op) -> Op:
        for type_name in types:
            OPS[type_name] = op
        return op

    return add
