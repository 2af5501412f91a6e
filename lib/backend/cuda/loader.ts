/**
 * Finding and opening the CUDA device: the addon (built by native/cuda/build.mjs, on first use when
 * missing or stale and nvcc is here), an NVIDIA driver and GPU (the addon's probe), and cuBLAS
 * (loaded at run time from the CUDA toolkit or from the NVIDIA wheels PyTorch installs). Each way
 * this can fail gives one line saying which piece is missing — what `simvlm info` prints.
 *
 * Environment: SIMVLM_CUDA=0 (off), SIMVLM_CUDA_DEVICE (index, default 0), SIMVLM_CUBLAS (path to
 * libcublas.so.N), SIMVLM_CUDA_SYNC=1 (wait after every kernel, so an error names its kernel).
 */
import { createRequire } from "node:module";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { NativeCudaDevice, toCudaError, type CudaAddon, type CudaDevice } from "./device.ts";

const require = createRequire(import.meta.url);

type CudaBuild = {
  CUDA_ADDON: string;
  cudaAddonIsCurrent(): boolean;
  cudaBuildPlan(o?: { install?: boolean }): { ok: boolean; reason?: string };
  nvidiaDriverPresent(): boolean;
  buildCudaAddon(o?: {
    quiet?: boolean;
  }): Promise<{ ok: boolean; reason?: string; seconds?: number }>;
};

/** Load the addon, building it first where it is missing or stale; the addon, or why not (one line). */
export async function loadCudaAddon(
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
): Promise<CudaAddon | string> {
  if (process.env.SIMVLM_CUDA === "0") return "off (SIMVLM_CUDA=0)";
  let build: CudaBuild;
  try {
    build = (await import("../../../native/cuda/build.mjs" as string)) as CudaBuild;
  } catch (e) {
    return `not built: native/cuda/build.mjs missing (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`;
  }
  if (!build.cudaAddonIsCurrent()) {
    if (!build.nvidiaDriverPresent())
      return `no NVIDIA driver, and the CUDA kernels are ${existsSync(build.CUDA_ADDON) ? "older than their sources" : "not built"}`;
    const plan = build.cudaBuildPlan();
    if (!plan.ok) {
      return existsSync(build.CUDA_ADDON)
        ? `the CUDA kernels are older than their sources and cannot be rebuilt here: ${plan.reason}`
        : `not built: ${plan.reason}`;
    }
    log("simvlm: compiling the CUDA kernels (first use; a minute or two)…");
    const r = await build.buildCudaAddon({ quiet: true });
    if (!r.ok) return r.reason!;
    log(`simvlm: built the CUDA kernels in ${r.seconds} s`);
  }
  try {
    return require(build.CUDA_ADDON) as CudaAddon;
  } catch (e) {
    return `build failed: the CUDA kernels did not load (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`;
  }
}

/**
 * Where libcublas may be: SIMVLM_CUBLAS, the loader's search path (by soname), the CUDA toolkit,
 * then the NVIDIA wheels (nvidia/cublas/lib, nvidia/cu13/lib) in the Python site folders.
 */
export function cublasCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (env.SIMVLM_CUBLAS) out.push(env.SIMVLM_CUBLAS);
  out.push("libcublas.so.13", "libcublas.so.12");
  const dirs = [env.CUDA_HOME, env.CUDA_PATH].filter(Boolean).map((d) => join(d!, "lib64"));
  dirs.push(
    "/usr/local/cuda/lib64",
    "/usr/local/cuda/targets/x86_64-linux/lib",
    "/usr/lib/x86_64-linux-gnu",
  );
  for (const d of [...dirs, ...pythonNvidiaLibDirs(env)]) {
    for (const name of ["libcublas.so.13", "libcublas.so.12", "libcublas.so"])
      if (existsSync(join(d, name))) out.push(join(d, name));
  }
  return [...new Set(out)];
}

let pyDirs: string[] | undefined;

/** nvidia/<pkg>/lib folders under the Python interpreter's site folders (where PyTorch's CUDA wheels put cuBLAS). */
function pythonNvidiaLibDirs(env: NodeJS.ProcessEnv): string[] {
  if (pyDirs) return pyDirs;
  pyDirs = [];
  const py = env.SIMVLM_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  const r = spawnSync(
    py,
    [
      "-c",
      "import site, sys; print('\\n'.join(sys.path + site.getsitepackages() + [site.getusersitepackages()]))",
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  const roots = r.status === 0 ? r.stdout.split("\n").filter(Boolean) : [];
  for (const root of new Set(roots)) {
    const nv = join(root, "nvidia");
    let pkgs: string[] = [];
    try {
      pkgs = readdirSync(nv);
    } catch {
      continue;
    }
    for (const p of pkgs) if (existsSync(join(nv, p, "lib"))) pyDirs.push(join(nv, p, "lib"));
  }
  return pyDirs;
}

export interface CudaProbe {
  driver: boolean;
  deviceCount: number;
  devices: string[];
  runtimeVersion: number;
  driverVersion: number;
  error?: string;
}

/** Why no GPU is usable, from the addon's probe (undefined when one is). */
export function probeReason(p: ReturnType<CudaAddon["probe"]>): string | undefined {
  if (p.driverVersion === 0)
    return `no NVIDIA driver (libcuda.so.1 not found; the CUDA runtime says ${p.error?.split(" ")[0] ?? "no driver"})`;
  if (p.error) return `no usable CUDA device: ${p.error}`;
  if (p.deviceCount === 0) return "no CUDA device";
  return undefined;
}

/** Open the device (the real GPU); the device, or why not. */
export async function openCudaDevice(): Promise<CudaDevice | string> {
  const addon = await loadCudaAddon();
  if (typeof addon === "string") return addon;
  const probe = addon.probe();
  const why = probeReason(probe);
  if (why) return why;
  const index = Number(process.env.SIMVLM_CUDA_DEVICE ?? 0);
  try {
    return new NativeCudaDevice(addon, {
      cublasPaths: cublasCandidates(),
      device: index,
      syncEach: process.env.SIMVLM_CUDA_SYNC === "1",
    });
  } catch (e) {
    const err = toCudaError(e);
    return /cuBLAS/.test(err.message) ? `no cuBLAS: ${err.message}` : err.message;
  }
}
