"""The Lava tier: Lava is imported before anything else can fix multiprocessing's start method
(Lava sets "fork" at import), and JAX's warning about forking is expected here."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from lavarun import import_lava

import_lava()
warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", r"ignore:os\.fork\(\) was called:RuntimeWarning")
