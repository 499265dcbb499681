#!/usr/bin/env bash
# install.sh VENV_DIR -- the fuzz tier: the main environment's releases (constraints.txt, torch
# 2.13.0 CPU first), in a venv of its own, since its runs fork and limit their memory.
#
#   bash ci/tiers/fuzz/install.sh .venvs/fuzz
#   SNNX_TIER=fuzz .venvs/fuzz/bin/python -m pytest -q -p no:cacheprovider tests/crosscheck/fuzz
#
# The tier generates mutated .nir files (tests/crosscheck/fuzz/fuzzing.py) and runs each through
# `snnx inspect`, `simulate` and `compile` for every target, each in its own process with a
# deadline and a memory limit (about two minutes); benchmarks/fuzz.py is its 10,000-file version.
# Idempotent. Installer: uv, or SNNX_INSTALLER=pip; see ../common.sh.
set -euo pipefail

VENV="${1:?usage: install.sh VENV_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

make_venv
pip_install -c "$ROOT/constraints.txt" "torch==2.13.0"
pip_install -c "$ROOT/constraints.txt" -e "$ROOT[dev]"

"$PY" - <<'PYEOF'
import resource

import h5py, jax, nir, torch  # noqa: E401,F401

import snnx.cli  # noqa: F401

assert jax.default_backend() == "cpu" and not torch.cuda.is_available()
resource.getrlimit(resource.RLIMIT_AS)
print("fuzz env OK: h5py", h5py.__version__, "libhdf5", h5py.version.hdf5_version, "nir", nir.__version__)
PYEOF
