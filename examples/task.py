"""The generated task and the small recurrent snnTorch network the tutorials share.

*Task*: 12 input channels, 40 steps, three classes told apart by the order of two bursts: group
A (channels 0-5) then group B (6-11), B then A, or both at once; plus background noise. The
classes have the same number of input spikes on average, so the network must remember what it
saw a few steps earlier: its hidden layer is recurrent.

*Network* (snnTorch 1.0): ``Linear(12, 24) -> RLeaky(24) -> Linear(24, 3) -> Leaky(3)``,
reset to zero in the same step (``reset_delay=False``: Loihi 2 resets so too), trained by
backpropagation through time on the output spike counts.
"""

from __future__ import annotations

import numpy as np

STEPS, INPUTS, HIDDEN, CLASSES = 40, 12, 24, 3


def make_task(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spike trains ``(STEPS, samples, INPUTS)`` (float32, 0/1) and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, samples)
    x = (rng.random((STEPS, samples, INPUTS)) < 0.02).astype(np.float32)
    for i, label in enumerate(labels):
        start = rng.integers(4, 12)
        a, b = slice(0, 6), slice(6, 12)
        windows = {0: [(a, start), (b, start + 8)], 1: [(b, start), (a, start + 8)]}
        for group, t in windows.get(int(label), [(a, start + 4), (b, start + 4)]):
            burst = rng.random((8, 6)) < 0.5
            x[t : t + 8, i, group] = np.maximum(x[t : t + 8, i, group], burst)
    return x, labels


def build():
    """The untrained network (the factory `snnx convert --torch task:build` calls)."""
    import snntorch as snn
    import torch

    torch.manual_seed(0)
    zero = dict(init_hidden=True, reset_mechanism="zero", reset_delay=False)
    return torch.nn.Sequential(
        torch.nn.Linear(INPUTS, HIDDEN),
        snn.RLeaky(beta=0.85, linear_features=HIDDEN, **zero),
        torch.nn.Linear(HIDDEN, CLASSES),
        snn.Leaky(beta=0.9, **zero),
    )


def run(net, x: np.ndarray):
    """The network stepped over ``x`` ``(T, B, INPUTS)``: output spikes ``(T, B, CLASSES)``."""
    import snntorch.utils
    import torch

    snntorch.utils.reset(net)
    xs = torch.as_tensor(x)
    return torch.stack([net(xs[t]) for t in range(len(xs))])


def train(net, iterations: int = 60, seed: int = 1) -> list[float]:
    """Adam on the cross-entropy of the output spike counts; the loss of each iteration."""
    import torch

    optimiser = torch.optim.Adam(net.parameters(), lr=2e-2)
    losses = []
    for step in range(iterations):
        x, y = make_task(64, seed * 100_000 + step)
        counts = run(net, x).sum(0)
        loss = torch.nn.functional.cross_entropy(counts, torch.as_tensor(y))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return losses


def accuracy(spikes: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of samples whose most active output is their class (ties: the first)."""
    return float(np.mean(np.asarray(spikes).sum(0).argmax(-1) == labels))
