#!/usr/bin/env bash
# install.sh VENV_DIR -- the documentation site's build environment: MkDocs 1.6 with the Material
# theme, mkdocstrings (the API reference, read from the sources by griffe without importing
# them), mkdocs-gen-files (the CLI reference, written from snnx's own argument parsers) and
# pymdown-extensions (snippets: FORMAT.md and SCHEMA.md included from src/, not copied).
#
#   bash ci/tiers/docs/install.sh .venvs/docs
#   SNNX_TIER=docs .venvs/docs/bin/python -m pytest -q tests/crosscheck/docs   # mkdocs build --strict
#
# Idempotent. snnx goes in --no-deps: the CLI reference imports only `snnx.cli` (argparse and the
# subcommand modules, whose heavy imports live inside `run`), so neither torch nor JAX is needed.
#
# Installer: uv, or SNNX_INSTALLER=pip; see ../common.sh.
set -euo pipefail

VENV="${1:?usage: install.sh VENV_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

PACKAGES=(
  "mkdocs==1.6.1" "mkdocs-material==9.8.1" "mkdocstrings==1.0.8" "mkdocstrings-python==2.0.11"
  "griffe==2.4.1" "mkdocs-autorefs==1.4.5" "mkdocs-gen-files==0.6.1" "pymdown-extensions==13.1"
  "pytest==9.2.0"
)

make_venv
pip_install "${PACKAGES[@]}"
pip_install --no-deps -e "$ROOT"

"$PY" - <<'PYEOF'
import importlib.metadata as md
import importlib.util

import mkdocs, mkdocstrings  # noqa: E401,F401
import snnx.cli

assert importlib.util.find_spec("torch") is None, "torch crept in: the docs do not need it"
snnx.cli.build_parser()  # the CLI reference's source
want = {"mkdocs": "1.6.1", "mkdocs-material": "9.8.1", "mkdocstrings": "1.0.8",
        "mkdocstrings-python": "2.0.11", "mkdocs-gen-files": "0.6.1"}
got = {k: md.version(k) for k in want}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
assert not bad, f"version mismatch (got, want): {bad}"
print("docs env OK:", ", ".join(f"{k} {v}" for k, v in got.items()))
PYEOF
