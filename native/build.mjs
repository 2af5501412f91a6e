#!/usr/bin/env node
// Builds native/build/simvlm_blas.node (native/*.c: OpenBLAS products plus fused kernels) with the system C compiler.
// Run by npm's prepare step and, when the file is missing, on first use of the wasm backend.
// Then the CUDA kernels (native/cuda/build.mjs; `--cuda` builds them even without an NVIDIA driver).
// Never fails an install: when it cannot build it prints one line saying why and exits 0, and the
// wasm fast path is used instead. Needs: cc, Node's headers (node_api.h), libopenblas-dev.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const ADDON = join(here, "build", "simvlm_blas.node");
/** The addon's sources (every .c and .h here): the addon is rebuilt when one is newer. */
export const SOURCES = readdirSync(here)
  .filter((f) => /\.(c|h)$/.test(f))
  .sort()
  .map((f) => join(here, f));

/** Whether the built addon exists and is at least as new as every source. */
export function addonIsCurrent() {
  if (!existsSync(ADDON)) return false;
  const built = statSync(ADDON).mtimeMs;
  return SOURCES.every((f) => statSync(f).mtimeMs <= built);
}

function nodeIncludeDir() {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ];
  return candidates.find((d) => existsSync(join(d, "node_api.h")));
}

/** Compile the addon; returns { ok } or { ok: false, reason } (one line). */
export function buildNativeAddon(quiet = false) {
  const cc = process.env.CC ?? "cc";
  const include = nodeIncludeDir();
  if (!include)
    return {
      ok: false,
      reason:
        "Node's headers (node_api.h) not found (Debian: apt-get install libnode-dev, or use an official Node build)",
    };
  mkdirSync(join(here, "build"), { recursive: true });
  // Build to a private name, then rename: parallel processes may race to build.
  const tmp = `${ADDON}.${process.pid}.tmp`;
  const args = [
    "-O3",
    "-shared",
    "-fPIC",
    "-DNODE_GYP_MODULE_NAME=simvlm_blas",
    `-I${include}`,
    "-I/usr/include/openblas",
    ...SOURCES.filter((f) => f.endsWith(".c")),
    "-lopenblas",
    "-lm",
    "-o",
    tmp,
  ];
  const r = spawnSync(cc, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const err = r.error
      ? `${cc}: ${r.error.message}`
      : (r.stderr.split("\n").find((l) => /error/.test(l)) ?? r.stderr.split("\n")[0] ?? "");
    const hint = /cblas\.h|lopenblas/.test(err) ? " (needs libopenblas-dev)" : "";
    return { ok: false, reason: `${err.trim().slice(0, 200)}${hint}` };
  }
  renameSync(tmp, ADDON);
  if (!quiet) console.log(`simvlm: built the native BLAS kernels (${ADDON})`);
  return { ok: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.env.SIMVLM_NATIVE === "0")
    console.log("simvlm: native BLAS kernels skipped (SIMVLM_NATIVE=0)");
  else {
    const r = buildNativeAddon(false);
    if (!r.ok)
      console.log(`simvlm: native BLAS kernels not built, using the wasm fast path: ${r.reason}`);
  }
  // The CUDA kernels (native/cuda/build.mjs decides whether this machine builds them).
  const { buildCudaAddon } = await import("./cuda/build.mjs");
  const c = await buildCudaAddon({ install: !process.argv.includes("--cuda") });
  if (!c.ok) console.log(`simvlm: CUDA kernels not built, the cuda backend is off: ${c.reason}`);
}
