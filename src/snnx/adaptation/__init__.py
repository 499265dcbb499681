"""Target-aware adaptation: re-fit a lowered network's parameters under the target's own exact
numerics so that it reproduces the reference network (`snnx.adaptation.loop`), one adapter per
target (`ADAPTERS`).

``adapt(graph, "loihi", calibration=X)`` returns an `Adapted`: the adapted `Lowered` (write it
with the target's ``write``), the verification before and after on held-out inputs, and the
seconds it took.
"""

from __future__ import annotations

import numpy as np

from snnx.adaptation.base import Adapter
from snnx.adaptation.bss2 import Bss2Adapter
from snnx.adaptation.loihi import LoihiAdapter
from snnx.adaptation.loop import Adapted, Settings, run_adaptation
from snnx.adaptation.lynxi import LynxiAdapter
from snnx.adaptation.xylo import XyloAdapter
from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.targets import Target, get_target

#: Target name -> its adapter.
ADAPTERS: dict[str, type] = {
    "loihi": LoihiAdapter,
    "xylo": XyloAdapter,
    "xylo-audio2": XyloAdapter,
    "xylo-imu": XyloAdapter,
    "lynxi": LynxiAdapter,
    "bss2": Bss2Adapter,
}


def adapter_for(target: str) -> Adapter:
    """The adapter of ``target``, or an `SnnxError` listing those there are.

    >>> type(adapter_for("loihi")).__name__
    'LoihiAdapter'
    """
    if target not in ADAPTERS:
        raise SnnxError(f"no adapter for target {target!r}; adapters: {', '.join(ADAPTERS)}")
    return ADAPTERS[target]()


def random_spikes(
    shape: tuple[int, ...], steps: int, samples: int, rate: float, seed: int
) -> np.ndarray:
    """``(steps, samples, *shape)`` Bernoulli spike trains of probability ``rate`` per step.

    >>> random_spikes((3,), 4, 2, 0.5, 0).shape
    (4, 2, 3)
    """
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=(steps, samples, *shape)) < rate).astype(np.float32)


def adapt(
    graph: Graph,
    target: Target | str,
    semantics: Semantics | str | None = None,
    *,
    calibration: np.ndarray,
    held_out: np.ndarray,
    settings: Settings | None = None,
) -> Adapted:
    """Adapt ``graph`` for ``target`` on ``calibration`` inputs ``(T, B, *shape)``; verify
    before and after on ``held_out`` (`snnx.adaptation.loop.run_adaptation`)."""
    target = get_target(target) if isinstance(target, str) else target
    adapter = adapter_for(target.name)
    own_loop = getattr(adapter, "run_adaptation", None)  # an adapter with a loop of its own
    if own_loop is not None:
        return own_loop(
            graph,
            target,
            semantics,
            np.asarray(calibration, np.float32),
            np.asarray(held_out, np.float32),
            settings or Settings(),
        )
    return run_adaptation(
        graph,
        target,
        adapter,
        semantics,
        np.asarray(calibration, np.float32),
        np.asarray(held_out, np.float32),
        settings or Settings(),
    )


__all__ = ["ADAPTERS", "Adapted", "Settings", "adapt", "adapter_for", "random_spikes"]
