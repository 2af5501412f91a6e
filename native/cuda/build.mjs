// Builds native/build/simvlm_cuda.node (native/cuda/*: the CUDA kernels and the device interface of
// lib/backend/cuda) with nvcc. native/build.mjs calls it after the CPU addon; the cuda backend calls
// it on first use when the file is missing or older than a source here.
//
// Never fails an install. It builds only where it can and where it is worth it:
//   - nvcc must be found (NVCC, $CUDA_HOME/bin, /usr/local/cuda/bin, PATH) with Node's headers;
//   - at install time only on a machine with an NVIDIA driver (SIMVLM_CUDA_BUILD=1 builds anyway:
//     CI machines with the toolkit but no GPU then check that the sources compile);
//   - SIMVLM_CUDA=0 turns it off.
// Otherwise one line says why `cuda` is off. Nothing is downloaded: cuBLAS is loaded at run time
// from the CUDA toolkit or from the NVIDIA wheels PyTorch installs (see native/cuda/cublas.h).
//
// GPU architectures: SIMVLM_CUDA_ARCH ("90", "80;90", "native"); default sm_80 and sm_90 machine
// code plus compute_90 PTX, which newer GPUs compile when loading.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const CUDA_ADDON = join(here, "..", "build", "simvlm_cuda.node");
/** Every source and header here: the addon is rebuilt when one is newer than it. */
export const CUDA_SOURCES = readdirSync(here)
  .filter((f) => /\.(cu|cuh|cpp|h)$/.test(f))
  .sort()
  .map((f) => join(here, f));
const UNITS = CUDA_SOURCES.filter((f) => /\.(cu|cpp)$/.test(f));

export function cudaAddonIsCurrent(addon = CUDA_ADDON) {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  return CUDA_SOURCES.every((f) => statSync(f).mtimeMs <= built);
}

/** nvcc's path, or undefined. */
export function findNvcc(env = process.env, exists = existsSync) {
  const candidates = [
    env.NVCC,
    ...[env.CUDA_HOME, env.CUDA_PATH].filter(Boolean).map((d) => join(d, "bin", "nvcc")),
    "/usr/local/cuda/bin/nvcc",
    ...(env.PATH ?? "")
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, "nvcc")),
  ];
  return candidates.find((c) => c && exists(c));
}

/** Node's N-API headers (node_api.h): next to the running node, SIMVLM_NODE_INCLUDE, or the system's. */
export function nodeIncludeDir(env = process.env, exists = existsSync) {
  const candidates = [
    env.SIMVLM_NODE_INCLUDE,
    join(dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ];
  return candidates.find((d) => d && exists(join(d, "node_api.h")));
}

/** Whether this machine has an NVIDIA driver loaded (the cheap sign: its device files). */
export function nvidiaDriverPresent(exists = existsSync) {
  return exists("/proc/driver/nvidia/version") || exists("/dev/nvidiactl");
}

/** The nvcc -gencode flags for SIMVLM_CUDA_ARCH. */
export function archFlags(spec = "80;90") {
  if (spec.trim() === "native") return ["-arch=native"];
  const archs = spec
    .split(/[;, ]+/)
    .map((s) => s.replace(/^sm_/, "").trim())
    .filter(Boolean);
  if (!archs.length || archs.some((a) => !/^\d{2,3}[a-z]?$/.test(a)))
    throw new Error(`SIMVLM_CUDA_ARCH="${spec}": expected e.g. "90", "80;90" or "native"`);
  const top = archs[archs.length - 1].replace(/[a-z]$/, "");
  return [
    ...archs.flatMap((a) => ["-gencode", `arch=compute_${a},code=sm_${a}`]),
    "-gencode",
    `arch=compute_${top},code=compute_${top}`,
  ];
}

/**
 * Whether to build here, and how: { ok: true, nvcc, include, arch } or { ok: false, reason } (one
 * line). `install` is npm's prepare step: there a machine without a driver skips the build unless
 * SIMVLM_CUDA_BUILD=1.
 */
export function cudaBuildPlan({ env = process.env, exists = existsSync, install = false } = {}) {
  if (env.SIMVLM_CUDA === "0") return { ok: false, reason: "off (SIMVLM_CUDA=0)" };
  const nvcc = findNvcc(env, exists);
  if (!nvcc)
    return {
      ok: false,
      reason: "nvcc not found (install the CUDA toolkit, or set NVCC or CUDA_HOME)",
    };
  const include = nodeIncludeDir(env, exists);
  if (!include)
    return {
      ok: false,
      reason:
        "Node's headers (node_api.h) not found (an official Node build has them; Debian: libnode-dev; or set SIMVLM_NODE_INCLUDE)",
    };
  if (install && env.SIMVLM_CUDA_BUILD !== "1" && !nvidiaDriverPresent(exists)) {
    return {
      ok: false,
      reason: "no NVIDIA driver on this machine (SIMVLM_CUDA_BUILD=1 builds the kernels anyway)",
    };
  }
  let arch;
  try {
    arch = archFlags(env.SIMVLM_CUDA_ARCH || "80;90");
  } catch (e) {
    return { ok: false, reason: e.message };
  }
  return { ok: true, nvcc, include, arch };
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    p.stdout.on("data", (d) => {
      err += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("error", (e) => resolve({ ok: false, err: `${cmd}: ${e.message}` }));
    p.on("close", (code) => resolve({ ok: code === 0, err }));
  });
}

/** The first error line of nvcc's output (or its first line). */
function firstError(text) {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.find((l) => /error/i.test(l)) ?? lines[0] ?? "failed").slice(0, 300);
}

/**
 * Compile every unit (in parallel, `jobs` at a time) and link the addon; resolves { ok, seconds }
 * or { ok: false, reason }. `out` defaults to native/build/simvlm_cuda.node (written atomically).
 */
export async function buildCudaAddon({
  env = process.env,
  install = false,
  quiet = false,
  out = CUDA_ADDON,
  jobs = os.cpus().length,
} = {}) {
  const plan = cudaBuildPlan({ env, install });
  if (!plan.ok) return plan;
  const t0 = Date.now();
  const tmpDir = join(dirname(out), `.cuda-obj.${process.pid}`);
  mkdirSync(tmpDir, { recursive: true });
  const common = [
    "-O3",
    "-std=c++17",
    "-Xcompiler",
    "-fPIC",
    "-Xcompiler",
    "-fvisibility=hidden",
    `-I${plan.include}`,
    "-DNODE_GYP_MODULE_NAME=simvlm_cuda",
  ];
  const queue = [...UNITS];
  const objects = UNITS.map((u) =>
    join(
      tmpDir,
      u
        .split("/")
        .pop()
        .replace(/\.(cu|cpp)$/, ".o"),
    ),
  );
  let failure;
  const worker = async () => {
    for (let u = queue.shift(); u && !failure; u = queue.shift()) {
      const obj = join(
        tmpDir,
        u
          .split("/")
          .pop()
          .replace(/\.(cu|cpp)$/, ".o"),
      );
      const args = [...common, ...(u.endsWith(".cu") ? plan.arch : []), "-c", u, "-o", obj];
      const r = await run(plan.nvcc, args);
      if (!r.ok) failure = `${u.split("/").pop()}: ${firstError(r.err)}`;
    }
  };
  if (!quiet)
    console.log(`simvlm: compiling the CUDA kernels with ${plan.nvcc} (${UNITS.length} files)…`);
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, UNITS.length)) }, worker));
  const tmpOut = `${out}.${process.pid}.tmp`;
  if (!failure) {
    const link = await run(plan.nvcc, [
      "-shared",
      "--cudart",
      "static",
      ...plan.arch,
      ...objects,
      "-o",
      tmpOut,
      "-ldl",
      "-lpthread",
      "-lrt",
    ]);
    if (!link.ok) failure = `link: ${firstError(link.err)}`;
  }
  rmSync(tmpDir, { recursive: true, force: true });
  if (failure) {
    rmSync(tmpOut, { force: true });
    return { ok: false, reason: `build failed: ${failure}` };
  }
  mkdirSync(dirname(out), { recursive: true });
  renameSync(tmpOut, out);
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  if (!quiet) console.log(`simvlm: built the CUDA kernels (${out}, ${seconds} s)`);
  return { ok: true, seconds };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // `node native/cuda/build.mjs` builds now (wherever nvcc is); `--install` applies the install-time rule.
  const r = await buildCudaAddon({ install: process.argv.includes("--install") });
  if (!r.ok) console.log(`simvlm: CUDA kernels not built, the cuda backend is off: ${r.reason}`);
}
