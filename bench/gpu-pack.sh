#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs on a borrowed GPU machine that has no Node and no network
# into one archive, bench/gpu-bundle.tar.xz (git-ignored; give it to the machine with the
# repository, e.g. as a "carry" path of the device tool):
#   node/bin/node                 this machine's Node binary, stripped
#   node/include/node/*.h         Node-API headers, so the CUDA addon can be built there with nvcc
#   node_modules/                 only what the cuda backend, its tests and the benches load: tsx and
#                                 esbuild (TypeScript in place), tfjs-core and tfjs-backend-cpu (the
#                                 reference), their runtime dependencies, and tokenizers' linux-x64
#                                 binary (decoding loads it) — no sharp, wasm or webgpu packages, no
#                                 source maps, type declarations or browser bundles
#   prebuilt/simvlm_cuda.node     the CUDA addon built here (sm_80 + sm_90), used there only if nvcc fails
#   MANIFEST                      versions and sizes
#
#   bash bench/gpu-pack.sh [OUT]          # default bench/gpu-bundle.tar.xz; prints the sizes
# Everything sent to the GPU machine must stay under 64 MiB: the archive plus the repository's
# tracked files. The script fails when the total is over 60 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_FILE="${1:-bench/gpu-bundle.tar.xz}"
STAGE="$(mktemp -d)"; trap 'rm -rf "$STAGE"' EXIT
B="$STAGE/gpu-bundle"
mkdir -p "$B/node/bin" "$B/node/include/node" "$B/node_modules" "$B/prebuilt"

NODE="$(command -v node)"
cp "$NODE" "$B/node/bin/node"
command -v strip >/dev/null && strip "$B/node/bin/node"
INC="$(node -e 'import("./native/cuda/build.mjs").then((m) => console.log(m.nodeIncludeDir() ?? ""))')"
[ -n "$INC" ] || { echo "gpu-pack: Node's headers (node_api.h) not found" >&2; exit 1; }
for h in node_api.h node_api_types.h js_native_api.h js_native_api_types.h; do cp "$INC/$h" "$B/node/include/node/"; done

# The packages the GPU run loads (checked by bench/gpu-check.sh --dry-run, which runs the tests'
# imports from the unpacked archive), with their runtime dependencies.
PKGS=(tsx esbuild @esbuild/linux-x64 @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu long seedrandom node-fetch whatwg-url tr46 webidl-conversions tokenizers)
for p in "${PKGS[@]}"; do
  [ -d "node_modules/$p" ] || { echo "gpu-pack: node_modules/$p missing (run npm install)" >&2; exit 1; }
  mkdir -p "$B/node_modules/$(dirname "$p")"
  cp -a "node_modules/$p" "$B/node_modules/$p"
done
# Prune: source maps, declarations, docs, and the tfjs bundles Node never loads (it uses the
# *.node.js entry and, for the gradients, the ES modules under dist/).
find "$B/node_modules" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name 'README*' -o -name 'CHANGELOG*' -o -name '*.flow' \) -type f -delete
for t in core backend-cpu; do
  d="$B/node_modules/@tensorflow/tfjs-$t/dist"
  find "$d" -maxdepth 1 -type f -name "tf-$t*.js" ! -name "tf-$t.node.js" -delete
  rm -rf "$d/../src" "$d/../scripts"
done
# tokenizers (lib/decode loads it): only the linux-x64 glibc binary of its nine.
find "$B/node_modules/tokenizers" -maxdepth 1 -name '*.node' ! -name 'tokenizers.linux-x64-gnu.node' -delete
find "$B/node_modules" -type d \( -name test -o -name tests -o -name __tests__ -o -name docs \) -prune -exec rm -rf {} +

# The CUDA addon built here, as a fallback (sm_80 and sm_90; needs glibc >= 2.34 there).
if [ -f native/build/simvlm_cuda.node ] && node -e 'import("./native/cuda/build.mjs").then((m) => process.exit(m.cudaAddonIsCurrent() ? 0 : 1))'; then
  cp native/build/simvlm_cuda.node "$B/prebuilt/"
elif SIMVLM_CUDA_BUILD=1 node native/cuda/build.mjs && [ -f native/build/simvlm_cuda.node ]; then
  cp native/build/simvlm_cuda.node "$B/prebuilt/"
else
  echo "gpu-pack: no prebuilt CUDA addon (nvcc missing here); the GPU machine must build it" >&2
fi

{
  echo "gpu-bundle made $(date -u +%FT%TZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "node $(node --version) ($(uname -m), needs glibc >= 2.28)"
  for p in "${PKGS[@]}"; do echo "$p $(node -p "require('./node_modules/$p/package.json').version")"; done
  (cd "$B" && du -sh node node_modules prebuilt | tr '\t' ' ')
} > "$B/MANIFEST"

mkdir -p "$(dirname "$OUT_FILE")"
tar -C "$STAGE" -cf - gpu-bundle | xz -9 -T0 > "$OUT_FILE"
ARCHIVE=$(stat -c %s "$OUT_FILE")
TRACKED=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
cat "$B/MANIFEST"
echo "archive $OUT_FILE: $(mib "$ARCHIVE") (unpacked $(du -sh "$B" | cut -f1))"
echo "tracked files: $(mib "$TRACKED"); together $(mib $((ARCHIVE + TRACKED))) of the 64 MiB that can be sent"
[ $((ARCHIVE + TRACKED)) -le $((60 * 1048576)) ] || { echo "gpu-pack: over 60 MiB" >&2; exit 1; }
