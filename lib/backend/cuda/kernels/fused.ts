/**
 * The fused kernels that lib/backend/fused-ops.ts and dropout.ts look up by name, on the CUDA
 * kernels of native/cuda/fused.cu: GELU and layer norm (each way), softmax cross-entropy (each way),
 * the AdamW update, the gradient sum of squares, and dropout masks from the counter-based hash of
 * dropout.ts — so one seed gives the same masks on cuda as on cpu and wasm.
 */
import {
  GELU_KERNEL,
  GELU_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  XENT_KERNEL,
  XENT_GRAD_KERNEL,
  ADAMW_KERNEL,
  SUM_SQUARES_KERNEL,
  type AdamWScalars,
  layerNormRows,
} from "../../fused-ops.ts";
import { DROPOUT_MASK_KERNEL, type MaskAttrs } from "../../dropout.ts";
import type { CudaBackend } from "../backend.ts";
import { REDUCE } from "../catalog.ts";
import { castTo } from "./elementwise.ts";
import { kernel, size, type KernelArgs, type TensorInfo } from "./util.ts";

function requireFloat32(
  name: string,
  inputs: Record<string, TensorInfo | undefined>,
): Record<string, TensorInfo> {
  for (const [k, t] of Object.entries(inputs)) {
    if (!t) throw new Error(`${name}: missing input ${k}`);
    if (t.dtype !== "float32")
      throw new Error(`${name}: input ${k} must be float32, got ${t.dtype}`);
  }
  return inputs as Record<string, TensorInfo>;
}

kernel(GELU_KERNEL, ({ inputs, backend }: KernelArgs) => {
  const { x } = requireFloat32(GELU_KERNEL, inputs);
  const y = backend.makeTensorInfo(x!.shape, "float32");
  backend.device.launch("gelu", [backend.ptr(x!), backend.ptr(y), size(x!.shape)]);
  return y;
});

kernel(GELU_GRAD_KERNEL, ({ inputs, backend }: KernelArgs) => {
  const { x, dy } = requireFloat32(GELU_GRAD_KERNEL, inputs);
  if (size(dy!.shape) !== size(x!.shape))
    throw new Error(`${GELU_GRAD_KERNEL}: dy shape [${dy!.shape}] does not match x [${x!.shape}]`);
  const dx = backend.makeTensorInfo(x!.shape, "float32");
  backend.device.launch("geluGrad", [
    backend.ptr(x!),
    backend.ptr(dy!),
    backend.ptr(dx),
    size(x!.shape),
  ]);
  return dx;
});

kernel(LAYER_NORM_KERNEL, ({ inputs, backend, attrs }: KernelArgs) => {
  const { x, gamma, beta } = requireFloat32(LAYER_NORM_KERNEL, inputs);
  const [rows, d] = layerNormRows(LAYER_NORM_KERNEL, x!, gamma!, beta!);
  const y = backend.makeTensorInfo(x!.shape, "float32"),
    mean = backend.makeTensorInfo([rows], "float32"),
    rstd = backend.makeTensorInfo([rows], "float32");
  backend.device.launch("layerNorm", [
    backend.ptr(x!),
    backend.ptr(gamma!),
    backend.ptr(beta!),
    backend.ptr(y),
    backend.ptr(mean),
    backend.ptr(rstd),
    rows,
    d,
    Number(attrs.eps),
  ]);
  return [y, mean, rstd];
});

kernel(LAYER_NORM_GRAD_KERNEL, ({ inputs, backend }: KernelArgs) => {
  const { dy, x, gamma, mean, rstd } = requireFloat32(LAYER_NORM_GRAD_KERNEL, inputs);
  const [rows, d] = layerNormRows(LAYER_NORM_GRAD_KERNEL, x!, gamma!, gamma!);
  if (size(dy!.shape) !== rows * d || size(mean!.shape) !== rows || size(rstd!.shape) !== rows) {
    throw new Error(
      `${LAYER_NORM_GRAD_KERNEL}: dy [${dy!.shape}], mean [${mean!.shape}], rstd [${rstd!.shape}] do not match x [${x!.shape}]`,
    );
  }
  const dev = backend.device;
  const dx = backend.makeTensorInfo(x!.shape, "float32"),
    dgamma = backend.makeTensorInfo([d], "float32"),
    dbeta = backend.makeTensorInfo([d], "float32");
  dev.launch("layerNormGradX", [
    backend.ptr(x!),
    backend.ptr(dy!),
    backend.ptr(gamma!),
    backend.ptr(mean!),
    backend.ptr(rstd!),
    backend.ptr(dx),
    rows,
    d,
  ]);
  // dgamma and dbeta: partial sums over chunks of rows, then one column sum each.
  const chunk = Math.max(64, Math.ceil(rows / 128)),
    nChunks = Math.ceil(rows / chunk);
  const pg = backend.makeTensorInfo([nChunks, d], "float32"),
    pb = backend.makeTensorInfo([nChunks, d], "float32");
  dev.launch("layerNormGradParams", [
    backend.ptr(x!),
    backend.ptr(dy!),
    backend.ptr(mean!),
    backend.ptr(rstd!),
    backend.ptr(pg),
    backend.ptr(pb),
    rows,
    d,
    chunk,
  ]);
  dev.launch("reduce", [
    REDUCE.SUM,
    0,
    backend.ptr(pg),
    backend.ptr(dgamma),
    1,
    nChunks,
    d,
    nChunks,
    1,
  ]);
  dev.launch("reduce", [
    REDUCE.SUM,
    0,
    backend.ptr(pb),
    backend.ptr(dbeta),
    1,
    nChunks,
    d,
    nChunks,
    1,
  ]);
  backend.disposeIntermediate(pg);
  backend.disposeIntermediate(pb);
  return [dx, dgamma, dbeta];
});

kernel(XENT_KERNEL, ({ inputs, backend }: KernelArgs) => {
  const x = inputs.logits!,
    t0 = inputs.targets!;
  if (x.dtype !== "float32" || x.shape.length !== 2)
    throw new Error(`${XENT_KERNEL}: logits must be float32 [R, V], got ${x.dtype} [${x.shape}]`);
  const [R, V] = x.shape as [number, number];
  const t = t0.dtype === "int32" ? t0 : castTo(backend, t0, "int32");
  const loss = backend.makeTensorInfo([R], "float32"),
    lse = backend.makeTensorInfo([R], "float32");
  if (R > 0)
    backend.device.launch("xent", [
      backend.ptr(x),
      backend.ptr(t),
      backend.ptr(loss),
      backend.ptr(lse),
      R,
      V,
    ]);
  if (t !== t0) backend.disposeIntermediate(t);
  return [loss, lse];
});

kernel(XENT_GRAD_KERNEL, ({ inputs, backend }: KernelArgs) => {
  const x = inputs.logits!,
    t0 = inputs.targets!,
    lse = inputs.lse!,
    dy = inputs.dy!;
  const [R, V] = x.shape as [number, number];
  const t = t0.dtype === "int32" ? t0 : castTo(backend, t0, "int32");
  const dx = backend.makeTensorInfo([R, V], "float32");
  if (R > 0)
    backend.device.launch("xentGrad", [
      backend.ptr(x),
      backend.ptr(t),
      backend.ptr(lse),
      backend.ptr(dy),
      backend.ptr(dx),
      R,
      V,
    ]);
  if (t !== t0) backend.disposeIntermediate(t);
  return dx;
});

kernel(ADAMW_KERNEL, ({ inputs, backend, attrs }: KernelArgs) => {
  const a = attrs as unknown as AdamWScalars;
  const { p, m, v, g } = requireFloat32(ADAMW_KERNEL, inputs);
  const n = size(p!.shape);
  for (const [name, t] of [
    ["m", m],
    ["v", v],
    ["g", g],
  ] as const) {
    if (size(t!.shape) !== n)
      throw new Error(
        `${ADAMW_KERNEL}: ${name} has shape [${t!.shape}], the parameter has [${p!.shape}]`,
      );
  }
  const pOut = backend.makeTensorInfo(p!.shape, "float32"),
    mOut = backend.makeTensorInfo(p!.shape, "float32"),
    vOut = backend.makeTensorInfo(p!.shape, "float32");
  if (n > 0) {
    backend.device.launch("adamw", [
      backend.ptr(p!),
      backend.ptr(m!),
      backend.ptr(v!),
      backend.ptr(g!),
      backend.ptr(pOut),
      backend.ptr(mOut),
      backend.ptr(vOut),
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
    ]);
  }
  return [pOut, mOut, vOut];
});

kernel(SUM_SQUARES_KERNEL, ({ inputs, backend }: KernelArgs) => {
  const xs = Object.values(inputs) as TensorInfo[];
  for (const x of xs)
    if (x.dtype !== "float32")
      throw new Error(`${SUM_SQUARES_KERNEL}: inputs must be float32, got ${x.dtype}`);
  const dev = backend.device;
  // One double accumulator on the device (8 bytes, zeroed as two int32 words), then rounded once.
  const acc = backend.tempBlock(8);
  dev.launch("fill", [acc.ptr, 2, 0, 1]);
  for (const x of xs)
    if (size(x.shape) > 0) dev.launch("sumSquares", [backend.ptr(x), size(x.shape), acc.ptr]);
  const out = backend.makeTensorInfo([], "float32");
  dev.launch("f64ToF32", [acc.ptr, backend.ptr(out), 1]);
  backend.releaseTemp(acc);
  return out;
});

kernel(DROPOUT_MASK_KERNEL, ({ backend, attrs }: KernelArgs) => {
  const a = attrs as unknown as MaskAttrs;
  const y = backend.makeTensorInfo(a.shape, "float32");
  const n = size(a.shape);
  if (n > 0)
    backend.device.launch("dropoutMask", [backend.ptr(y), n, a.key >>> 0, a.threshold, a.scale]);
  return y;
});
