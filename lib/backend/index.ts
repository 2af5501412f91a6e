/**
 * Tensor backend choice. At first use we try, in order:
 *   cuda — our CUDA backend (./cuda/), where an NVIDIA GPU, its kernels and cuBLAS are all present
 *   gpu  — @tensorflow/tfjs-node-gpu, only if it loads and sees a CUDA device
 *   node — @tensorflow/tfjs-node (libtensorflow on the CPU)
 *   wasm — @tensorflow/tfjs-backend-wasm, plus our kernels in ./wasm/ so it trains, and fast
 *   cpu  — the pure-JS reference backend
 * `SIMVLM_BACKEND=cuda|gpu|node|webgpu|wasm|cpu` forces one; an unknown or unavailable name is an error
 * that lists the choices. `webgpu` (Dawn through the npm `webgpu` package) is only tried when forced.
 */
import * as tf from "@tensorflow/tfjs-core";
import { createRequire } from "node:module";
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import { registerTfGradients } from "./gradients.ts";
import { UserError } from "../errors.ts";

export { tf };

export const BACKEND_NAMES = ["cuda", "gpu", "node", "webgpu", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
const AUTO_ORDER: BackendName[] = ["cuda", "gpu", "node", "wasm", "cpu"];

export interface BackendInfo {
  /** Our name for the backend (cuda, gpu, node, webgpu, wasm, cpu). */
  name: BackendName;
  /** The name tfjs registered it under (cuda, tensorflow, webgpu, wasm, cpu). */
  tfBackend: string;
  threads: number;
  /** True when SIMVLM_BACKEND chose it. */
  forced: boolean;
  versions: Record<string, string>;
  /** Why each backend before the chosen one (or not chosen) was skipped. */
  skipped: { name: BackendName; reason: string }[];
  /** Extra notes from the chosen backend's setup (e.g. thread count, fast paths). */
  notes: string[];
}

export class BackendError extends UserError {}

const require = createRequire(import.meta.url);

/** Import an optional dependency by a computed name, so type-checking never requires it installed. */
const importOptional = (name: string): Promise<{ [k: string]: unknown }> => import(name);

function pkgVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function short(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const line = msg.split("\n").find((l) => l.trim()) ?? msg;
  return line.length > 200 ? line.slice(0, 197) + "..." : line;
}

type Attempt = (
  notes: string[],
) => Promise<{ tfBackend: string; threads: number; versions?: Record<string, string> }>;

async function activate(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend("${tfName}") returned false`);
  await tf.ready();
}

const attempts: Record<BackendName, Attempt> = {
  async cuda(notes) {
    // The device first (loader.ts is small): where there is no GPU, the kernel modules never load.
    const { openCudaDevice } = await import("./cuda/loader.ts");
    const device = await openCudaDevice();
    if (typeof device === "string") throw new Error(device);
    const { initCuda } = await import("./cuda/index.ts");
    return initCuda(activate, notes, device);
  },
  async gpu() {
    if (!pkgVersion("@tensorflow/tfjs-node-gpu"))
      throw new Error(
        "@tensorflow/tfjs-node-gpu is not installed (npm install @tensorflow/tfjs-node-gpu)",
      );
    try {
      await importOptional("@tensorflow/tfjs-node-gpu");
    } catch (e) {
      throw new Error(`@tensorflow/tfjs-node-gpu did not load: ${short(e)}`);
    }
    await activate("tensorflow");
    // libtensorflow falls back to the CPU silently when CUDA is missing, so loading proves nothing:
    // require a visible NVIDIA driver (see gpuVisible).
    if (!gpuVisible()) throw new Error("@tensorflow/tfjs-node-gpu loaded but sees no CUDA GPU");
    return { tfBackend: "tensorflow", threads: os.cpus().length };
  },
  async node() {
    if (!pkgVersion("@tensorflow/tfjs-node"))
      throw new Error(
        "@tensorflow/tfjs-node is not installed (its install step downloads libtensorflow; optional)",
      );
    try {
      await importOptional("@tensorflow/tfjs-node");
    } catch (e) {
      throw new Error(`@tensorflow/tfjs-node did not load: ${short(e)}`);
    }
    await activate("tensorflow");
    return { tfBackend: "tensorflow", threads: os.cpus().length };
  },
  async webgpu(notes) {
    const { initWebGpu } = await import("./webgpu.ts");
    return initWebGpu(activate, notes);
  },
  async wasm(notes) {
    const { initWasm } = await import("./wasm/index.ts");
    return initWasm(activate, notes);
  },
  async cpu() {
    // Production mode: skips tfjs's debug-time checks and its "install tfjs-node" banner (info shows the choice).
    tf.enableProdMode();
    await import("@tensorflow/tfjs-backend-cpu");
    await activate("cpu");
    return { tfBackend: "cpu", threads: 1 };
  },
};

function gpuVisible(): boolean {
  // tfjs-node-gpu exposes no device query; CUDA_VISIBLE_DEVICES="" or no driver means no GPU.
  if (process.env.CUDA_VISIBLE_DEVICES === "" || process.env.CUDA_VISIBLE_DEVICES === "-1")
    return false;
  return existsSync("/proc/driver/nvidia/version") || existsSync("/dev/nvidia0");
}

let current: Promise<BackendInfo> | undefined;

/** Parse SIMVLM_BACKEND; throws a BackendError listing valid choices for unknown names. */
export function requestedBackend(env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const raw = env.SIMVLM_BACKEND?.trim();
  if (!raw || raw === "auto") return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(raw)) return raw as BackendName;
  throw new BackendError(
    `SIMVLM_BACKEND="${raw}" is not a backend. Valid choices: ${BACKEND_NAMES.join(", ")} (or unset/auto for automatic choice).`,
  );
}

/** Choose and activate the tensor backend once per process; later calls return the same info. */
export function initBackend(opts: { backend?: BackendName } = {}): Promise<BackendInfo> {
  current ??= choose(opts.backend ?? requestedBackend());
  return current;
}

async function choose(forced: BackendName | undefined): Promise<BackendInfo> {
  const skipped: { name: BackendName; reason: string }[] = [];
  const order = forced ? [forced] : AUTO_ORDER;
  for (const name of order) {
    const notes: string[] = [];
    try {
      const { tfBackend, threads, versions: extra } = await attempts[name](notes);
      // tfjs-core alone registers no gradients (the umbrella package normally does); every backend needs them.
      registerTfGradients();
      if (!forced)
        for (const other of BACKEND_NAMES) {
          if (!AUTO_ORDER.includes(other))
            skipped.push({ name: other, reason: `only used when SIMVLM_BACKEND=${other}` });
        }
      return {
        name,
        tfBackend,
        threads,
        forced: Boolean(forced),
        versions: { ...versions(), ...extra },
        skipped,
        notes,
      };
    } catch (e) {
      if (forced) {
        throw new BackendError(
          `SIMVLM_BACKEND=${forced} is not available here: ${short(e)}. ` +
            `Available here: ${(await availableBackends()).join(", ") || "none"}. Valid choices: ${BACKEND_NAMES.join(", ")}.`,
        );
      }
      skipped.push({ name, reason: short(e) });
    }
  }
  throw new BackendError(
    `no tensor backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`,
  );
}

/** Which backends could load here (cheap checks only: package present). */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  // cuda needs the driver, and its kernels built or buildable (the full check is initCuda's).
  if (
    gpuVisible() &&
    (existsSync(new URL("../../native/build/simvlm_cuda.node", import.meta.url)) ||
      process.env.CUDA_HOME ||
      existsSync("/usr/local/cuda/bin/nvcc"))
  )
    out.push("cuda");
  if (pkgVersion("@tensorflow/tfjs-node-gpu") && gpuVisible()) out.push("gpu");
  if (pkgVersion("@tensorflow/tfjs-node")) {
    try {
      require.resolve("@tensorflow/tfjs-node");
      out.push("node");
    } catch {
      /* not loadable */
    }
  }
  // webgpu needs a Vulkan driver besides the packages: an installed ICD manifest is the cheap sign.
  if (pkgVersion("@tensorflow/tfjs-backend-webgpu") && pkgVersion("webgpu") && vulkanIcdPresent())
    out.push("webgpu");
  if (pkgVersion("@tensorflow/tfjs-backend-wasm")) out.push("wasm");
  out.push("cpu");
  return out;
}

function vulkanIcdPresent(): boolean {
  // An explicit driver list means the user points Vulkan at a driver: trust it.
  if (process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES) return true;
  return ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"].some(
    (d) => {
      try {
        return readdirSync(d).some((f) => f.endsWith(".json"));
      } catch {
        return false;
      }
    },
  );
}

function versions(): Record<string, string> {
  const v: Record<string, string> = {
    node: process.versions.node,
    simvlm: pkgVersion("simvlm") ?? "dev",
  };
  for (const p of [
    "@tensorflow/tfjs-core",
    "@tensorflow/tfjs-backend-cpu",
    "@tensorflow/tfjs-backend-wasm",
    "@tensorflow/tfjs-backend-webgpu",
    "@tensorflow/tfjs-node",
    "@tensorflow/tfjs-node-gpu",
  ]) {
    const ver = pkgVersion(p);
    if (ver) v[p] = ver;
  }
  return v;
}
