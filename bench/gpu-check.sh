#!/usr/bin/env bash
# GPU check for a borrowed machine (no internet): reports the reference train step on WebGPU
# (Dawn over Vulkan) and on tfjs-node-gpu when loadable, with the wasm/cpu and PyTorch numbers of the
# same machine for comparison. Run from the repository root (node_modules must be present):
#   bash bench/gpu-check.sh            # results go to $OUT (or ./gpu-check-out) as text + JSON
# Each part has its own time limit so one hang cannot eat the whole slot (total <= ~9 min).
set -u
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-./gpu-check-out}"; mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu-check.txt"; : > "$LOG"
STEPS="${STEPS:-10}"; WARMUP="${WARMUP:-3}"
say() { echo "$@" | tee -a "$LOG"; }
run() { # run LABEL SECONDS CMD... : output to the log and to $OUT_DIR/LABEL.out
  local label="$1" secs="$2"; shift 2
  say "=== $label ($(date -u +%H:%M:%S), limit ${secs}s): $*"
  timeout -k 5 "$secs" "$@" > "$OUT_DIR/$label.out" 2>&1; local rc=$?
  tail -n 25 "$OUT_DIR/$label.out" | tee -a "$LOG"; say "--- $label rc=$rc"; return 0
}

say "gpu-check $(date -u) on $(hostname); node $(node --version 2>/dev/null || echo missing)"
run nvidia-smi 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
say "vulkan loader: $(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib64/libvulkan.so.1 2>/dev/null | tr '\n' ' ')"
say "vulkan ICDs: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
command -v vulkaninfo >/dev/null && run vulkaninfo 20 vulkaninfo --summary

run info-webgpu 60 env SIMVLM_BACKEND=webgpu node bin/simvlm.js info --json
run bench-webgpu 240 env SIMVLM_BACKEND=webgpu node bin/simvlm.js bench train-step --steps "$STEPS" --warmup "$WARMUP" --json
run info-gpu 60 env SIMVLM_BACKEND=gpu node bin/simvlm.js info --json
if grep -q '"backend": "gpu"' "$OUT_DIR/info-gpu.out" 2>/dev/null; then
  run bench-gpu 180 env SIMVLM_BACKEND=gpu node bin/simvlm.js bench train-step --steps "$STEPS" --warmup "$WARMUP" --json
fi
# CPU baselines on the same machine (shorter: 3 timed steps).
run bench-wasm 150 node bin/simvlm.js bench train-step --steps 3 --warmup 1 --json
PY="${SIMVLM_PYTHON:-/usr/bin/python3}"
[ -x "$PY" ] && run bench-torch 90 "$PY" bench/torch-ref.py --steps 5 --warmup 2 --json

say "=== summary"
for f in bench-webgpu bench-gpu bench-wasm bench-torch; do
  [ -f "$OUT_DIR/$f.out" ] || continue
  line=$(grep -E '^\{.*"ms_per_step"' "$OUT_DIR/$f.out" | tail -n 1)
  if [ -z "$line" ]; then say "$f: no result (see $f.out)"; continue; fi
  say "$f: $(printf '%s' "$line" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(`${j.backend}: ${j.ms_per_step} ms/step, ${j.gflops} GFLOP/s, ${j.examples_per_s} examples/s${j.notes?" | "+j.notes.join("; "):""}`)})')"
done
