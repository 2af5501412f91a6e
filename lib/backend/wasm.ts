/**
 * The wasm backend, made able to train: stock tfjs-backend-wasm 4.22 lacks the kernels
 * UnsortedSegmentSum (gradient of gather), Conv2DBackpropFilter and Einsum; ./wasm-kernels.ts
 * registers them.
 */
import { registerWasmKernels } from "./wasm-kernels.ts";
import { registerWasmFastMatMul } from "./wasm-fast.ts";
import { registerNativeMatMul } from "./wasm-fast-native.ts";

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
  // OpenBLAS on the wasm heap when the addon builds/loads; else the wasm fast path stays.
  await registerNativeMatMul(notes);
  await activate("wasm");
  for (const l of process.listeners("uncaughtException")) {
    if (!before.uncaughtException.includes(l)) process.removeListener("uncaughtException", l);
  }
  for (const l of process.listeners("unhandledRejection")) {
    if (!before.unhandledRejection.includes(l)) process.removeListener("unhandledRejection", l);
  }
  return { tfBackend: "wasm", threads: wasm.getThreadsCount() };
}
