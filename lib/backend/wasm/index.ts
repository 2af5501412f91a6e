/**
 * The wasm backend (tfjs-backend-wasm), made able to train and fast. In registration order:
 *   extra-kernels.ts   the kernels stock wasm lacks for training (gather's and conv2d's gradients, Einsum)
 *   fast-matmul.ts     transposed and batched products routed to XNNPACK's fast case; zero-copy Identity
 *   native-*.ts        with the native addon (../native-addon.ts): OpenBLAS products, fused GELU, layer
 *                      norm, softmax cross-entropy, AdamW, dropout masks and row copies on the wasm heap
 * heap.ts holds what they share. Each layer falls back to the one before where it does not apply.
 */
import { loadNativeAddon } from "../native-addon.ts";
import { registerWasmKernels } from "./extra-kernels.ts";
import { registerWasmFastMatMul } from "./fast-matmul.ts";
import { registerNativeMatMul } from "./native-matmul.ts";
import { registerNativeFused } from "./native-fused.ts";
import { registerNativeAdamW } from "./native-adamw.ts";
import { registerNativeRows } from "./native-rows.ts";

export async function initWasm(activate: (name: string) => Promise<void>, notes: string[]) {
  // Emscripten's Node glue installs process-wide handlers that rethrow every uncaught exception and
  // unhandled rejection, which would turn a failing notebook cell into a dead kernel. Remove them.
  const before = {
    uncaughtException: process.listeners("uncaughtException"),
    unhandledRejection: process.listeners("unhandledRejection"),
  };
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  registerWasmKernels(notes);
  registerWasmFastMatMul(notes);
  // The native kernels when the addon builds and loads; else the wasm fast path stays.
  const addon = await loadNativeAddon();
  if (typeof addon === "string")
    notes.push(`native BLAS matmul ${addon}; matrix products stay on wasm`);
  else if (registerNativeMatMul(addon, notes)) {
    registerNativeFused(addon, notes);
    registerNativeAdamW(addon, notes);
    registerNativeRows(addon, notes);
  }
  await activate("wasm");
  for (const l of process.listeners("uncaughtException")) {
    if (!before.uncaughtException.includes(l)) process.removeListener("uncaughtException", l);
  }
  for (const l of process.listeners("unhandledRejection")) {
    if (!before.unhandledRejection.includes(l)) process.removeListener("unhandledRejection", l);
  }
  return { tfBackend: "wasm", threads: wasm.getThreadsCount() };
}
