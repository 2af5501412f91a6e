/**
 * The AdamW update and gradient sums of squares as wasm kernels on native/adamw.c, for the ops in
 * ../fused-ops.ts (fusedAdamWUpdate, fusedSumSquares).
 *
 * Op by op, one AdamW update is about ten elementwise kernels per parameter (plus square and sum per
 * gradient for the global norm): over a model's ~150 parameters that is well over a thousand small
 * kernel calls per training step, each re-reading its operands. "SimvlmAdamW" does one parameter's
 * whole update in one pass; "SimvlmSumSquares" sums the squares of a list of tensors in one call.
 * lib/train/optimizer.ts uses them when the current backend has them (wasm with the native addon)
 * and otherwise keeps its op-by-op code (the cpu reference), which gives the same numbers.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hasFunctions, type NativeAddon, type WithFunctions } from "../native-addon.ts";
import { ADAMW_KERNEL, SUM_SQUARES_KERNEL, type AdamWScalars } from "../fused-ops.ts";
import { heapU8, offset, type KernelArgs } from "./heap.ts";

type AdamWAddon = WithFunctions<"adamw" | "sumSquares">;

function makeAdamWKernel(addon: AdamWAddon) {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const { backend, inputs } = args;
    const a = args.attrs as unknown as AdamWScalars;
    const p = inputs.p!,
      m = inputs.m!,
      v = inputs.v!,
      g = inputs.g!;
    const n = tf.util.sizeFromShape(p.shape);
    for (const [name, t] of [
      ["p", p],
      ["m", m],
      ["v", v],
      ["g", g],
    ] as const) {
      if (t.dtype !== "float32")
        throw new Error(`${ADAMW_KERNEL}: ${name} must be float32, got ${t.dtype}`);
      if (tf.util.sizeFromShape(t.shape) !== n)
        throw new Error(
          `${ADAMW_KERNEL}: ${name} has shape [${t.shape}], the parameter has [${p.shape}]`,
        );
    }
    const pOut = backend.makeOutput(p.shape, "float32"),
      mOut = backend.makeOutput(p.shape, "float32"),
      vOut = backend.makeOutput(p.shape, "float32");
    if (n > 0) {
      // Read the heap after makeOutput: an allocation can grow (and replace) the wasm memory.
      addon.adamw(
        heapU8(backend),
        offset(backend, p),
        offset(backend, m),
        offset(backend, v),
        offset(backend, g),
        offset(backend, pOut),
        offset(backend, mOut),
        offset(backend, vOut),
        n,
        a.beta1,
        1 - a.beta1,
        a.beta2,
        1 - a.beta2,
        a.c1,
        a.c2,
        a.eps,
        a.decayFactor,
        a.lr,
        a.scale,
      );
    }
    return [pOut, mOut, vOut];
  };
}

/** Σ over the inputs (in order) of Σ x², accumulated in double; one float32 scalar out. */
function makeSumSquaresKernel(addon: AdamWAddon) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { backend } = args;
    const xs = Object.values(args.inputs) as tf.TensorInfo[];
    for (const x of xs)
      if (x.dtype !== "float32")
        throw new Error(`${SUM_SQUARES_KERNEL}: inputs must be float32, got ${x.dtype}`);
    let total = 0;
    for (const x of xs) {
      const n = tf.util.sizeFromShape(x.shape);
      if (n > 0) total += addon.sumSquares(heapU8(backend), offset(backend, x), n);
    }
    const out = backend.makeOutput([], "float32");
    new Float32Array(heapU8(backend).buffer, offset(backend, out), 1)[0] = total;
    return out;
  };
}

/** Registers this file's kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeAdamW(addon: NativeAddon, notes: string[]): void {
  if (!hasFunctions(addon, ["adamw", "sumSquares"])) {
    notes.push(
      "native AdamW: the addon lacks adamw/sumSquares (rebuild with `node native/build.mjs`); the optimizer runs op by op",
    );
    return;
  }
  const full = addon;
  if (!tf.getKernel(ADAMW_KERNEL, "wasm")) {
    tf.registerKernel({
      kernelName: ADAMW_KERNEL,
      backendName: "wasm",
      kernelFunc: makeAdamWKernel(full) as unknown as tf.KernelFunc,
    });
  }
  if (!tf.getKernel(SUM_SQUARES_KERNEL, "wasm")) {
    tf.registerKernel({
      kernelName: SUM_SQUARES_KERNEL,
      backendName: "wasm",
      kernelFunc: makeSumSquaresKernel(full) as unknown as tf.KernelFunc,
    });
  }
  notes.push(
    "native AdamW: one fused update kernel per parameter and one sum of squares for the gradient norm",
  );
}
