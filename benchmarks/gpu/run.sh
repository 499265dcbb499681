#!/usr/bin/env bash
# benchmarks/gpu/run.sh -- issue 18's GPU measurements in one run (under 6 minutes on an H200).
#
#   bash benchmarks/gpu/run.sh                      # from the repository root; results in $OUT
#   SNNX_GPU_SMOKE=1 PYTHON=.venv/bin/python OUT=/tmp/out bash benchmarks/gpu/run.sh   # CPU smoke
#
# 1. the pure-Python packages the machine lacks, from .whl/ (nir, nirtorch, snntorch), into
#    /tmp/site; the conformance graphs from $SNNX_CONFORMANCE, shared/, .conformance/ or ../shared;
# 2. in the background on the CPU: the tests of issue 12's AVX512-FP16 check and the sharding
#    test (JAX_PLATFORMS=cpu), and the CPU reference spikes of every workload (precision.py);
# 3. the same spikes on the GPU at precision highest and fast, compared with the CPU's;
# 4. bench_sim.py, all six workloads, precision highest: snnx, its program, hand-written JAX and
#    snnTorch on CUDA (peers that fail to import are reported missing);
# 5. if time is left, workloads 1 and 6 again at precision fast (snnx and hand-written JAX);
# 6. summary.md from the JSON files, printed.
# Writes to $OUT (8 files): precision.json, precision.log, bench_highest.json/.log,
# bench_fast.json/.log, pytest.log, summary.md. Each step has its own time limit.
set -uo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)
OUT="${OUT:-/tmp/snnx-gpu}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
TMP="$(mktemp -d)"
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore XLA_PYTHON_CLIENT_MEM_FRACTION=0.5
elapsed() { echo $(($(date +%s) - START)); }
say() { printf '[run.sh %3ds] %s\n' "$(elapsed)" "$*"; }

if [ "${SNNX_GPU_SMOKE:-0}" = 1 ]; then  # every step, tiny sizes: for a CPU before the GPU run
  SIZE=(--quick --linear-n 256); ROUNDS=(--quick --repeats 2); LIMIT=600
else
  SIZE=(--linear-n 16384); ROUNDS=(--repeats 5); LIMIT=1
fi
limit() { echo $(($1 * LIMIT)); }

if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
    || say "wheel install failed"
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
for dir in "${SNNX_CONFORMANCE:-}" shared/conformance .conformance ../shared/conformance; do
  if [ -n "$dir" ] && [ -d "$dir/nir-paper" ]; then
    SNNX_CONFORMANCE="$(cd "$dir" && pwd)"
    export SNNX_CONFORMANCE
    break
  fi
done
say "python $("$PY" --version 2>&1); conformance ${SNNX_CONFORMANCE:-MISSING}; out $OUT"
"$PY" - <<'EOF' || say "a package is missing: the steps that need it will say so"
import importlib.metadata as md
for p in ("jax", "jaxlib", "torch", "nir", "nirtorch", "snntorch", "numpy"):
    try:
        print(f"  {p} {md.version(p)}")
    except md.PackageNotFoundError:
        print(f"  {p} MISSING")
import jax, torch
print("  jax devices", jax.devices(), "| torch cuda", torch.cuda.is_available())
EOF

say "background: tests on the CPU, CPU reference spikes"
JAX_PLATFORMS=cpu timeout "$(limit 150)" "$PY" -m pytest -q -x -p no:cacheprovider \
  tests/test_target_lynxi_torch.py tests/test_sharding.py >"$OUT/pytest.log" 2>&1 &
TESTS=$!
JAX_PLATFORMS=cpu timeout "$(limit 170)" "$PY" benchmarks/gpu/precision.py compute \
  --out "$TMP/cpu" --modes highest "${SIZE[@]}" >"$OUT/precision.log" 2>&1 &
CPUREF=$!

say "precision: the same spikes on the device, highest and fast"
timeout "$(limit 120)" "$PY" benchmarks/gpu/precision.py compute --out "$TMP/device" \
  --modes highest fast "${SIZE[@]}" >>"$OUT/precision.log" 2>&1 || say "device precision step failed"
wait "$CPUREF" || say "CPU reference step failed"
timeout "$(limit 40)" "$PY" benchmarks/gpu/precision.py compare --cpu "$TMP/cpu" \
  --device "$TMP/device" --json "$OUT/precision.json" "${SIZE[@]}" >>"$OUT/precision.log" 2>&1 \
  || say "precision comparison failed"
grep '^precision: workload .* differ' "$OUT/precision.log"
rm -rf "$TMP"
wait "$TESTS" || say "tests failed (see pytest.log)"
tail -n 1 "$OUT/pytest.log"

IMPLS=(--impls snnx snnx-program jax-scan jax-layer snntorch)
say "benchmark, precision highest"
timeout "$(limit 200)" "$PY" benchmarks/bench_sim.py --workloads 1 2 3 4 6 5 "${IMPLS[@]}" \
  "${ROUNDS[@]}" "${SIZE[@]:(-2)}" --check-tolerance 1e-3 --precision highest \
  --json "$OUT/bench_highest.json" >"$OUT/bench_highest.log" 2>&1 || say "benchmark (highest) stopped"
sed '/^== summary/q' "$OUT/bench_highest.log" | grep -E '^(-- workload|snnx vs|snnx forward call|CHECK FAILED|FAILED)' 

LEFT=$((330 * LIMIT - $(elapsed)))
if [ "$LEFT" -gt 45 ]; then
  say "benchmark, precision fast (workloads 1 and 6; ${LEFT}s left)"
  timeout "$LEFT" "$PY" benchmarks/bench_sim.py --workloads 1 6 --impls snnx jax-scan jax-layer \
    "${ROUNDS[@]}" "${SIZE[@]:(-2)}" --check-tolerance 1e-2 --precision fast \
    --json "$OUT/bench_fast.json" >"$OUT/bench_fast.log" 2>&1 || say "benchmark (fast) stopped"
  sed '/^== summary/q' "$OUT/bench_fast.log" | grep -E '^(-- workload|snnx vs|CHECK FAILED)' 
else
  say "no time left for the fast benchmark"
fi

"$PY" benchmarks/gpu/summarize.py "$OUT" >"$OUT/summary.md" || say "summary failed"
cat "$OUT/summary.md"
say "done"
