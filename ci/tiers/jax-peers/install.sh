#!/usr/bin/env bash
# install.sh VENV_DIR -- snnx beside the two JAX SNN libraries it imports from and exports to:
# SNNAX 0.0.1 (Equinox; MIT) and Slax 0.0.1 (Flax linen; Apache-2.0); and Spyx 1.0.0 (flax.nnx;
# MIT), for its native conformance matrix.
#
#   bash ci/tiers/jax-peers/install.sh .venvs/jax-peers
#   SNNX_TIER=jax-peers .venvs/jax-peers/bin/python -m pytest -q tests/crosscheck/jax-peers
#
# Idempotent: a second run into a finished venv only re-checks the pins. Order matters: torch
# 2.13.0 first, from the CPU wheel on disk (snnx declares torch, and a plain torch requirement pulls
# a multi-GB CUDA build); then the pinned core and the two libraries' own needs; then the
# libraries; finally snnx itself, --no-deps.
#
# SNNAX 0.0.1's wheel declares no dependencies (it needs jax, equinox, chex, jaxtyping) and lacks
# two modules its package imports: `snnax/snn/init.py` and `snnax/functional/functional.py`
# (`import snnax` fails without them). Both are written here as empty modules; nothing in SNNAX
# uses a name from either. Slax 0.0.1 declares flax, optax, scikit-learn, matplotlib and jax.
#
# Installer: uv, or SNNX_INSTALLER=pip; see ../common.sh.
set -euo pipefail

VENV="${1:?usage: install.sh VENV_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

TORCH="torch==2.13.0"
CORE=(
  "numpy==2.3.5" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8" "equinox==0.13.8"
  "networkx==3.6.1" "h5py==3.16.0" "matplotlib==3.11.2" "tqdm" "pytest==9.2.0"
  "hypothesis==6.170.15"
  # SNNAX's undeclared needs, and Slax's declared ones
  "chex==0.1.92" "jaxtyping==0.3.11" "flax==0.12.8" "optax==0.2.8" "scikit-learn==1.9.1"
)
NO_DEPS=("nirtorch==2.6" "snnax==0.0.1")
# Spyx 1.0.0 (flax.nnx; MIT) and its declared needs beyond the core (grain, jax-tqdm)
SPYX=("spyx==1.0.0" "grain==0.2.18" "jax-tqdm==0.4.0")

make_venv
constrain "$TORCH" "numpy==2.3.5" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8" "flax==0.12.8"
pip_install "$TORCH"
pip_install -c "$CONSTRAINTS" "${CORE[@]}"
pip_install -c "$CONSTRAINTS" "slax==0.0.1" "${SPYX[@]}"
pip_install -c "$CONSTRAINTS" --no-deps "${NO_DEPS[@]}"
pip_install --no-deps -e "$ROOT"

# SNNAX's two missing modules, as empty stubs (see above).
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for stub in snnax/snn/init.py snnax/functional/functional.py; do
  if [ ! -f "$SITE/$stub" ]; then
    log "stubbing $stub (missing from the snnax 0.0.1 wheel)"
    printf '"""Stub: missing from the snnax 0.0.1 wheel (written by ci/tiers/jax-peers)."""\n' \
      >"$SITE/$stub"
  fi
done

# Smoke check: both libraries import, the pins hold.
"$PY" - <<'PYEOF'
import importlib.metadata as md

import jax, nir, torch  # noqa: E401,F401
import slax, snnax.snn, spyx.nir  # noqa: E401,F401

import snnx  # noqa: F401

want = {"snnax": "0.0.1", "slax": "0.0.1", "spyx": "1.0.0", "jax": "0.10.2", "equinox": "0.13.8",
        "flax": "0.12.8", "nir": "1.0.8", "numpy": "2.3.5", "torch": "2.13.0+cpu"}
got = {k: md.version(k) for k in want}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
assert not bad, f"version mismatch (got, want): {bad}"
assert jax.default_backend() == "cpu"
print("jax-peers env OK:", ", ".join(f"{k} {v}" for k, v in got.items()))
PYEOF
