/**
 * Conv2D and its two gradients (NHWC) as cuBLAS products over im2col columns: the forward pass is
 * cols[B·oh·ow, kh·kw·Cin] · W[kh·kw·Cin, Cout]; the filter gradient colsᵀ · dy; the input gradient
 * col2im(dy · Wᵀ). A 1×1 stride-1 unpadded convolution skips im2col (the input already is cols).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CudaBackend } from "../backend.ts";
import { castTo } from "./elementwise.ts";
import { kernel, size, type KernelArgs, type TensorInfo } from "./util.ts";

type Info = tf.backend_util.Conv2DInfo;

function convInfo(
  name: string,
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
): Info {
  const format = String(attrs.dataFormat ?? "NHWC");
  if (format !== "NHWC")
    throw new Error(`cuda ${name}: dataFormat ${format} is not supported (NHWC only)`);
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations as [number, number]) ?? 1,
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
    false,
    "channelsLast",
  );
}

/** im2col's 14 geometry arguments. */
const geometry = (c: Info) => [
  c.batchSize,
  c.inHeight,
  c.inWidth,
  c.inChannels,
  c.filterHeight,
  c.filterWidth,
  c.strideHeight,
  c.strideWidth,
  c.dilationHeight,
  c.dilationWidth,
  c.padInfo.top,
  c.padInfo.left,
  c.outHeight,
  c.outWidth,
];

const isPointwise = (c: Info) =>
  c.filterHeight === 1 &&
  c.filterWidth === 1 &&
  c.strideHeight === 1 &&
  c.strideWidth === 1 &&
  c.padInfo.top === 0 &&
  c.padInfo.left === 0 &&
  c.outHeight === c.inHeight &&
  c.outWidth === c.inWidth;

/** The receptive-field rows of x, [B·oh·ow, kh·kw·Cin] (x itself for a pointwise convolution). */
function columns(backend: CudaBackend, x: TensorInfo, c: Info): TensorInfo {
  if (isPointwise(c)) {
    backend.incRef(x.dataId);
    return { ...x };
  }
  const K = c.filterHeight * c.filterWidth * c.inChannels;
  const cols = backend.makeTensorInfo([c.batchSize * c.outHeight * c.outWidth, K], "float32");
  backend.device.launch("im2col", [backend.ptr(x), backend.ptr(cols), ...geometry(c)]);
  return cols;
}

function f32(backend: CudaBackend, t: TensorInfo, temps: TensorInfo[]): TensorInfo {
  if (t.dtype === "float32") return t;
  const c = castTo(backend, t, "float32");
  temps.push(c);
  return c;
}

kernel("Conv2D", ({ inputs, backend, attrs }: KernelArgs) => {
  const temps: TensorInfo[] = [];
  const x = f32(backend, inputs.x!, temps),
    filter = f32(backend, inputs.filter!, temps);
  const c = convInfo("Conv2D", x.shape, filter.shape, attrs);
  const y = backend.makeTensorInfo(c.outShape, "float32");
  if (size(c.outShape) > 0) {
    const cols = columns(backend, x, c);
    const rows = c.batchSize * c.outHeight * c.outWidth,
      K = c.filterHeight * c.filterWidth * c.inChannels;
    backend.device.gemm({
      batch: 1,
      M: rows,
      N: c.outChannels,
      K,
      transA: false,
      transB: false,
      a: backend.ptr(cols),
      strideA: 0,
      b: backend.ptr(filter),
      strideB: 0,
      c: backend.ptr(y),
      strideC: 0,
      precision: backend.precision,
    });
    backend.disposeIntermediate(cols);
  }
  for (const t of temps) backend.disposeIntermediate(t);
  return y;
});

kernel("Conv2DBackpropFilter", ({ inputs, backend, attrs }: KernelArgs) => {
  const temps: TensorInfo[] = [];
  const x = f32(backend, inputs.x!, temps),
    dy = f32(backend, inputs.dy!, temps);
  const filterShape = attrs.filterShape as number[];
  const c = convInfo("Conv2DBackpropFilter", x.shape, filterShape, { ...attrs, dilations: 1 });
  const dw = backend.makeTensorInfo(filterShape, "float32");
  const rows = c.batchSize * c.outHeight * c.outWidth,
    K = c.filterHeight * c.filterWidth * c.inChannels;
  if (rows === 0) backend.device.launch("fill", [backend.ptr(dw), size(filterShape), 0, 0]);
  else if (size(filterShape) > 0) {
    const cols = columns(backend, x, c);
    // dW[K, Cout] = colsᵀ[K, rows] · dy[rows, Cout]
    backend.device.gemm({
      batch: 1,
      M: K,
      N: c.outChannels,
      K: rows,
      transA: true,
      transB: false,
      a: backend.ptr(cols),
      strideA: 0,
      b: backend.ptr(dy),
      strideB: 0,
      c: backend.ptr(dw),
      strideC: 0,
      precision: backend.precision,
    });
    backend.disposeIntermediate(cols);
  }
  for (const t of temps) backend.disposeIntermediate(t);
  return dw;
});

kernel("Conv2DBackpropInput", ({ inputs, backend, attrs }: KernelArgs) => {
  const temps: TensorInfo[] = [];
  const dy = f32(backend, inputs.dy!, temps),
    filter = f32(backend, inputs.filter!, temps);
  const inputShape = attrs.inputShape as number[];
  const c = convInfo("Conv2DBackpropInput", inputShape, filter.shape, { ...attrs, dilations: 1 });
  const dx = backend.makeTensorInfo(inputShape, "float32");
  const rows = c.batchSize * c.outHeight * c.outWidth,
    K = c.filterHeight * c.filterWidth * c.inChannels;
  if (size(inputShape) > 0) {
    if (rows === 0) backend.device.launch("fill", [backend.ptr(dx), size(inputShape), 0, 0]);
    else {
      const pointwise = isPointwise(c);
      // cols[rows, K] = dy[rows, Cout] · Wᵀ[Cout, K]; a pointwise convolution's cols are dx itself.
      const cols = pointwise ? dx : backend.makeTensorInfo([rows, K], "float32");
      backend.device.gemm({
        batch: 1,
        M: rows,
        N: K,
        K: c.outChannels,
        transA: false,
        transB: true,
        a: backend.ptr(dy),
        strideA: 0,
        b: backend.ptr(filter),
        strideB: 0,
        c: backend.ptr(cols),
        strideC: 0,
        precision: backend.precision,
      });
      if (!pointwise) {
        backend.device.launch("col2im", [backend.ptr(cols), backend.ptr(dx), ...geometry(c)]);
        backend.disposeIntermediate(cols);
      }
    }
  }
  for (const t of temps) backend.disposeIntermediate(t);
  return dx;
});
