/**
 * Elementwise kernels: unary math, binary math and comparisons (with broadcasting), Select, Cast,
 * fills, AddN, and the zero-copy Identity / Reshape. A binary op with a one-element operand whose
 * value is known on the host (tf.mul(x, 0.5): the 0.5) passes it as an immediate, so no upload.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CudaBackend } from "../backend.ts";
import { BINARY, BOOL_BINARY, BOOL_UNARY, INT_UNARY, UNARY } from "../catalog.ts";
import {
  broadcastStrides,
  collapse,
  input,
  kernel,
  pad8,
  reshapeInfo,
  size,
  type KernelArgs,
  type TensorInfo,
} from "./util.ts";

const code = CudaBackend.dtypeCode;

/** Cast to another dtype (a new tensor; the same data when the dtype already matches). */
export function castTo(backend: CudaBackend, x: TensorInfo, dtype: tf.DataType): TensorInfo {
  if (x.dtype === dtype) return reshapeInfo(backend, x, x.shape);
  const y = backend.makeTensorInfo(x.shape, dtype);
  backend.device.launch("cast", [
    backend.ptr(x),
    backend.ptr(y),
    size(x.shape),
    CudaBackend.castCode(x.dtype),
    CudaBackend.castCode(dtype),
  ]);
  return y;
}

export function fill(
  backend: CudaBackend,
  shape: number[],
  dtype: tf.DataType,
  value: number,
): TensorInfo {
  const y = backend.makeTensorInfo(shape, dtype);
  if (size(shape) > 0)
    backend.device.launch("fill", [
      backend.ptr(y),
      size(shape),
      dtype === "bool" ? Number(value !== 0) : value,
      code(dtype),
    ]);
  return y;
}

// ---------------------------------------------------------------------------------- unary

export function unary(backend: CudaBackend, x: TensorInfo, op: number, alpha = 0): TensorInfo {
  let src = x;
  if (x.dtype !== "float32" && !INT_UNARY.has(op)) src = castTo(backend, x, "float32");
  const outDtype: tf.DataType = BOOL_UNARY.has(op) ? "bool" : src.dtype;
  const y = backend.makeTensorInfo(x.shape, outDtype);
  const n = size(x.shape);
  if (n > 0)
    backend.device.launch("unary", [
      op,
      code(src.dtype),
      backend.ptr(src),
      backend.ptr(y),
      n,
      alpha,
    ]);
  if (src !== x) backend.disposeIntermediate(src);
  return y;
}

const UNARY_KERNELS: [string, number][] = [
  ["Neg", UNARY.NEG],
  ["Abs", UNARY.ABS],
  ["Exp", UNARY.EXP],
  ["Log", UNARY.LOG],
  ["Sqrt", UNARY.SQRT],
  ["Rsqrt", UNARY.RSQRT],
  ["Square", UNARY.SQUARE],
  ["Tanh", UNARY.TANH],
  ["Sigmoid", UNARY.SIGMOID],
  ["Relu", UNARY.RELU],
  ["Erf", UNARY.ERF],
  ["Sin", UNARY.SIN],
  ["Cos", UNARY.COS],
  ["Floor", UNARY.FLOOR],
  ["Ceil", UNARY.CEIL],
  ["Round", UNARY.ROUND],
  ["Sign", UNARY.SIGN],
  ["Reciprocal", UNARY.RECIPROCAL],
  ["Log1p", UNARY.LOG1P],
  ["Expm1", UNARY.EXPM1],
  ["IsNan", UNARY.ISNAN],
  ["Elu", UNARY.ELU],
  ["Relu6", UNARY.RELU6],
  ["LogicalNot", UNARY.LOGICAL_NOT],
  ["IsInf", UNARY.ISINF],
  ["IsFinite", UNARY.ISFINITE],
];
for (const [name, op] of UNARY_KERNELS)
  kernel(name, (a) => unary(a.backend, input(a, "x", name), op));
kernel("Step", (a) =>
  unary(a.backend, input(a, "x", "Step"), UNARY.STEP, Number(a.attrs.alpha ?? 0)),
);
kernel("LeakyRelu", (a) =>
  unary(a.backend, input(a, "x", "LeakyRelu"), UNARY.LEAKYRELU, Number(a.attrs.alpha ?? 0.2)),
);

// ---------------------------------------------------------------------------------- binary

function resultDtype(
  op: number,
  a: tf.DataType,
  b: tf.DataType,
): { compute: tf.DataType; out: tf.DataType } {
  let compute = tf.upcastType(a, b);
  if (compute === "bool") compute = "int32";
  if (BOOL_BINARY.has(op)) return { compute, out: "bool" };
  if (op === BINARY.DIV || op === BINARY.ATAN2) return { compute, out: "float32" };
  return { compute, out: compute };
}

/** shape [n] and unit strides for both operands, as binary's 24 stride arguments (n filled in per call). */
const FLAT_TAIL = [...new Array(7).fill(0), 1, ...new Array(7).fill(0), 1, ...new Array(7).fill(0)];

/** y = op(a, b) with tfjs broadcasting. */
export function binary(
  backend: CudaBackend,
  a: TensorInfo,
  b: TensorInfo,
  op: number,
  name = "binary op",
): TensorInfo {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const { compute, out } = resultDtype(op, a.dtype, b.dtype);
  const n = size(outShape);
  const y = backend.makeTensorInfo(outShape, out);
  if (n === 0) return y;
  const dev = backend.device,
    dt = code(compute);
  // A known one-element operand of the compute dtype: pass it by value.
  const sb = b.dtype === compute || b.dtype === "bool" ? backend.scalarValue(b) : undefined;
  const sa = a.dtype === compute || a.dtype === "bool" ? backend.scalarValue(a) : undefined;
  const ca = a.dtype === compute ? a : castTo(backend, a, compute);
  const cb = b.dtype === compute ? b : castTo(backend, b, compute);
  try {
    if (sb !== undefined && size(a.shape) === n)
      dev.launch("binaryScalar", [op, dt, backend.ptr(ca), sb, backend.ptr(y), n, 0]);
    else if (sa !== undefined && size(b.shape) === n)
      dev.launch("binaryScalar", [op, dt, backend.ptr(cb), sa, backend.ptr(y), n, 1]);
    else if (tf.util.arraysEqual(a.shape, b.shape)) {
      // Same shapes (most calls): one flat loop, no stride arithmetic.
      dev.launch("binary", [
        op,
        dt,
        backend.ptr(ca),
        backend.ptr(cb),
        backend.ptr(y),
        n,
        1,
        n,
        ...FLAT_TAIL,
      ]);
    } else {
      const c = collapse(outShape, [
        broadcastStrides(a.shape, outShape),
        broadcastStrides(b.shape, outShape),
      ]);
      dev.launch("binary", [
        op,
        dt,
        backend.ptr(ca),
        backend.ptr(cb),
        backend.ptr(y),
        n,
        c.shape.length,
        ...pad8(c.shape, name),
        ...pad8(c.strides[0]!, name),
        ...pad8(c.strides[1]!, name),
      ]);
    }
  } finally {
    if (ca !== a) backend.disposeIntermediate(ca);
    if (cb !== b) backend.disposeIntermediate(cb);
  }
  return y;
}

const BINARY_KERNELS: [string, number][] = [
  ["Add", BINARY.ADD],
  ["Sub", BINARY.SUB],
  ["Multiply", BINARY.MUL],
  ["RealDiv", BINARY.DIV],
  ["Maximum", BINARY.MAX],
  ["Minimum", BINARY.MIN],
  ["Pow", BINARY.POW],
  ["SquaredDifference", BINARY.SQDIFF],
  ["FloorDiv", BINARY.FLOORDIV],
  ["Mod", BINARY.MOD],
  ["Equal", BINARY.EQ],
  ["NotEqual", BINARY.NE],
  ["Less", BINARY.LT],
  ["LessEqual", BINARY.LE],
  ["Greater", BINARY.GT],
  ["GreaterEqual", BINARY.GE],
  ["LogicalAnd", BINARY.AND],
  ["LogicalOr", BINARY.OR],
  ["Atan2", BINARY.ATAN2],
];
for (const [name, op] of BINARY_KERNELS)
  kernel(name, (a) => binary(a.backend, input(a, "a", name), input(a, "b", name), op, name));

// ---------------------------------------------------------------------------------- select, cast, fills

kernel("Select", ({ inputs, backend }: KernelArgs) => {
  const c = inputs.condition!,
    t = inputs.t!,
    e = inputs.e!;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(t.shape, e.shape);
  // tf.where's rank-1 condition picks whole rows of a higher-rank t / e.
  const cStrides =
    c.shape.length === 1 && outShape.length > 1 && c.shape[0] === outShape[0]
      ? outShape.map((_, i) => (i === 0 ? 1 : 0))
      : broadcastStrides(c.shape, outShape);
  const dtype = tf.upcastType(t.dtype, e.dtype);
  const ct = t.dtype === dtype ? t : castTo(backend, t, dtype),
    ce = e.dtype === dtype ? e : castTo(backend, e, dtype);
  const y = backend.makeTensorInfo(outShape, dtype);
  const n = size(outShape);
  if (n > 0) {
    const k = collapse(outShape, [
      cStrides,
      broadcastStrides(t.shape, outShape),
      broadcastStrides(e.shape, outShape),
    ]);
    backend.device.launch("select", [
      backend.ptr(c),
      backend.ptr(ct),
      backend.ptr(ce),
      backend.ptr(y),
      n,
      k.shape.length,
      ...pad8(k.shape, "Select"),
      ...pad8(k.strides[0]!, "Select"),
      ...pad8(k.strides[1]!, "Select"),
      ...pad8(k.strides[2]!, "Select"),
    ]);
  }
  if (ct !== t) backend.disposeIntermediate(ct);
  if (ce !== e) backend.disposeIntermediate(ce);
  return y;
});

kernel("Cast", ({ inputs, backend, attrs }: KernelArgs) =>
  castTo(backend, inputs.x!, attrs.dtype as tf.DataType),
);

kernel("Fill", ({ backend, attrs }: KernelArgs) =>
  fill(
    backend,
    attrs.shape as number[],
    (attrs.dtype as tf.DataType) ?? "float32",
    Number(attrs.value),
  ),
);
kernel("ZerosLike", ({ inputs, backend }: KernelArgs) =>
  fill(backend, inputs.x!.shape, inputs.x!.dtype, 0),
);
kernel("OnesLike", ({ inputs, backend }: KernelArgs) =>
  fill(backend, inputs.x!.shape, inputs.x!.dtype, 1),
);

kernel("Identity", ({ inputs, backend }: KernelArgs) =>
  reshapeInfo(backend, inputs.x!, inputs.x!.shape),
);

kernel("Reshape", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!;
  const shape = tf.util.inferFromImplicitShape(attrs.shape as number[], size(x.shape));
  if (size(shape) !== size(x.shape))
    throw new Error(
      `cuda Reshape: the new shape [${shape}] has ${size(shape)} elements, the old [${x.shape}] ${size(x.shape)}`,
    );
  return reshapeInfo(backend, x, shape);
});

/** y = op(x, s) for a JS number s (float32 x). */
function withScalar(
  backend: CudaBackend,
  x: TensorInfo,
  op: number,
  s: number,
  out: tf.DataType = x.dtype,
): TensorInfo {
  const y = backend.makeTensorInfo(x.shape, out);
  if (size(x.shape) > 0)
    backend.device.launch("binaryScalar", [
      op,
      code(x.dtype),
      backend.ptr(x),
      s,
      backend.ptr(y),
      size(x.shape),
      0,
    ]);
  return y;
}

// ELU's gradient from its output y: dy · (y < 0 ? y + 1 : 1).
kernel("EluGrad", ({ inputs, backend }: KernelArgs) => {
  const dy = inputs.dy!,
    y = inputs.y!;
  const neg = withScalar(backend, y, BINARY.LT, 0, "bool"),
    yp1 = withScalar(backend, y, BINARY.ADD, 1),
    one = fill(backend, y.shape, "float32", 1);
  const slope = backend.makeTensorInfo(y.shape, "float32");
  const n = size(y.shape);
  if (n > 0)
    backend.device.launch("select", [
      backend.ptr(neg),
      backend.ptr(yp1),
      backend.ptr(one),
      backend.ptr(slope),
      n,
      1,
      n,
      ...new Array(7).fill(0),
      1,
      ...new Array(7).fill(0),
      1,
      ...new Array(7).fill(0),
      1,
      ...new Array(7).fill(0),
    ]);
  const dx = binary(backend, dy, slope, BINARY.MUL, "EluGrad");
  for (const t of [neg, yp1, one, slope]) backend.disposeIntermediate(t);
  return dx;
});

// A range is made on the host (as the cpu backend does) and uploaded when used.
kernel("Range", ({ backend, attrs }: KernelArgs) => {
  const start = Number(attrs.start),
    stop = Number(attrs.stop),
    step = Number(attrs.step),
    dtype = (attrs.dtype as tf.DataType) ?? "float32";
  const n = start === stop ? 0 : Math.max(0, Math.ceil(Math.abs((stop - start) / step)));
  const values = dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return backend.makeHostTensorInfo(values, [n], dtype);
});

kernel("AddN", ({ inputs, backend }: KernelArgs) => {
  const xs = Object.values(inputs) as TensorInfo[];
  const first = xs[0]!;
  const n = size(first.shape);
  for (const t of xs)
    if (!tf.util.arraysEqual(t.shape, first.shape))
      throw new Error(`cuda AddN: shapes differ: [${first.shape}] and [${t.shape}]`);
  const y = backend.makeTensorInfo(first.shape, first.dtype);
  if (n === 0) return y;
  // Eight at a time; later groups add onto y.
  for (let i = 0; i < xs.length; i += i === 0 ? 8 : 7) {
    const group = i === 0 ? xs.slice(0, 8) : [y, ...xs.slice(i, i + 7)];
    const ptrs = group.map((t) => (t === y ? backend.ptr(y) : backend.ptr(t)));
    backend.device.launch("addN", [
      backend.ptr(y),
      n,
      code(first.dtype),
      ptrs.length,
      ...ptrs,
      ...new Array(8 - ptrs.length).fill(0),
    ]);
  }
  return y;
});
