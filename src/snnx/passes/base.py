"""What a pass is: a function ``Graph -> Graph`` with its rewrite rule in its docstring.

A pass never changes the graph it is given: it returns a new one (or the same object when it has
nothing to do). It reports each change through ``ctx.note`` (and what it left alone, with the reason, through
``ctx.skip``), and may read ``ctx.semantics``: some
rewrites are exact only under some semantics (folding ``r`` into weights assumes the semantics reads
``r``; a relay chain delays only where every layer adds a step), and such passes refuse or skip
where they would change the meaning.

>>> from snnx.ir import Graph, Node
>>> ctx = PassContext()
>>> ctx.note("fused", "a", "b")
>>> ctx.log
['fused: a, b']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from snnx.semantics import Semantics


@dataclasses.dataclass
class PassContext:
    """What passes may read (the semantics the graph runs under, options) and write (the log of
    changes, and a structured ``report``: quantization errors, say)."""

    semantics: Semantics | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    log: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    report: dict[str, Any] = dataclasses.field(default_factory=dict)

    def note(self, what: str, *nodes: str) -> None:
        """Record one change."""
        self.log.append(f"{what}: {', '.join(nodes)}" if nodes else what)

    def skip(self, why: str, *nodes: str) -> None:
        """Record a spot the pass left alone, and why."""
        self.skipped.append(f"{why}: {', '.join(nodes)}" if nodes else why)


@dataclasses.dataclass(frozen=True)
class Pass:
    """A named rewrite. ``exact``: the reference simulation is unchanged (spike for spike);
    otherwise (quantization) the pass reports its own error bound."""

    name: str
    run: Callable[..., Any]
    exact: bool = True

    @property
    def rule(self) -> str:
        """The rewrite rule, from the pass function's docstring."""
        return (self.run.__doc__ or "").strip()


PASSES: dict[str, Pass] = {}


def register(name: str, *, exact: bool = True) -> Callable:
    """Register ``fn(graph, ctx) -> graph`` as a pass called ``name``."""

    def add(fn: Callable) -> Callable:
        PASSES[name] = Pass(name, fn, exact)
        return fn

    return add
