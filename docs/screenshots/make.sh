#!/usr/bin/env bash
# docs/screenshots/make.sh -- the two screenshots under docs/screenshots/, rendered by a real
# headless browser (Debian's chromium: apt-get install -y chromium):
#   home.png           the documentation site's home page (mkdocs build, from .venvs/docs)
#   verify-report.png  `snnx verify --report` on the bundled Braille network for Loihi 2
# Run from the repository root after `make venv` and `make .venvs/docs/.installed`.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/screenshots
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

.venv/bin/snnx show src/snnx/examples/braille.nir -o docs/tutorials/figures/braille.png >/dev/null  # the home page's figure
.venv/bin/snnx verify src/snnx/examples/braille.nir --target loihi --profile snntorch \
  --random 64 --steps 256 --rate 0.2 --report "$WORK/report" >/dev/null
NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true .venvs/docs/bin/mkdocs build -q -d "$WORK/site"

shoot() {  # URL PNG WIDTH HEIGHT
  local profile
  profile="$(mktemp -d -p "$WORK")"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size="$3,$4" \
    --screenshot="$2" "$1" 2>/dev/null
}
shoot "file://$WORK/site/index.html" "$OUT/home.png" 1280 1000
shoot "file://$WORK/report/index.html" "$OUT/verify-report.png" 1280 3400
ls -l "$OUT"/*.png
