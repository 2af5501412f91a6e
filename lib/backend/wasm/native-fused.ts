/**
 * Fused GELU and layer norm (forward and backward) as wasm kernels on native/fused.c, for the ops
 * fusedGelu / fusedLayerNorm (../fused-ops.ts).
 *
 * Composite, GELU is ~9 elementwise kernels forward and ~20 backward (Tanh alone is a slow scalar
 * loop on wasm), layer norm ~7 forward and ~20 backward; each fused kernel is one pass over the
 * data on the wasm heap.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hasFunctions, type NativeAddon, type WithFunctions } from "../native-addon.ts";
import {
  GELU_KERNEL,
  GELU_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  layerNormRows,
} from "../fused-ops.ts";
import { heapU8, offset, type KernelArgs, type TensorInfo } from "./heap.ts";

const FUNCTIONS = ["geluFwd", "geluBwd", "layerNormFwd", "layerNormBwd"] as const;
type FusedAddon = WithFunctions<(typeof FUNCTIONS)[number]>;
const size = (t: TensorInfo) => tf.util.sizeFromShape(t.shape);

function requireFloat32(kernel: string, inputs: Record<string, TensorInfo | undefined>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (!t) throw new Error(`${kernel}: missing input ${name}`);
    if (t.dtype !== "float32")
      throw new Error(`${kernel}: input ${name} must be float32, got ${t.dtype}`);
  }
}

function kernels(addon: FusedAddon): [string, (args: KernelArgs) => TensorInfo | TensorInfo[]][] {
  const gelu = ({ inputs, backend }: KernelArgs) => {
    requireFloat32(GELU_KERNEL, inputs);
    const x = inputs.x!;
    const y = backend.makeOutput([...x.shape], "float32");
    // Read the heap after makeOutput: an allocation can grow (and replace) the wasm memory.
    addon.geluFwd(heapU8(backend), offset(backend, x), offset(backend, y), size(x));
    return y;
  };
  const geluGrad = ({ inputs, backend }: KernelArgs) => {
    requireFloat32(GELU_GRAD_KERNEL, inputs);
    const x = inputs.x!,
      dy = inputs.dy!;
    if (size(dy) !== size(x))
      throw new Error(`${GELU_GRAD_KERNEL}: dy shape [${dy.shape}] does not match x [${x.shape}]`);
    const dx = backend.makeOutput([...x.shape], "float32");
    addon.geluBwd(
      heapU8(backend),
      offset(backend, x),
      offset(backend, dy),
      offset(backend, dx),
      size(x),
    );
    return dx;
  };
  const layerNorm = ({ inputs, backend, attrs }: KernelArgs) => {
    requireFloat32(LAYER_NORM_KERNEL, inputs);
    const x = inputs.x!,
      gamma = inputs.gamma!,
      beta = inputs.beta!;
    const [rows, d] = layerNormRows(LAYER_NORM_KERNEL, x, gamma, beta);
    const y = backend.makeOutput([...x.shape], "float32");
    const mean = backend.makeOutput([rows], "float32"),
      rstd = backend.makeOutput([rows], "float32");
    addon.layerNormFwd(
      heapU8(backend),
      offset(backend, x),
      offset(backend, gamma),
      offset(backend, beta),
      offset(backend, y),
      offset(backend, mean),
      offset(backend, rstd),
      rows,
      d,
      Number(attrs.eps),
    );
    return [y, mean, rstd];
  };
  const layerNormGrad = ({ inputs, backend }: KernelArgs) => {
    requireFloat32(LAYER_NORM_GRAD_KERNEL, inputs);
    const { dy, x, gamma, mean, rstd } = inputs as Record<string, TensorInfo>;
    const [rows, d] = layerNormRows(LAYER_NORM_GRAD_KERNEL, x!, gamma!, gamma!);
    if (size(dy!) !== rows * d || size(mean!) !== rows || size(rstd!) !== rows) {
      throw new Error(
        `${LAYER_NORM_GRAD_KERNEL}: dy [${dy!.shape}], mean [${mean!.shape}], rstd [${rstd!.shape}] do not match x [${x!.shape}]`,
      );
    }
    const dx = backend.makeOutput([...x!.shape], "float32");
    const dgamma = backend.makeOutput([d], "float32"),
      dbeta = backend.makeOutput([d], "float32");
    addon.layerNormBwd(
      heapU8(backend),
      offset(backend, x!),
      offset(backend, dy!),
      offset(backend, gamma!),
      offset(backend, mean!),
      offset(backend, rstd!),
      offset(backend, dx),
      offset(backend, dgamma),
      offset(backend, dbeta),
      rows,
      d,
    );
    return [dx, dgamma, dbeta];
  };
  return [
    [GELU_KERNEL, gelu],
    [GELU_GRAD_KERNEL, geluGrad],
    [LAYER_NORM_KERNEL, layerNorm],
    [LAYER_NORM_GRAD_KERNEL, layerNormGrad],
  ];
}

/** Registers this file's kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeFused(addon: NativeAddon, notes: string[]): void {
  if (!hasFunctions(addon, FUNCTIONS)) {
    notes.push("native fused GELU and layer norm: not in this addon build; composite kernels used");
    return;
  }
  for (const [kernelName, fn] of kernels(addon)) {
    if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: fn as unknown as tf.KernelFunc,
    });
  }
  notes.push("native fused GELU and layer norm (forward and backward) on the wasm heap");
}

/** The addon's tanh approximation on a plain heap (for accuracy tests); undefined when this build lacks it. */
export function nativeTanhApprox(
  addon: NativeAddon,
): ((heap: Uint8Array, xOff: number, yOff: number, n: number) => void) | undefined {
  return hasFunctions(addon, ["tanhApprox"]) ? addon.tanhApprox.bind(addon) : undefined;
}
