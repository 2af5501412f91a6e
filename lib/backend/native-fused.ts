/**
 * Fused GELU and layer norm (forward and backward) as wasm kernels on native/fused.c.
 *
 * Composite, GELU is ~9 elementwise kernels forward and ~20 backward (Tanh alone is a slow scalar
 * loop on wasm), layer norm ~7 forward and ~20 backward; each fused kernel is one pass over the
 * data on the wasm heap. The ops below use them only where the current backend has them (wasm with
 * the addon loaded) and the input is float32; otherwise they return undefined and the caller runs
 * the composite code (the cpu backend's result is the reference for the parity tests).
 */
import { tf } from "./index.ts";
import { offset, type BlasAddon, type KernelArgs } from "./wasm-fast-native.ts";

/** The functions native/fused.c exports (byte offsets into the heap; sizes in elements). */
interface FusedAddon {
  geluFwd(heap: Uint8Array, xOff: number, yOff: number, n: number): void;
  geluBwd(heap: Uint8Array, xOff: number, dyOff: number, dxOff: number, n: number): void;
  layerNormFwd(heap: Uint8Array, xOff: number, gammaOff: number, betaOff: number, yOff: number,
    meanOff: number, rstdOff: number, rows: number, d: number, eps: number): void;
  layerNormBwd(heap: Uint8Array, xOff: number, dyOff: number, gammaOff: number, meanOff: number, rstdOff: number,
    dxOff: number, dgammaOff: number, dbetaOff: number, rows: number, d: number): void;
  tanhApprox(heap: Uint8Array, xOff: number, yOff: number, n: number): void;
}

export const GELU_KERNEL = "SimvlmGelu";
export const GELU_GRAD_KERNEL = "SimvlmGeluGrad";
export const LAYER_NORM_KERNEL = "SimvlmLayerNorm";
export const LAYER_NORM_GRAD_KERNEL = "SimvlmLayerNormGrad";

type TensorInfo = tf.TensorInfo;
const size = (t: TensorInfo) => tf.util.sizeFromShape(t.shape);

function requireFloat32(kernel: string, inputs: Record<string, TensorInfo | undefined>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (!t) throw new Error(`${kernel}: missing input ${name}`);
    if (t.dtype !== "float32") throw new Error(`${kernel}: input ${name} must be float32, got ${t.dtype}`);
  }
}

function kernels(addon: FusedAddon): [string, (args: KernelArgs) => TensorInfo | TensorInfo[]][] {
  const gelu = ({ inputs, backend }: KernelArgs) => {
    requireFloat32(GELU_KERNEL, inputs);
    const x = inputs.x!;
    const y = backend.makeOutput([...x.shape], "float32");
    // Read the heap after makeOutput: an allocation can grow (and replace) the wasm memory.
    addon.geluFwd(backend.wasm.HEAPU8, offset(backend, x), offset(backend, y), size(x));
    return y;
  };
  const geluGrad = ({ inputs, backend }: KernelArgs) => {
    requireFloat32(GELU_GRAD_KERNEL, inputs);
    const x = inputs.x!, dy = inputs.dy!;
    if (size(dy) !== size(x)) throw new Error(`${GELU_GRAD_KERNEL}: dy shape [${dy.shape}] does not match x [${x.shape}]`);
    const dx = backend.makeOutput([...x.shape], "float32");
    addon.geluBwd(backend.wasm.HEAPU8, offset(backend, x), offset(backend, dy), offset(backend, dx), size(x));
    return dx;
  };
  const layerNorm = ({ inputs, backend, attrs }: KernelArgs) => {
    requireFloat32(LAYER_NORM_KERNEL, inputs);
    const x = inputs.x!, gamma = inputs.gamma!, beta = inputs.beta!;
    const [rows, d] = lnShape(LAYER_NORM_KERNEL, x, gamma, beta);
    const y = backend.makeOutput([...x.shape], "float32");
    const mean = backend.makeOutput([rows], "float32"), rstd = backend.makeOutput([rows], "float32");
    addon.layerNormFwd(backend.wasm.HEAPU8, offset(backend, x), offset(backend, gamma), offset(backend, beta),
      offset(backend, y), offset(backend, mean), offset(backend, rstd), rows, d, Number(attrs.eps));
    return [y, mean, rstd];
  };
  const layerNormGrad = ({ inputs, backend }: KernelArgs) => {
    requireFloat32(LAYER_NORM_GRAD_KERNEL, inputs);
    const { dy, x, gamma, mean, rstd } = inputs as Record<string, TensorInfo>;
    const [rows, d] = lnShape(LAYER_NORM_GRAD_KERNEL, x!, gamma!, gamma!);
    if (size(dy!) !== rows * d || size(mean!) !== rows || size(rstd!) !== rows) {
      throw new Error(`${LAYER_NORM_GRAD_KERNEL}: dy [${dy!.shape}], mean [${mean!.shape}], rstd [${rstd!.shape}] do not match x [${x!.shape}]`);
    }
    const dx = backend.makeOutput([...x!.shape], "float32");
    const dgamma = backend.makeOutput([d], "float32"), dbeta = backend.makeOutput([d], "float32");
    addon.layerNormBwd(backend.wasm.HEAPU8, offset(backend, x!), offset(backend, dy!), offset(backend, gamma!),
      offset(backend, mean!), offset(backend, rstd!), offset(backend, dx), offset(backend, dgamma), offset(backend, dbeta), rows, d);
    return [dx, dgamma, dbeta];
  };
  return [[GELU_KERNEL, gelu], [GELU_GRAD_KERNEL, geluGrad], [LAYER_NORM_KERNEL, layerNorm], [LAYER_NORM_GRAD_KERNEL, layerNormGrad]];
}

/** [rows, d] of a layer norm over the last axis of x, checking gamma and beta are [d]. */
function lnShape(kernel: string, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo): [number, number] {
  const d = x.shape[x.shape.length - 1] ?? 0;
  if (x.shape.length < 1 || d < 1) throw new Error(`${kernel}: x must have a non-empty last axis, got [${x.shape}]`);
  for (const [name, t] of [["gamma", gamma], ["beta", beta]] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== d) throw new Error(`${kernel}: ${name} must be [${d}], got [${t.shape}]`);
  }
  return [size(x) / d, d];
}

/** Registers this file's kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeFused(addon: BlasAddon, notes: string[]): void {
  const fused = addon as unknown as Partial<FusedAddon>;
  if (typeof fused.geluFwd !== "function" || typeof fused.layerNormBwd !== "function") {
    notes.push("native fused GELU and layer norm: not in this addon build; composite kernels used");
    return;
  }
  for (const [kernelName, fn] of kernels(fused as FusedAddon)) {
    if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc });
  }
  notes.push("native fused GELU and layer norm (forward and backward) on the wasm heap");
}

/** Whether the current backend has `kernel` (wasm with the addon loaded). */
function hasKernel(kernel: string): boolean {
  const backend = tf.getBackend();
  return backend !== undefined && tf.getKernel(kernel, backend) !== undefined;
}

type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
type Save = (ts: tf.Tensor[]) => void;
type CustomGradFn = Parameters<typeof tf.customGrad>[0];
const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}) =>
  tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs);

// Built on first use: this module is imported while ./index.ts (which provides tf) is still loading.
let geluOp: ((x: tf.Tensor) => tf.Tensor) | undefined;
const makeGeluOp = () => tf.customGrad(((x: tf.Tensor, save: Save) => {
  save([x]);
  const gradFunc: GradFn = (dy, [xs]) => run(GELU_GRAD_KERNEL, { x: xs!, dy }) as tf.Tensor;
  return { value: run(GELU_KERNEL, { x }) as tf.Tensor, gradFunc };
}) as unknown as CustomGradFn);

/**
 * GELU (tanh approximation) in one kernel with a one-kernel gradient, or undefined where the
 * current backend lacks the fused kernels or x is not float32 (the caller then uses the composite).
 */
export function fusedGelu<T extends tf.Tensor>(x: T): T | undefined {
  if (x.dtype !== "float32" || !hasKernel(GELU_KERNEL) || !hasKernel(GELU_GRAD_KERNEL)) return undefined;
  geluOp ??= makeGeluOp();
  return geluOp(x) as T;
}

/**
 * Layer norm over the last axis of x [rows, d]: (x - mean)·rsqrt(var + eps)·gamma + beta with the
 * biased variance (tf.moments), in one kernel; its gradient (for x, gamma and beta) is one more.
 * Undefined where the kernels are missing, a dtype is not float32, or gamma/beta are not [d].
 */
export function fusedLayerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D | undefined {
  const d = x.shape[1];
  if (x.rank !== 2 || d < 1 || !(eps >= 0)) return undefined;
  if ([x, gamma, beta].some((t) => t.dtype !== "float32")) return undefined;
  if (gamma.rank !== 1 || gamma.shape[0] !== d || beta.rank !== 1 || beta.shape[0] !== d) return undefined;
  if (!hasKernel(LAYER_NORM_KERNEL) || !hasKernel(LAYER_NORM_GRAD_KERNEL)) return undefined;
  const op = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: Save) => {
    const [y, mean, rstd] = run(LAYER_NORM_KERNEL, { x: xi, gamma: g, beta: b }, { eps }) as tf.Tensor[];
    save([xi, g, mean!, rstd!]);
    // Grads for x, gamma, beta in input order.
    const gradFunc: GradFn = (dy, [xs, gs, ms, rs]) =>
      run(LAYER_NORM_GRAD_KERNEL, { dy, x: xs!, gamma: gs!, mean: ms!, rstd: rs! }) as tf.Tensor[];
    return { value: y!, gradFunc };
  }) as unknown as CustomGradFn);
  return op(x, gamma, beta) as tf.Tensor2D;
}

/** The addon's tanh approximation on a plain heap (for accuracy tests); undefined without the addon. */
export function nativeTanhApprox(addon: BlasAddon): ((heap: Uint8Array, xOff: number, yOff: number, n: number) => void) | undefined {
  const f = (addon as unknown as Partial<FusedAddon>).tanhApprox;
  return typeof f === "function" ? f.bind(addon) : undefined;
}
