#!/usr/bin/env bash
# install.sh VENV_DIR -- snnx beside jaxsnn 0.3.0 (Electronic Vision(s)' event-based
# BrainScaleS-2-style CUBA LIF simulator with a NIR import; LGPL, used only as a test oracle in its
# own environment, never copied).
#
#   bash ci/tiers/jaxsnn/install.sh .venvs/jaxsnn
#   SNNX_TIER=jaxsnn .venvs/jaxsnn/bin/python -m pytest -q tests/crosscheck/jaxsnn
#
# Idempotent: a second run into a finished venv only re-checks the pins. Order matters: torch
# 2.13.0 first, from the CPU wheel on disk (snnx declares torch, and a plain torch requirement pulls
# a multi-GB CUDA build); then the pinned core, jaxsnn and its own requirements (jax>=0.4.13,
# scipy, optax, tree-math, matplotlib, networkx: no upper pins, it runs on jax 0.10.2); nirtorch
# --no-deps (it lists torch, already here); finally snnx itself, --no-deps.
#
# Installer: uv, or SNNX_INSTALLER=pip (about 2.5 min fresh); see ../common.sh.
set -euo pipefail

VENV="${1:?usage: install.sh VENV_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

TORCH="torch==2.13.0"
CORE=(
  "numpy==2.4.6" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8" "equinox==0.13.8"
  "networkx" "h5py" "matplotlib" "tqdm" "pytest" "hypothesis" "mpmath" "scipy"
  "jaxsnn==0.3.0" "optax" "tree-math"
)
NO_DEPS=("nirtorch==2.6")

make_venv
constrain "$TORCH" "numpy==2.4.6" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8"
pip_install "$TORCH"
pip_install -c "$CONSTRAINTS" "${CORE[@]}"
pip_install -c "$CONSTRAINTS" --no-deps "${NO_DEPS[@]}"
pip_install --no-deps -e "$ROOT"

# Smoke check: jaxsnn's NIR import is there (it only exists when nir imports), the pins hold.
"$PY" - <<'EOF'
import importlib.metadata as md
import logging

logging.getLogger("jaxsnn").setLevel(logging.ERROR)  # "hxtorch is not installed": expected
import jax, jaxsnn, nir, torch  # noqa: E401,F401
from jaxsnn.event import ConversionConfig, from_nir  # noqa: F401

import snnx.targets.bss2  # noqa: F401

want = {"jaxsnn": "0.3.0", "jax": "0.10.2", "nir": "1.0.8", "numpy": "2.4.6",
        "torch": "2.13.0+cpu"}
got = {k: md.version(k) for k in want}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
assert not bad, f"version mismatch (got, want): {bad}"
assert jax.default_backend() == "cpu"
print("jaxsnn env OK:", ", ".join(f"{k} {v}" for k, v in got.items()))
EOF
