"""The Randman task (`snnx.datasets.randman`): deterministic, one spike per channel, and its
classes are told apart by the timing of the spikes alone: a nearest-centroid classifier on spike
times beats chance by far, while spike counts carry no information at all."""

from __future__ import annotations

import numpy as np
import pytest

from snnx.datasets import randman
from snnx.errors import SnnxError


def test_same_seed_same_data_other_seed_other_data():
    x, y = randman(4, 10, 50, 32, seed=3)
    again, labels = randman(4, 10, 50, 32, seed=3)
    other, _ = randman(4, 10, 50, 32, seed=4)
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, labels)
    assert not np.array_equal(x, other)


@pytest.mark.parametrize("dim", [1, 2])
def test_shapes_one_spike_per_channel_and_balanced_classes(dim):
    x, y = randman(3, 7, 31, 20, seed=0, dim=dim)
    assert x.shape == (20, 31, 7) and x.dtype == np.float32
    assert y.shape == (31,) and set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(x.sum(0), np.ones((31, 7)))
    assert sorted(np.bincount(y, minlength=3).tolist()) == [10, 10, 11]


def test_spike_times_use_the_whole_window():
    x, _ = randman(5, 20, 2000, 64, seed=0)
    times = x.argmax(0)
    assert times.min() == 0 and times.max() == 63


def test_classes_differ_in_timing_only():
    classes = 5
    x, y = randman(classes, 20, 2000, 64, seed=0)
    times = x.argmax(0).astype(float)
    train, test = slice(0, 1000), slice(1000, None)
    centroids = np.stack([times[train][y[train] == c].mean(0) for c in range(classes)])
    guess = ((times[test][:, None] - centroids) ** 2).sum(-1).argmin(-1)
    assert (guess == y[test]).mean() > 2.5 / classes
    counts = x.sum(0)
    assert np.all(counts == counts[0])  # the count of spikes says nothing


def test_bad_sizes_are_refused():
    with pytest.raises(SnnxError, match="must be >= 1"):
        randman(0, 5, 5, 5)
