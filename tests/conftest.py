"""Shared fixtures: where the NIR paper's conformance material lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CONFORMANCE = Path(
    os.environ.get(
        "SNNX_CONFORMANCE", Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
    )
)
NIR_PAPER = CONFORMANCE / "nir-paper"

# Cross-check tiers run in their own environments (`make crosscheck`), one tier at a time, named
# by SNNX_TIER; the main run leaves them out.
TIER = os.environ.get("SNNX_TIER")
collect_ignore = [] if TIER else ["crosscheck"]


@pytest.fixture(scope="session")
def nir_paper() -> Path:
    """The folder of NIR paper graphs and traces; a clear failure when it is missing."""
    if not NIR_PAPER.is_dir():
        pytest.fail(f"conformance material not found at {NIR_PAPER}; set SNNX_CONFORMANCE")
    return NIR_PAPER


def paper_graphs() -> list[str]:
    """Names of the conformance .nir files (for parametrize; empty when the folder is missing)."""
    return sorted(p.name for p in NIR_PAPER.glob("*.nir"))
