/**
 * Matrix products on cuBLAS: BatchMatMul and _FusedMatMul (+ bias and activation epilogue). The
 * transposes are cuBLAS arguments, batches one strided-batched call (stride 0 repeats a matrix for
 * every batch entry), and x·W with a 3-D x and a 2-D W is folded into one product with B·T rows.
 * Precision per the backend (SIMVLM_CUDA_MATMUL: fp32, tf32, bf16).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CudaBackend } from "../backend.ts";
import { ACT, BINARY, UNARY } from "../catalog.ts";
import { binary, castTo, fill, unary } from "./elementwise.ts";
import { copyStrided } from "./shape.ts";
import {
  broadcastStrides,
  kernel,
  size,
  stridesOf,
  type KernelArgs,
  type TensorInfo,
} from "./util.ts";

/** op(a)·op(b) over broadcast batch axes; float32 out. */
export function matmul(
  backend: CudaBackend,
  a0: TensorInfo,
  b0: TensorInfo,
  transA: boolean,
  transB: boolean,
): TensorInfo {
  const ra = a0.shape.length,
    rb = b0.shape.length;
  if (ra < 2 || rb < 2)
    throw new Error(
      `cuda BatchMatMul: operands must have rank ≥ 2, got [${a0.shape}] and [${b0.shape}]`,
    );
  const M = transA ? a0.shape[ra - 1]! : a0.shape[ra - 2]!,
    K = transA ? a0.shape[ra - 2]! : a0.shape[ra - 1]!;
  const Kb = transB ? b0.shape[rb - 1]! : b0.shape[rb - 2]!,
    N = transB ? b0.shape[rb - 2]! : b0.shape[rb - 1]!;
  if (K !== Kb) {
    throw new Error(
      `cuda BatchMatMul: inner dimensions differ: [${a0.shape}]${transA ? "ᵀ" : ""} x [${b0.shape}]${transB ? "ᵀ" : ""} (${K} vs ${Kb})`,
    );
  }
  const batchA = a0.shape.slice(0, -2),
    batchB = b0.shape.slice(0, -2);
  const batchShape = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
  const outShape = [...batchShape, M, N];
  if (size(outShape) === 0) return backend.makeTensorInfo(outShape, "float32");
  if (K === 0) return fill(backend, outShape, "float32", 0);
  const temps: TensorInfo[] = [];
  const f32 = (t: TensorInfo) => {
    if (t.dtype === "float32") return t;
    const c = castTo(backend, t, "float32");
    temps.push(c);
    return c;
  };
  let a = f32(a0),
    b = f32(b0);
  const nA = size(batchA),
    nB = size(batchB),
    nOut = size(batchShape);
  const y = backend.makeTensorInfo(outShape, "float32");
  const dev = backend.device,
    precision = backend.precision;
  if (nB === 1 && !transA && nA === nOut) {
    // [batch, M, K] · [K, N]: the batch's rows are one [batch·M, K] matrix.
    dev.gemm({
      batch: 1,
      M: nA * M,
      N,
      K,
      transA: false,
      transB,
      a: backend.ptr(a),
      strideA: 0,
      b: backend.ptr(b),
      strideB: 0,
      c: backend.ptr(y),
      strideC: 0,
      precision,
    });
  } else {
    if (!((nA === nOut || nA === 1) && (nB === nOut || nB === 1))) {
      // Batch axes broadcast against each other ([2, 1] with [1, 3]): materialise both.
      const expand = (t: TensorInfo) => {
        const shape = [...batchShape, ...t.shape.slice(-2)];
        const e = backend.makeTensorInfo(shape, "float32");
        copyStrided(
          backend,
          t,
          e,
          shape,
          broadcastStrides(t.shape, shape),
          stridesOf(shape),
          0,
          0,
          "BatchMatMul broadcast",
        );
        temps.push(e);
        return e;
      };
      if (nA !== nOut) a = expand(a);
      if (nB !== nOut) b = expand(b);
    }
    const sA = size(a.shape) === M * K ? 0 : M * K,
      sB = size(b.shape) === K * N ? 0 : K * N;
    dev.gemm({
      batch: nOut,
      M,
      N,
      K,
      transA,
      transB,
      a: backend.ptr(a),
      strideA: sA,
      b: backend.ptr(b),
      strideB: sB,
      c: backend.ptr(y),
      strideC: M * N,
      precision,
    });
  }
  for (const t of temps) backend.disposeIntermediate(t);
  return y;
}

kernel("BatchMatMul", ({ inputs, backend, attrs }: KernelArgs) =>
  matmul(backend, inputs.a!, inputs.b!, Boolean(attrs.transposeA), Boolean(attrs.transposeB)),
);

const ACTS: Record<string, number> = {
  linear: ACT.LINEAR,
  relu: ACT.RELU,
  relu6: ACT.RELU6,
  leakyrelu: ACT.LEAKYRELU,
  elu: ACT.ELU,
  sigmoid: ACT.SIGMOID,
};

kernel("_FusedMatMul", ({ inputs, backend, attrs }: KernelArgs) => {
  let y = matmul(
    backend,
    inputs.a!,
    inputs.b!,
    Boolean(attrs.transposeA),
    Boolean(attrs.transposeB),
  );
  const bias = inputs.bias,
    activation = String(attrs.activation ?? "linear");
  const N = y.shape[y.shape.length - 1]!,
    rows = size(y.shape) / N;
  const replace = (t: TensorInfo) => {
    backend.disposeIntermediate(y);
    y = t;
  };
  let biasPtr = 0;
  if (bias) {
    if (size(bias.shape) === N && bias.dtype === "float32") biasPtr = backend.ptr(bias);
    else replace(binary(backend, y, bias, BINARY.ADD, "_FusedMatMul bias"));
  }
  if (activation === "prelu") {
    if (biasPtr)
      backend.device.launch("biasAct", [backend.ptr(y), biasPtr, rows, N, ACT.LINEAR, 0]);
    const alpha = inputs.preluActivationWeights!;
    // prelu(x) = x where x ≥ 0, alpha·x elsewhere = relu(x) − alpha·relu(−x).
    const neg = unary(backend, y, UNARY.NEG),
      rn = unary(backend, neg, UNARY.RELU),
      scaled = binary(backend, rn, alpha, BINARY.MUL);
    const pos = unary(backend, y, UNARY.RELU);
    replace(binary(backend, pos, scaled, BINARY.SUB));
    for (const t of [neg, rn, scaled, pos]) backend.disposeIntermediate(t);
    return y;
  }
  const act = ACTS[activation];
  if (act === undefined)
    throw new Error(`cuda _FusedMatMul: activation "${activation}" is not supported`);
  if (biasPtr || act !== ACT.LINEAR)
    backend.device.launch("biasAct", [
      backend.ptr(y),
      biasPtr,
      rows,
      N,
      act,
      Number(attrs.leakyreluAlpha ?? 0.2),
    ]);
  return y;
});
