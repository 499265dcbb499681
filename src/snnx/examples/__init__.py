"""Example models bundled with snnx.

``braille.nir`` is the NIR paper's Braille reading network (12 inputs -> recurrent CubaLIF layer of
38 -> CubaLIF layer of 7), trained in snnTorch with dt = 1e-4: the file
``paper/braille_noDelay_bias_zero.nir`` of github.com/neuromorphs/NIR, BSD-3-Clause
(Copyright (c) 2023, the NIR authors), unchanged.

>>> example_path("braille").name
'braille.nir'
"""

from __future__ import annotations

from pathlib import Path

EXAMPLES = {"braille": "braille.nir"}


def example_path(name: str) -> Path:
    """The path of a bundled example model by name (see `EXAMPLES`)."""
    if name not in EXAMPLES:
        raise KeyError(f"unknown example {name!r}; examples: {', '.join(EXAMPLES)}")
    return Path(__file__).with_name(EXAMPLES[name])
