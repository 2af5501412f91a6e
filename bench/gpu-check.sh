#!/usr/bin/env bash
# GPU check for a borrowed machine with an NVIDIA GPU, the CUDA toolkit (nvcc) and PyTorch, but no
# Node and no network (issue 18). Run in the repository root, with bench/gpu-bundle.tar.xz (made
# here by bench/gpu-pack.sh: Node, a pruned node_modules, a prebuilt CUDA addon) next to it:
#
#   bash bench/gpu-check.sh              # results (text + JSON) in $OUT, else ./gpu-check-out
#   bash bench/gpu-check.sh --dry-run    # on a machine without a GPU: unpack into a temporary copy
#                                        # of the repository and run everything that runs on a CPU
#
# In order, each part with its own time limit inside one overall budget (GPU_CHECK_BUDGET, default
# 470 s, so the whole check stays within 8 minutes; a part that would start too late is skipped):
#   unpack    the bundle (node_modules is linked in when the repository has none)
#   build     the CUDA addon with nvcc for this GPU (SIMVLM_CUDA_ARCH, default 90); the prebuilt one if that fails
#   info      `simvlm info` on cuda: the GPU, CUDA and cuBLAS versions
#   parity    every kernel forward and backward against the cpu backend (test/backend/cuda-device.test.ts)
#   train     50 training steps of the product model against the cpu backend's losses
#   memory    GPU memory flat over 500 training steps
#   errors    out of memory, a wrong call and an illegal address as JavaScript errors
#   bench     `simvlm bench all` on cuda: reference step fp32 and bf16, Base at batch 64, largest batch, vs PyTorch
#   compile   PyTorch's torch.compile + bf16 reference step (the issue's table)
#   decode    greedy decoding tokens/s on cuda
# Every part's output is in $OUT/<part>.log; $OUT/results.json has each part's status and the
# benchmark numbers; the last lines printed say exactly what failed.
set -u
cd "$(dirname "$0")/.."
DRY=0; [ "${1:-}" = "--dry-run" ] && DRY=1
OUT_DIR="${OUT:-./gpu-check-out}"; mkdir -p "$OUT_DIR"; OUT_DIR="$(cd "$OUT_DIR" && pwd)"
LOG="$OUT_DIR/gpu-check.txt"; : > "$LOG"
BUDGET="${GPU_CHECK_BUDGET:-470}"; START=$(date +%s)
BUNDLE="${GPU_BUNDLE:-bench/gpu-bundle.tar.xz}"
# The Python with torch (the cuBLAS search also looks in its site folders for NVIDIA's wheels).
PY=""
for c in "${SIMVLM_PYTHON:-}" "$(command -v python3 2>/dev/null)" /usr/bin/python3 /opt/conda/bin/python3; do
  [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import torch' 2>/dev/null && { PY="$c"; break; }
done
[ -n "$PY" ] || PY="$(command -v python3 || echo /usr/bin/python3)"
export SIMVLM_PYTHON="$PY"
STEPS=(); FAILED=()

say() { echo "$@" | tee -a "$LOG"; }
left() { echo $((BUDGET - ($(date +%s) - START))); }

# part NAME LIMIT CMD... — run with min(LIMIT, time left − 5 s); record status and seconds.
part() {
  local name="$1" limit="$2"; shift 2
  local avail=$(( $(left) - 5 ))
  [ "$limit" -gt "$avail" ] && limit=$avail
  if [ "$limit" -lt 15 ]; then
    say "=== $name: skipped, out of time ($(left) s left)"; STEPS+=("\"$name\": {\"status\": \"skipped (out of time)\"}"); FAILED+=("$name: skipped, out of time"); return 1
  fi
  say "=== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*"
  local t0=$(date +%s)
  # Through bash, so that the exported shell functions below (unpack, build, tests) can be parts too.
  timeout -k 5 "$limit" bash -c '"$@"' bash "$@" > "$OUT_DIR/$name.log" 2>&1; local rc=$?
  local secs=$(( $(date +%s) - t0 ))
  tail -n 15 "$OUT_DIR/$name.log" | tee -a "$LOG"
  local status="ok"
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="timed out after ${limit}s"; elif [ $rc -ne 0 ]; then status="failed (exit $rc)"; fi
  say "--- $name: $status, ${secs}s"
  STEPS+=("\"$name\": {\"status\": \"$status\", \"seconds\": $secs}")
  [ "$status" = ok ] || { FAILED+=("$name: $status — see $OUT_DIR/$name.log"); return 1; }
}

say "gpu-check $(date -u) on $(hostname)$([ $DRY = 1 ] && echo ' (dry run: no GPU expected)'); budget ${BUDGET}s"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | tee -a "$LOG"
command -v nvcc >/dev/null && nvcc --version | tail -n 1 | tee -a "$LOG"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())' 2>&1 | tail -n 1 | tee -a "$LOG"

# ---------------------------------------------------------------------------------- unpack
if [ $DRY = 1 ]; then
  # A copy of the tracked files only, so the pruned node_modules is what gets tested.
  WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
  git ls-files -z | xargs -0 cp --parents -t "$WORK"
  cp "$BUNDLE" "$WORK/bench/" 2>/dev/null
  cd "$WORK"
fi
unpack() {
  [ -f "$BUNDLE" ] || { echo "no $BUNDLE: make it with bash bench/gpu-pack.sh on a machine with Node"; return 1; }
  rm -rf .gpu-bundle && mkdir -p .gpu-bundle
  if command -v xz >/dev/null; then xz -dc "$BUNDLE" | tar -C .gpu-bundle -xf - || return 1
  else "$SIMVLM_PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$BUNDLE" .gpu-bundle || return 1; fi
  chmod +x .gpu-bundle/gpu-bundle/node/bin/node
  cat .gpu-bundle/gpu-bundle/MANIFEST
  if [ ! -e node_modules ]; then ln -s .gpu-bundle/gpu-bundle/node_modules node_modules && echo "node_modules -> the bundle's"; fi
}
export BUNDLE SIMVLM_PYTHON
export -f unpack
if part unpack 60 unpack; then
  export PATH="$PWD/.gpu-bundle/gpu-bundle/node/bin:$PATH"
  export SIMVLM_NODE_INCLUDE="$PWD/.gpu-bundle/gpu-bundle/node/include/node"
fi
command -v node >/dev/null || { say "no node: cannot continue"; FAILED+=("node: missing"); }
say "node $(node --version 2>/dev/null) at $(command -v node)"

# ---------------------------------------------------------------------------------- build
build() {
  SIMVLM_CUDA_BUILD=1 SIMVLM_CUDA_ARCH="${SIMVLM_CUDA_ARCH:-90}" timeout -k 5 "${BUILD_LIMIT:-120}" node native/cuda/build.mjs; local rc=$?
  node -e 'import("./native/cuda/build.mjs").then((m) => process.exit(m.cudaAddonIsCurrent() ? 0 : 1))' && return 0
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "nvcc build timed out after ${BUILD_LIMIT:-120}s; using the prebuilt addon from the bundle"
  else echo "nvcc build failed; using the prebuilt addon from the bundle"; fi
  mkdir -p native/build && cp .gpu-bundle/gpu-bundle/prebuilt/simvlm_cuda.node native/build/ && touch native/build/simvlm_cuda.node
  return 2
}
export -f build
part build 150 build

# ---------------------------------------------------------------------------------- correctness
export SIMVLM_BACKEND=cuda
# Without a usable GPU the device tests must fail here, not skip.
[ $DRY = 1 ] || export SIMVLM_REQUIRE_CUDA=1
if [ $DRY = 1 ]; then part info 40 sh -c 'node bin/simvlm.js info --json; echo "(dry run: cuda is expected to be unavailable here)"'
else part info 40 node bin/simvlm.js info --json; fi
tests() { SIMVLM_CUDA_TESTS="$1" node --import tsx --test --test-reporter=spec test/backend/cuda-device.test.ts; }
export -f tests
part parity 120 tests device,parity
part train 100 tests train
part memory 120 tests memory
part errors 60 tests errors
if [ $DRY = 1 ]; then
  # Without a GPU the device tests skip; the CPU-side cuda tests run the same imports for real.
  part cpu-tests 200 node --import tsx --test --test-reporter=spec test/backend/cuda-native.test.ts test/backend/cuda-fake.test.ts
fi

# ---------------------------------------------------------------------------------- speed
if [ $DRY = 1 ]; then
  # The benches' code paths load from the bundle: a tiny step on cpu, and the GPU bench module.
  part bench 120 sh -c 'SIMVLM_BACKEND=cpu node bin/simvlm.js bench train-step --config tiny --batch 2 --text 8 --steps 1 --warmup 0 --json &&
    node --import tsx --input-type=module -e "await import(\"./bench/gpu-bench.ts\"); console.log(\"bench/gpu-bench.ts loads\")"'
else
  part bench 200 node bin/simvlm.js bench all --json --steps "${BENCH_STEPS:-5}" --warmup "${BENCH_WARMUP:-2}"
  part compile 90 "$PY" bench/torch-ref.py --device cuda --dtype bf16 --compile --steps 5 --warmup 3 --json
  part decode 45 node bin/simvlm.js bench decode --json
fi

# ---------------------------------------------------------------------------------- summary
lastjson() { [ -f "$OUT_DIR/$1.log" ] && grep -E '^\{' "$OUT_DIR/$1.log" | tail -n 1; }
{
  echo "{"
  echo "  \"dry_run\": $([ $DRY = 1 ] && echo true || echo false), \"seconds\": $(( $(date +%s) - START )),"
  echo "  \"parts\": {$(IFS=,; echo "${STEPS[*]}")},"
  for k in info bench compile decode; do v=$(lastjson $k); echo "  \"$k\": ${v:-null},"; done
  echo "  \"failed\": [$(for f in "${FAILED[@]}"; do printf '"%s",' "${f//\"/\'}"; done | sed 's/,$//')]"
  echo "}"
} > "$OUT_DIR/results.json"
say "=== summary ($(( $(date +%s) - START )) s; results in $OUT_DIR)"
if [ -f "$OUT_DIR/bench.log" ] && [ $DRY = 0 ]; then
  node -e 'const fs = require("fs"); const l = fs.readFileSync(process.argv[1], "utf8").split("\n").filter((x) => x.startsWith("{")).pop();
    if (l) for (const r of JSON.parse(l).rows ?? []) console.log(`${r.what}: ours ${r.ours?.ms_per_step ?? "-"} ms, pytorch ${r.torch?.ms_per_step ?? "-"} ms (${r.torch?.variant ?? ""}), ratio ${r.ratio ?? "-"}${r.error ? " [" + r.error + "]" : ""}`);' "$OUT_DIR/bench.log" 2>&1 | tee -a "$LOG"
fi
if [ ${#FAILED[@]} -eq 0 ]; then say "all parts passed"; exit 0; fi
say "FAILED (${#FAILED[@]}):"; for f in "${FAILED[@]}"; do say "  $f"; done
exit 1
