#!/usr/bin/env bash
# install.sh VENV_DIR -- snnx beside real Lava (lava-nc 0.10.0 + lava-dl 0.6.0, CPU only), for the
# Loihi target's cross-check tier:
#
#   bash ci/tiers/lava/install.sh .venvs/lava
#   SNNX_TIER=lava .venvs/lava/bin/python -m pytest -q -p no:cacheprovider tests/crosscheck/lava
#
# Idempotent: a second run into a finished venv re-checks the pins, the patch and the hook.
#
# Why it is not `pip install lava-dl`:
#   * lava-nc / lava-dl declare Requires-Python <3.11, numpy<2, torch 2.3, torchvision, opencv,
#     pillow, ninja, unittest2, pytest<8. They go in last with --no-deps --ignore-requires-python;
#     what their import graph (netx, slayer, proc, magma) really needs is installed first: numpy,
#     scipy, networkx, asteval<0.10, h5py, matplotlib, torch.
#   * torch 2.13.0 (the CPU wheel on disk) goes in first; every later step is constrained to it.
#   * numpy 2.3.x: jax 0.10 needs numpy >= 2, parts of Lava break on 2.4.
#   * lava/magma/compiler/var_model.py gives 8 dataclass fields a mutable default
#     (`ByteEncoder()`), which Python 3.11 rejects: rewritten to field(default_factory=...).
#   * lava.lib.dl.slayer imports object_detection (torchvision, PIL, cv2) at import, and netx
#     imports slayer: a meta-path hook (site-packages/_snnx_lava_stubs.py + a .pth line) serves an
#     empty stand-in for exactly that package while torchvision is missing. No Lava file is
#     edited for it; deleting the two files undoes it.
#
# Installer: uv for the pinned PyPI packages (../common.sh); the two Lava wheels and snnx go
# through pip (uv cannot ignore Requires-Python). SNNX_INSTALLER=pip does everything with pip.
set -euo pipefail

VENV="${1:?usage: install.sh VENV_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

TORCH="torch==2.13.0"
CORE=(
  "numpy==2.3.5" "scipy==1.17.1" "networkx==3.6.1" "asteval==0.9.33" "h5py==3.16.0"
  "matplotlib==3.11.2" "jax==0.10.2" "jaxlib==0.10.2" "equinox==0.13.8" "nir==1.0.8"
  "tqdm==4.70.1" "pytest==9.2.0" "hypothesis==6.170.15"
  # examples/01: a model trained in snnTorch is deployed in Lava (its wheel declares no deps)
  "snntorch==1.0.0"
)
LAVA=("lava-nc==0.10.0" "lava-dl==0.6.0")

make_venv
PYV=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$PYV" = 3.11 ] || { echo "need Python 3.11 in the venv, got $PYV" >&2; exit 1; }
constrain "$TORCH" "numpy==2.3.5" "jax==0.10.2" "jaxlib==0.10.2" "nir==1.0.8"

log "torch, snnx's runtime deps, the test tools"
pip_install "$TORCH"
pip_install -c "$CONSTRAINTS" "${CORE[@]}"
pip_install -c "$CONSTRAINTS" --no-deps "nirtorch==2.6"

log "lava-nc 0.10.0, lava-dl 0.6.0 (--no-deps --ignore-requires-python)"
quiet "${PIP[@]}" -c "$CONSTRAINTS" --no-deps --ignore-requires-python "${LAVA[@]}"

SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

log "patching lava/magma/compiler/var_model.py for Python 3.11 (idempotent)"
"$PY" - "$SITE/lava/magma/compiler/var_model.py" <<'PYEOF'
import os, re, sys
path = sys.argv[1]
src = open(path).read()
bad = re.compile(r"^(\s*\w+\s*:\s*[\w\[\], .]*=\s*)ByteEncoder\(\)\s*$", re.M)
found = len(bad.findall(src))
if not found:
    if "field(default_factory=ByteEncoder)" not in src:
        sys.exit("var_model.py: neither the original nor the patched lines found; Lava changed?")
    print("  already patched")
    sys.exit(0)
src = bad.sub(lambda m: m.group(1) + "field(default_factory=ByteEncoder)", src)
if not re.search(r"^from dataclasses import .*\bfield\b", src, re.M):
    src = re.sub(r"^from dataclasses import (.*)$",
                 lambda m: "from dataclasses import " + m.group(1) + ", field", src,
                 count=1, flags=re.M)
with open(path + ".tmp", "w") as f:
    f.write(src)
os.replace(path + ".tmp", path)
print(f"  patched {found} fields")
PYEOF
find "$SITE/lava/magma/compiler" -name 'var_model*.pyc' -delete 2>/dev/null || true

log "object_detection stand-in (_snnx_lava_stubs.py + .pth)"
cat >"$SITE/_snnx_lava_stubs.py" <<'PYEOF'
"""Installed by snnx's ci/tiers/lava/install.sh.

lava-dl 0.6.0 imports ``lava.lib.dl.slayer.object_detection`` from its slayer package, and that
needs torchvision, PIL and cv2; netx imports slayer. This meta-path finder serves an empty
stand-in for exactly that package (and its submodules) while torchvision cannot be found; any
attribute of the stand-in raises ImportError saying so. Every other import is untouched. Delete
this file and ``_snnx_lava_stubs.pth`` to undo.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys

_TARGET = "lava.lib.dl.slayer.object_detection"


class _Stand_in(type(sys)):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(f"{self.__name__} is a stand-in (torchvision is not installed); "
                          "lava-dl object detection is unavailable")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        module = _Stand_in(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        module.__snnx_stub__ = True


class _Finder(importlib.abc.MetaPathFinder):
    torchvision = None

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _TARGET and not fullname.startswith(_TARGET + "."):
            return None
        if _Finder.torchvision is None:
            sys.meta_path.remove(self)
            try:
                _Finder.torchvision = importlib.util.find_spec("torchvision") is not None
            finally:
                sys.meta_path.insert(0, self)
        if _Finder.torchvision:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
PYEOF
echo "import _snnx_lava_stubs" >"$SITE/_snnx_lava_stubs.pth"

log "snnx (editable, --no-deps)"
quiet "${PIP[@]}" --no-deps -e "$ROOT"

log "smoke check"
"$PY" - <<'PYEOF'
import importlib.metadata as md
import multiprocessing

import jax, numpy, torch  # noqa: E401
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: F401
import lava.lib.dl.netx  # noqa: F401
import snntorch  # noqa: F401
import snnx.targets.loihi  # noqa: F401

want = {"torch": "2.13.0+cpu", "numpy": "2.3.5", "jax": "0.10.2", "nir": "1.0.8",
        "lava-nc": "0.10.0", "lava-dl": "0.6.0", "snntorch": "1.0.0"}
got = {k: md.version(k) for k in want}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
assert not bad, f"version mismatch (got, want): {bad}"
assert multiprocessing.get_start_method() == "fork"
print("  lava env OK:", ", ".join(f"{k} {v}" for k, v in got.items()))
PYEOF
log "done"
