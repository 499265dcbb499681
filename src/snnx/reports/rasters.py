"""Raster plots: what went in and what came out of a simulation, for one sample of the batch.

Spike trains (non-negative whole numbers) are drawn as dots (neuron against time step, bigger dots
for several spikes in a step); other signals (voltages of LI readouts, say) as a heat map.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "r.png")
>>> plot_rasters({"in": np.eye(5)[:, None, :], "out": np.ones((5, 1, 2)) * 0.3}, path)
>>> os.path.getsize(path) > 0
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from snnx.atomic import atomic_path


def is_spike_train(values: np.ndarray) -> bool:
    """Non-negative whole numbers only."""
    return bool(np.all(values >= 0) and np.all(values == np.round(values)))


def plot_rasters(
    signals: Mapping[str, np.ndarray], path: str | os.PathLike, sample: int = 0
) -> None:
    """One panel per signal ``(T, B, *shape)``, sample ``sample`` of the batch, time on x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(signals), 1, figsize=(9, 2.2 * len(signals)), squeeze=False, sharex=True
    )
    for ax, (name, values) in zip(axes[:, 0], signals.items(), strict=True):
        trace = np.asarray(values)[:, sample].reshape(values.shape[0], -1)
        if is_spike_train(trace):
            steps, neurons = np.nonzero(trace)
            ax.scatter(steps, neurons, s=4 * trace[steps, neurons], marker="|", color="black")
            ax.set_ylim(-0.5, trace.shape[1] - 0.5)
        else:
            image = ax.imshow(
                trace.T, aspect="auto", origin="lower", interpolation="nearest", cmap="viridis"
            )
            fig.colorbar(image, ax=ax, pad=0.01)
        ax.set_ylabel(f"{name}\nneuron")
    axes[-1, 0].set_xlabel("time step")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=os.path.splitext(os.fspath(path))[1][1:] or "png")
    plt.close(fig)
