#!/usr/bin/env bash
# install.sh VENV_DIR -- one virtual environment with snnx and all five NIR peers side by side:
# snnTorch 1.0.0, Norse 1.1.0, SpikingJelly 2.0.0, Sinabs 3.1.3 and Spyx 1.0.0 (flax.nnx stack).
#
#   bash ci/tiers/peers/install.sh .venvs/peers
#   SNNX_TIER=peers .venvs/peers/bin/python -m pytest -q tests/crosscheck/peers
#
# Idempotent: a second run into a finished venv only re-checks the pins. Order matters: torch
# 2.13.0 goes in first from the CPU wheel on disk (/opt/wheels), since a plain torch requirement
# pulls a multi-GB CUDA build; every later step is constrained to it.
#
# Installer: uv, or SNNX_INSTALLER=pip; see ../common.sh.
#
# Pins (exact; the releases verified together on Python 3.11, see the tier's tests):
#   torch 2.13.0+cpu, numpy 2.3.5 (2.4 breaks parts of the peers), jax/jaxlib 0.10.2, nir 1.0.8,
#   nirtorch 2.6 (SpikingJelly wants < 2.7), equinox 0.13.8, h5py 3.16.0, networkx 3.6.1,
#   matplotlib 3.11.2, pytest 9.2.0, hypothesis 6.170.15;
#   Spyx 1.0.0 with flax 0.12.8, optax 0.2.8, grain 0.2.18, jax-tqdm 0.4.0, chex 0.1.92;
#   snnTorch 1.0.0 (its wheel declares no dependencies);
#   --no-deps: Norse 1.1.0 (declares torchvision, unneeded by norse.torch / from_nir),
#   SpikingJelly 2.0.0 (declares torchvision, torchaudio, tensorboard, ... unneeded by
#   activation_based.{neuron,layer,functional,nir_exchange}; needs loguru), Sinabs 3.1.3
#   (declares nir<=1.0.4, wrongly, and samna, hardware only; needs pbr), NeuroBench 2.3.0 (its
#   metrics and snnTorch model wrapper need torch and snnTorch only; it declares torchaudio,
#   tonic, numba and llvmlite for its data sets and preprocessors, which would replace the CPU
#   torch; tests/crosscheck/peers/test_neurobench.py checks snnx.metrics against it).
# `pip check` then reports only those declared-but-unneeded requirements of the three --no-deps
# peers (listed in KNOWN_UNMET below); any other complaint fails the install.
#
# Measured on this machine (2 shared cores), fresh venv and an empty uv cache (UV_CACHE_DIR):
#   uv:  35 s wall (22 s CPU) at load average ~3; 1m58s wall (32 s CPU) at load average ~10.
#   pip (SNNX_INSTALLER=pip): 6m10s wall (84 s CPU) at load average ~10.
#   Re-run on the finished venv (pins re-checked, pip check, smoke test): 20 s wall.
set -euo pipefail

VENV="${1:?usage: install.sh VENV_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

TORCH="torch==2.13.0"
CORE=(
  "numpy==2.3.5" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8" "nirtorch==2.6"
  "equinox==0.13.8" "h5py==3.16.0" "networkx==3.6.1" "matplotlib==3.11.2"
  "pytest==9.2.0" "hypothesis==6.170.15"
  # Spyx and its flax.nnx stack
  "spyx==1.0.0" "flax==0.12.8" "optax==0.2.8" "grain==0.2.18" "jax-tqdm==0.4.0" "chex==0.1.92"
  # snnTorch, and the runtime deps of the --no-deps peers below
  "snntorch==1.0.0" "loguru==0.7.3" "pbr==7.1.3"
  # Rockpool 3.1.0 (AGPL: used, never copied; needs numpy and scipy) for its Torch modules and
  # its NIR exporter, in the native conformance matrix
  "rockpool==3.1.0"
)
NO_DEPS=("norse==1.1.0" "spikingjelly==2.0.0" "sinabs==3.1.3" "neurobench==2.3.0")
# What `pip check` says about the --no-deps peers' declared requirements that are not installed
# (not needed for their NIR import and neuron modules) -- package names only.
KNOWN_UNMET='^(norse|spikingjelly|sinabs|neurobench) [^ ]+ (requires|has requirement) (torchvision|torchaudio|tensorboard|scipy|tqdm|matplotlib|scienceplots|requests|samna|nir|nirtorch|onnx|onnxruntime|pandas|numba|llvmlite|tonic)[ ,<>=!~;.0-9]'

make_venv
# pip fallback: the --no-deps peers' declared conflicts are judged by `pip check` below
PIP+=(--no-warn-conflicts)
constrain "$TORCH" "numpy==2.3.5" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8"
pip_install "$TORCH"
pip_install -c "$CONSTRAINTS" "${CORE[@]}"
pip_install -c "$CONSTRAINTS" --no-deps "${NO_DEPS[@]}"
pip_install --no-deps -e "$ROOT"

# pip check: only the known, deliberate gaps of the --no-deps peers may remain.
CHECK="$("$PY" -m pip check 2>&1 || true)"
UNEXPECTED="$(printf '%s\n' "$CHECK" | grep -v '^No broken requirements' | grep -Ev "$KNOWN_UNMET" || true)"
if [ -n "$UNEXPECTED" ]; then
  printf 'pip check found unexpected problems:\n%s\n' "$UNEXPECTED" >&2
  exit 1
fi

# Smoke check: every peer imports, the pins hold, torch is the CPU build.
"$PY" - <<'EOF'
import importlib.metadata as md
import warnings

warnings.filterwarnings("ignore")
import jax, nir, norse.torch, sinabs.nir, snntorch.import_nir, spyx.nir, torch  # noqa: E401,F401
import neurobench.benchmarks, neurobench.models  # noqa: E401,F401
from spikingjelly.activation_based import nir_exchange  # noqa: F401

import snnx  # noqa: F401

want = {"torch": "2.13.0+cpu", "numpy": "2.3.5", "jax": "0.10.2", "nir": "1.0.8",
        "nirtorch": "2.6", "snntorch": "1.0.0", "norse": "1.1.0", "spikingjelly": "2.0.0",
        "sinabs": "3.1.3", "spyx": "1.0.0", "flax": "0.12.8", "neurobench": "2.3.0"}
got = {k: md.version(k) for k in want}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
assert not bad, f"version mismatch (got, want): {bad}"
assert not torch.cuda.is_available() and jax.default_backend() == "cpu"
print("peers env OK:", ", ".join(f"{k} {v}" for k, v in got.items()))
EOF
