/**
 * Fused operations that model and training code call, each one kernel (and one for its gradient)
 * where the current backend registered it, else `undefined` so the caller runs its composite tfjs
 * code (whose numbers, on the cpu backend, are the reference of the parity tests). The kernels are
 * found by name: the wasm backend registers them on the native addon (./wasm/native-*.ts); another
 * backend (CUDA: ./cuda/) registers the same names.
 */
import * as tf from "@tensorflow/tfjs-core";

export const GELU_KERNEL = "SimvlmGelu";
export const GELU_GRAD_KERNEL = "SimvlmGeluGrad";
export const LAYER_NORM_KERNEL = "SimvlmLayerNorm";
export const LAYER_NORM_GRAD_KERNEL = "SimvlmLayerNormGrad";
export const XENT_KERNEL = "SimvlmSoftmaxXent";
export const XENT_GRAD_KERNEL = "SimvlmSoftmaxXentGrad";
export const ADAMW_KERNEL = "SimvlmAdamW";
export const SUM_SQUARES_KERNEL = "SimvlmSumSquares";

/**
 * [rows, d] of a layer norm over the last axis of x (any backend's tensor info), checking that gamma
 * and beta are [d]; errors name the kernel. Shared by every backend that registers the fused kernels.
 */
export function layerNormRows(
  kernel: string,
  x: { shape: readonly number[] },
  gamma: { shape: readonly number[] },
  beta: { shape: readonly number[] },
): [number, number] {
  const d = x.shape[x.shape.length - 1] ?? 0;
  if (x.shape.length < 1 || d < 1)
    throw new Error(`${kernel}: x must have a non-empty last axis, got [${x.shape}]`);
  for (const [name, t] of [
    ["gamma", gamma],
    ["beta", beta],
  ] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== d)
      throw new Error(`${kernel}: ${name} must be [${d}], got [${t.shape}]`);
  }
  return [x.shape.reduce((a, b) => a * b, 1) / d, d];
}

/** Whether the current backend registered `kernel`. */
function hasKernel(kernel: string): boolean {
  const backend = tf.getBackend();
  return backend !== undefined && tf.getKernel(kernel, backend) !== undefined;
}

type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
type Save = (ts: tf.Tensor[]) => void;
type CustomGradFn = Parameters<typeof tf.customGrad>[0];
const run = (
  kernel: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, number> = {},
) => tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs);

// Built on first use, once a backend is active.
let geluOp: ((x: tf.Tensor) => tf.Tensor) | undefined;
const makeGeluOp = () =>
  tf.customGrad(((x: tf.Tensor, save: Save) => {
    save([x]);
    const gradFunc: GradFn = (dy, [xs]) => run(GELU_GRAD_KERNEL, { x: xs!, dy }) as tf.Tensor;
    return { value: run(GELU_KERNEL, { x }) as tf.Tensor, gradFunc };
  }) as unknown as CustomGradFn);

/**
 * GELU (tanh approximation) in one kernel with a one-kernel gradient, or undefined where the
 * current backend lacks the fused kernels or x is not float32 (the caller then uses the composite).
 */
export function fusedGelu<T extends tf.Tensor>(x: T): T | undefined {
  if (x.dtype !== "float32" || !hasKernel(GELU_KERNEL) || !hasKernel(GELU_GRAD_KERNEL))
    return undefined;
  geluOp ??= makeGeluOp();
  return geluOp(x) as T;
}

/**
 * Layer norm over the last axis of x [rows, d]: (x - mean)·rsqrt(var + eps)·gamma + beta with the
 * biased variance (tf.moments), in one kernel; its gradient (for x, gamma and beta) is one more.
 * Undefined where the kernels are missing, a dtype is not float32, or gamma/beta are not [d].
 */
export function fusedLayerNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): tf.Tensor2D | undefined {
  const d = x.shape[1];
  if (x.rank !== 2 || d < 1 || !(eps >= 0)) return undefined;
  if ([x, gamma, beta].some((t) => t.dtype !== "float32")) return undefined;
  if (gamma.rank !== 1 || gamma.shape[0] !== d || beta.rank !== 1 || beta.shape[0] !== d)
    return undefined;
  if (!hasKernel(LAYER_NORM_KERNEL) || !hasKernel(LAYER_NORM_GRAD_KERNEL)) return undefined;
  const op = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: Save) => {
    const [y, mean, rstd] = run(
      LAYER_NORM_KERNEL,
      { x: xi, gamma: g, beta: b },
      { eps },
    ) as tf.Tensor[];
    save([xi, g, mean!, rstd!]);
    // Grads for x, gamma, beta in input order.
    const gradFunc: GradFn = (dy, [xs, gs, ms, rs]) =>
      run(LAYER_NORM_GRAD_KERNEL, { dy, x: xs!, gamma: gs!, mean: ms!, rstd: rs! }) as tf.Tensor[];
    return { value: y!, gradFunc };
  }) as unknown as CustomGradFn);
  return op(x, gamma, beta) as tf.Tensor2D;
}

/**
 * −log softmax(logits)[target] per row: logits [R, V], targets [R] (any numeric dtype; a target
 * outside [0, V) gives loss 0 and no gradient, as tf.oneHot's all-zero row does). Returns undefined
 * where the fused kernel is not available for the current backend; the caller then composes it.
 */
export function fusedSoftmaxCrossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
): tf.Tensor1D | undefined {
  if (logits.dtype !== "float32" || !hasKernel(XENT_KERNEL) || !hasKernel(XENT_GRAD_KERNEL))
    return undefined;
  if (targets.shape[0] !== logits.shape[0]) {
    throw new Error(
      `softmax cross-entropy: targets have shape [${targets.shape}], logits [${logits.shape}] need [${logits.shape[0]}]`,
    );
  }
  return tf.tidy(() => {
    const t = targets.dtype === "int32" ? targets : tf.cast(targets, "int32");
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const [loss, lse] = tf
        .engine()
        .runKernel(XENT_KERNEL, { logits: x, targets: t }, {}) as tf.Tensor[];
      save([x, t, lse!]);
      return {
        value: loss!,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf
            .engine()
            .runKernel(
              XENT_GRAD_KERNEL,
              { logits: saved[0]!, targets: saved[1]!, lse: saved[2]!, dy },
              {},
            ) as tf.Tensor,
      };
    });
    return f(logits) as tf.Tensor1D;
  });
}

/** One AdamW update's scalars, as optimizer.ts computes them (JS numbers; the kernel rounds each to float32). */
export interface AdamWScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** Bias corrections 1 − β^t. */
  c1: number;
  c2: number;
  /** 1 − lr·wd for a decayed parameter, exactly 1 otherwise (then p is not multiplied at all). */
  decayFactor: number;
  lr: number;
  /** Clipping factor; exactly 1 means the gradient is used as it is. */
  scale: number;
}

/** True when the current backend has the fused optimizer kernels. */
export function fusedAdamWAvailable(): boolean {
  return hasKernel(ADAMW_KERNEL) && hasKernel(SUM_SQUARES_KERNEL);
}

/**
 * One fused AdamW update: returns [p', m', v'] (new tensors; the caller assigns them). Needs
 * fusedAdamWAvailable() and float32 operands of one size.
 */
export function fusedAdamWUpdate(
  p: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  s: AdamWScalars,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const out = tf
    .engine()
    .runKernel(ADAMW_KERNEL, { p, m, v, g }, { ...s } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return [out[0]!, out[1]!, out[2]!];
}

/** Σ over `xs` of Σ x² as a float32 scalar (accumulated in double). Needs fusedAdamWAvailable(). */
export function fusedSumSquares(xs: tf.Tensor[]): tf.Scalar {
  if (xs.length === 0) return tf.scalar(0);
  return tf
    .engine()
    .runKernel(SUM_SQUARES_KERNEL, xs as unknown as tf.NamedTensorMap, {}) as tf.Scalar;
}
