/**
 * The AdamW update and gradient sums of squares as wasm kernels on native/adamw.c.
 *
 * Op by op, one AdamW update is about ten elementwise kernels per parameter (plus square and sum per
 * gradient for the global norm): over a model's ~150 parameters that is well over a thousand small
 * kernel calls per training step, each re-reading its operands. "SimvlmAdamW" does one parameter's
 * whole update in one pass; "SimvlmSumSquares" sums the squares of a list of tensors in one call.
 * lib/train/optimizer.ts uses them when the current backend has them (wasm with the native addon)
 * and otherwise keeps its op-by-op code (the cpu reference), which gives the same numbers.
 */
import { tf } from "./index.ts";
import { offset, type BlasAddon, type KernelArgs } from "./wasm-fast-native.ts";

export const ADAMW_KERNEL = "SimvlmAdamW";
export const SUM_SQUARES_KERNEL = "SimvlmSumSquares";

interface AdamWAddon {
  adamw(heap: Uint8Array, pOff: number, mOff: number, vOff: number, gOff: number, pOutOff: number, mOutOff: number, vOutOff: number, n: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, c1: number, c2: number, eps: number,
    decayFactor: number, lr: number, scale: number): void;
  sumSquares(heap: Uint8Array, xOff: number, n: number): number;
}

/** One AdamW update's scalars, as optimizer.ts computes them (JS numbers; the kernel rounds each to float32). */
export interface AdamWScalars {
  beta1: number; beta2: number; eps: number;
  /** Bias corrections 1 − β^t. */
  c1: number; c2: number;
  /** 1 − lr·wd for a decayed parameter, exactly 1 otherwise (then p is not multiplied at all). */
  decayFactor: number;
  lr: number;
  /** Clipping factor; exactly 1 means the gradient is used as it is. */
  scale: number;
}

function makeAdamWKernel(addon: AdamWAddon) {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const { backend, inputs } = args;
    const a = args.attrs as unknown as AdamWScalars;
    const p = inputs.p!, m = inputs.m!, v = inputs.v!, g = inputs.g!;
    const n = tf.util.sizeFromShape(p.shape);
    for (const [name, t] of [["p", p], ["m", m], ["v", v], ["g", g]] as const) {
      if (t.dtype !== "float32") throw new Error(`${ADAMW_KERNEL}: ${name} must be float32, got ${t.dtype}`);
      if (tf.util.sizeFromShape(t.shape) !== n) throw new Error(`${ADAMW_KERNEL}: ${name} has shape [${t.shape}], the parameter has [${p.shape}]`);
    }
    const pOut = backend.makeOutput(p.shape, "float32"), mOut = backend.makeOutput(p.shape, "float32"), vOut = backend.makeOutput(p.shape, "float32");
    if (n > 0) {
      // Read the heap after makeOutput: an allocation can grow (and replace) the wasm memory.
      addon.adamw(backend.wasm.HEAPU8, offset(backend, p), offset(backend, m), offset(backend, v), offset(backend, g),
        offset(backend, pOut), offset(backend, mOut), offset(backend, vOut), n,
        a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.c1, a.c2, a.eps, a.decayFactor, a.lr, a.scale);
    }
    return [pOut, mOut, vOut];
  };
}

/** Σ over the inputs (in order) of Σ x², accumulated in double; one float32 scalar out. */
function makeSumSquaresKernel(addon: AdamWAddon) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { backend } = args;
    const xs = Object.values(args.inputs) as tf.TensorInfo[];
    for (const x of xs) if (x.dtype !== "float32") throw new Error(`${SUM_SQUARES_KERNEL}: inputs must be float32, got ${x.dtype}`);
    let total = 0;
    for (const x of xs) { const n = tf.util.sizeFromShape(x.shape); if (n > 0) total += addon.sumSquares(backend.wasm.HEAPU8, offset(backend, x), n); }
    const out = backend.makeOutput([], "float32");
    new Float32Array(backend.wasm.HEAPU8.buffer, offset(backend, out), 1)[0] = total;
    return out;
  };
}

/** Registers this file's kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeAdamW(addon: BlasAddon, notes: string[]): void {
  const a = addon as unknown as Partial<AdamWAddon>;
  if (typeof a.adamw !== "function" || typeof a.sumSquares !== "function") {
    notes.push("native AdamW: the addon lacks adamw/sumSquares (rebuild with `node native/build.mjs`); the optimizer runs op by op");
    return;
  }
  const full = a as AdamWAddon;
  if (!tf.getKernel(ADAMW_KERNEL, "wasm")) {
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: "wasm", kernelFunc: makeAdamWKernel(full) as unknown as tf.KernelFunc });
  }
  if (!tf.getKernel(SUM_SQUARES_KERNEL, "wasm")) {
    tf.registerKernel({ kernelName: SUM_SQUARES_KERNEL, backendName: "wasm", kernelFunc: makeSumSquaresKernel(full) as unknown as tf.KernelFunc });
  }
  notes.push("native AdamW: one fused update kernel per parameter and one sum of squares for the gradient norm");
}

/** True when the current backend has the fused optimizer kernels (wasm with the native addon). */
export function fusedAdamWAvailable(): boolean {
  const backend = tf.getBackend();
  return Boolean(backend && tf.getKernel(ADAMW_KERNEL, backend) && tf.getKernel(SUM_SQUARES_KERNEL, backend));
}

/**
 * One fused AdamW update: returns [p', m', v'] (new tensors; the caller assigns them). Needs
 * fusedAdamWAvailable() and float32 operands of one size.
 */
export function fusedAdamWUpdate(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, s: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const out = tf.engine().runKernel(ADAMW_KERNEL, { p, m, v, g }, { ...s } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return [out[0]!, out[1]!, out[2]!];
}

/** Σ over `xs` of Σ x² as a float32 scalar (accumulated in double). Needs fusedAdamWAvailable(). */
export function fusedSumSquares(xs: tf.Tensor[]): tf.Scalar {
  if (xs.length === 0) return tf.scalar(0);
  return tf.engine().runKernel(SUM_SQUARES_KERNEL, xs as unknown as tf.NamedTensorMap, {}) as tf.Scalar;
}
