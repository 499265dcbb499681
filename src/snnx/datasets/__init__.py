"""Data sets generated on the fly, for tests, benchmarks and examples (numpy only).

>>> from snnx.datasets import randman
>>> x, y = randman(classes=3, channels=4, samples=6, steps=10, seed=0)
>>> x.shape, y.shape
((10, 6, 4), (6,))
"""

from snnx.datasets.randman import randman

__all__ = ["randman"]
