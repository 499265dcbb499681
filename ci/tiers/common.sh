# common.sh -- sourced by each ci/tiers/<tier>/install.sh: the machinery every tier shares.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"   # with VENV set
#
# Gives: ROOT (the repository), PYTHON, INSTALLER (SNNX_INSTALLER: uv, the default, or pip),
# `log MESSAGE` (prefixed with the tier and the seconds since the start), `quiet CMD...` (CMD with
# the local package mirror's noise filtered out), `make_venv` (creates VENV if missing; sets PY
# and PIP, pip install in the venv), `constrain PIN...` (writes the pins to $CONSTRAINTS, a
# temporary file removed on exit) and `pip_install ARGS...` (`pip install ARGS` into the venv,
# by uv or by pip).
#
# uv (installed into the venv from PyPI, ~2 s) resolves and unpacks in parallel, several times
# faster than pip here. It reads no pip configuration, so it is handed the CPU torch wheels on disk
# (/opt/wheels) and the local mirror (/opt/pypi/simple) explicitly, where they exist.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
INSTALLER="${SNNX_INSTALLER:-uv}"
TIER="$(basename "$(dirname "${BASH_SOURCE[1]}")")"
T0=$(date +%s)

log() { printf '[%s tier %4ds] %s\n' "$TIER" "$(($(date +%s) - T0))" "$*"; }

quiet() {
  "$@" 2>&1 | { grep -v -e "WARNING: Location 'file:///opt/pypi" -e "^Requirement already satisfied" || true; }
}

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  PY="$VENV/bin/python"
  PIP=("$PY" -m pip install -q --disable-pip-version-check)
}

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
constrain() { printf '%s\n' "$@" >"$CONSTRAINTS"; }

pip_install() {
  if [ "$INSTALLER" != uv ]; then
    quiet "${PIP[@]}" "$@"
    return
  fi
  if [ ! -x "$VENV/bin/uv" ]; then
    quiet "${PIP[@]}" "uv==0.13.9"
  fi
  local uv=("$VENV/bin/uv" pip install --quiet --python "$PY" --index-strategy unsafe-best-match)
  if [ -d /opt/wheels ]; then uv+=(--find-links /opt/wheels); fi
  if [ -d /opt/pypi/simple ]; then uv+=(--extra-index-url file:///opt/pypi/simple); fi
  "${uv[@]}" "$@"
}
