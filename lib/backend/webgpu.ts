/**
 * WebGPU through Dawn's Node binding (npm `webgpu`, binary inside the package, no download), with
 * @tensorflow/tfjs-backend-webgpu on top; only tried when SIMVLM_BACKEND=webgpu. On Linux Dawn
 * drives the GPU through Vulkan, so a machine needs a Vulkan driver (NVIDIA's ships one).
 * SIMVLM_WEBGPU_OPTIONS passes Dawn options, comma-separated (e.g. "backend=vulkan,adapter=NVIDIA H100").
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const importOptional = (name: string): Promise<{ [k: string]: unknown }> => import(name);

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number };
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

function installed(name: string): boolean {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function vulkanLoaderPresent(): boolean {
  const fs = require("node:fs") as typeof import("node:fs");
  const dirs = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    ...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean),
  ];
  return dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
}

/** Dawn's options from SIMVLM_WEBGPU_OPTIONS ("a=b,c=d" or "a=b;c=d"). */
export function webGpuOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.SIMVLM_WEBGPU_OPTIONS ?? "")
    .split(/[;,](?=[a-z-]+=)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function initWebGpu(
  activate: (name: string) => Promise<void>,
  notes: string[],
): Promise<{ tfBackend: string; threads: number }> {
  if (!installed("webgpu"))
    throw new Error(
      "the npm package `webgpu` (Dawn for Node) is not installed: npm install webgpu",
    );
  if (!installed("@tensorflow/tfjs-backend-webgpu"))
    throw new Error(
      "@tensorflow/tfjs-backend-webgpu is not installed: npm install @tensorflow/tfjs-backend-webgpu",
    );
  let dawn: { create?: unknown; globals?: unknown };
  try {
    dawn = await importOptional("webgpu");
  } catch (e) {
    throw new Error(
      `the webgpu package did not load (${e instanceof Error ? e.message.split("\n")[0] : e}); its prebuilt Dawn binary covers linux-x64/arm64, darwin and win32`,
    );
  }
  if (typeof dawn.create !== "function")
    throw new Error("the webgpu package has no create(): unsupported version");
  const opts = webGpuOptions();
  let gpu: GpuLike;
  try {
    gpu = (dawn.create as (o: string[]) => GpuLike)(opts);
  } catch (e) {
    throw new Error(
      `Dawn could not start${opts.length ? ` with options ${opts.join(",")}` : ""}: ${e instanceof Error ? e.message.split("\n")[0] : e}`,
    );
  }
  const adapter = await gpu
    .requestAdapter({ powerPreference: "high-performance" })
    .catch(() => null);
  if (!adapter) {
    if (process.platform === "linux" && !vulkanLoaderPresent()) {
      throw new Error(
        "Dawn found no GPU adapter: the Vulkan loader libvulkan.so.1 is missing (Debian: apt-get install libvulkan1; plus the GPU's Vulkan driver)",
      );
    }
    throw new Error(
      "Dawn found no GPU adapter (no Vulkan device: install the GPU's Vulkan driver, e.g. NVIDIA's, " +
        "check `vulkaninfo --summary`; SIMVLM_WEBGPU_OPTIONS=backend=vulkan,adapter=NAME picks one)",
    );
  }
  // tfjs-backend-webgpu registers itself at import time only if navigator.gpu exists.
  Object.assign(globalThis, dawn.globals ?? {});
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (g.navigator) Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true });
  else
    Object.defineProperty(globalThis, "navigator", {
      value: { gpu },
      configurable: true,
      writable: true,
    });
  await importOptional("@tensorflow/tfjs-backend-webgpu");
  await activate("webgpu");
  const i = adapter.info ?? {};
  notes.push(
    `WebGPU adapter: ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" / ") || "unnamed"}`,
  );
  return { tfBackend: "webgpu", threads: 1 };
}
