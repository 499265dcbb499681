#!/usr/bin/env bash
# install.sh VENV_DIR -- snnx with SynSense's Xylo simulator stack, for tests/crosscheck/xylo:
# Rockpool 3.1.0 (pure Python, AGPL: used, never copied) and xylosim 0.1.3 (the C++ simulator
# behind `XyloSim`; published as an sdist only, so it builds two pybind11 extensions here: needs
# g++ with C++17 and the Python headers).
#
#   bash ci/tiers/xylo/install.sh .venvs/xylo
#   SNNX_TIER=xylo .venvs/xylo/bin/python -m pytest -q tests/crosscheck/xylo
#
# Idempotent: a second run into a finished venv only re-checks the pins (seconds).
# No torch: Rockpool's Xylo simulator, its package imports and snnx's lowering, numerics and
# verification run without it (checked: the tier passes with torch imports blocked). nirtorch,
# which declares torch, goes in with --no-deps; torch stays pinned by a constraint in case any
# other requirement asked for it (a plain torch requirement pulls a multi-GB CUDA build).
# Installer: uv, or SNNX_INSTALLER=pip; see ../common.sh.
# samna (SynSense's hardware library) is not installable here and not needed: the tests import
# `rockpool.devices.xylo` through tests/crosscheck/xylo/rockpool_stub.py (two samna-only modules
# stood in by Rockpool's own "missing backend" shims).
#
# Pins: rockpool 3.1.0, xylosim 0.1.3, numpy 2.4.6, scipy 1.17.1,
# jax/jaxlib 0.10.2, equinox 0.13.8, nir 1.0.8, nirtorch 2.6, networkx 3.6.1, h5py 3.16.0,
# matplotlib 3.11.2, tqdm, pytest 9.2.0, hypothesis 6.170.15.
set -euo pipefail

VENV="${1:?usage: install.sh VENV_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

if ! command -v g++ >/dev/null 2>&1; then
  echo "error: xylosim 0.1.3 builds from source and needs g++ (C++17)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  echo "error: Python.h not found for $PYTHON (install the python3-dev package)" >&2
  exit 1
fi
make_venv
constrain "torch==2.13.0" "numpy==2.4.6" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8"
PACKAGES=(
  "xylosim==0.1.3" "rockpool==3.1.0" "numpy==2.4.6" "scipy==1.17.1"
  "jax==0.10.2" "jaxlib==0.10.2" "equinox==0.13.8" "nir==1.0.8"
  "networkx==3.6.1" "h5py==3.16.0" "matplotlib==3.11.2" "tqdm"
  "pytest==9.2.0" "hypothesis==6.170.15"
)

log "xylosim (built from source the first time, about 70 s), rockpool, snnx's dependencies"
pip_install -c "$CONSTRAINTS" "${PACKAGES[@]}"
log "nirtorch (no dependencies: it declares torch) and snnx (editable, no dependencies)"
pip_install --no-deps "nirtorch==2.6"
pip_install --no-deps -e "$ROOT"

log "smoke check"
PYTHONPATH="$ROOT/tests/crosscheck/xylo${PYTHONPATH:+:$PYTHONPATH}" "$PY" - <<'PYEOF'
import importlib.metadata as md
import importlib.util
import warnings

warnings.simplefilter("ignore")
import numpy as np
import rockpool_stub

assert importlib.util.find_spec("torch") is None, "torch crept in: the tier does not need it"

sims = rockpool_stub.xylo_sims()
import snnx  # noqa: F401

want = {"rockpool": "3.1.0", "xylosim": "0.1.3", "numpy": "2.4.6",
        "jax": "0.10.2", "nir": "1.0.8"}
got = {k: md.version(k) for k in want}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
assert not bad, f"version mismatch (got, want): {bad}"
sim = sims["syns61201"].from_specification(
    weights_in=np.full((1, 1, 1), 100, np.int8), weights_out=np.full((1, 1), 100, np.int8),
    threshold=np.array([50]), threshold_out=np.array([50]), dash_syn=np.array([15]),
    dash_mem=np.array([15]), dash_syn_out=np.array([15]), dash_mem_out=np.array([15]))
out, _, rec = sim(np.array([[1], [0], [0]]), record=True)
assert rec["Spikes"][:, 0].tolist() == [1, 2, 2] and out[:, 0].tolist() == [0, 1, 1]
print("xylo tier OK:", ", ".join(f"{k} {v}" for k, v in got.items()))
PYEOF
log "done"
