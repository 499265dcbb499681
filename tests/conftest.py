"""Shared fixtures: where the NIR paper's conformance material lives; torch on one thread."""

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


@pytest.fixture
def one_thread():
    """torch on one thread: thousands of tiny float16 operations, where on a shared machine
    threads only wait on each other (``pytest.mark.usefixtures("one_thread")``)."""
    import torch  # here: some tiers have no torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
