"""Cross-check tiers: snnx against the real peers (frameworks, Lava, XyloSim, jaxsnn).

Each tier is a folder here whose tests run in that tier's own virtual environment, built by
``ci/tiers/<tier>/install.sh`` and run by ``make crosscheck``; only the tier named by SNNX_TIER
is collected.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TIER = os.environ.get("SNNX_TIER", "")
sys.path.insert(0, str(Path(__file__).parent))  # tutorials.py, for every tier
collect_ignore = [p.name for p in Path(__file__).parent.iterdir() if p.is_dir() and p.name != TIER]
