/**
 * Shared pieces of the im2col-based conv gradient kernels (NHWC, dilation 1).
 * cols[m, (i*kw + j)*C + c] is the input pixel under filter tap (i, j) for output pixel m, so
 * conv2d is cols · W, its filter gradient colsᵀ · dy, and its input gradient col2im(dy · Wᵀ).
 */
import * as tf from "@tensorflow/tfjs-core";

export interface Geometry {
  N: number;
  H: number;
  W: number;
  C: number;
  Ho: number;
  Wo: number;
  Co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
}

/** Conv geometry from tfjs's own shape/padding rules, refusing what the wasm Conv2D refuses (NCHW). */
export function convGeometry(
  kernel: string,
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: tf.Conv2DBackpropFilterAttrs["pad"],
  dimRoundingMode: "floor" | "round" | "ceil" | undefined,
  dataFormat: "NHWC" | "NCHW" | undefined,
): Geometry {
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat ?? "NHWC");
  if (format !== "channelsLast") {
    throw new Error(
      `wasm backend ${kernel} does not support dataFormat '${dataFormat}'; use 'NHWC' (as wasm's Conv2D requires).`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  return {
    N: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    C: info.inChannels,
    Ho: info.outHeight,
    Wo: info.outWidth,
    Co: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** How many output pixels fit a chunk of at most maxFloats scratch floats per row-width `width`. */
export function chunkRows(M: number, width: number, maxFloats: number): number {
  return Math.max(1, Math.min(M, Math.floor(maxFloats / Math.max(1, width))));
}

/**
 * Visit the in-image part of every window row for output pixels m0 … m0+rows-1: calls
 * visit(colOffset, xOffset, length) for each run of contiguous floats (kw*C at most), after
 * reporting padding runs through pad(colOffset, length).
 */
function forEachRun(
  m0: number,
  rows: number,
  g: Geometry,
  run: (colOff: number, xOff: number, len: number) => void,
  pad?: (colOff: number, len: number) => void,
): void {
  const { H, W, C, Ho, Wo, kh, kw, sh, sw, padTop, padLeft } = g;
  const K = kh * kw * C;
  const rowRun = kw * C;
  for (let r = 0; r < rows; r++) {
    const m = m0 + r;
    const ow = m % Wo;
    const t = (m - ow) / Wo;
    const oh = t % Ho;
    const n = (t - oh) / Ho;
    const ih0 = oh * sh - padTop;
    const iw0 = ow * sw - padLeft;
    // Window columns inside the image: [jLo, jHi).
    const jLo = Math.max(0, -iw0);
    const jHi = Math.min(kw, W - iw0);
    for (let i = 0; i < kh; i++) {
      const ih = ih0 + i;
      const dst = r * K + i * rowRun;
      if (ih < 0 || ih >= H || jHi <= jLo) {
        pad?.(dst, rowRun);
        continue;
      }
      if (jLo > 0) pad?.(dst, jLo * C);
      run(dst + jLo * C, ((n * H + ih) * W + iw0 + jLo) * C, (jHi - jLo) * C);
      if (jHi < kw) pad?.(dst + jHi * C, (kw - jHi) * C);
    }
  }
}

/** im2col: cols[r, :] = the input window of output pixel m0 + r (zeros in the padding). */
export function fillCols(
  cols: Float32Array,
  x: Float32Array,
  m0: number,
  rows: number,
  g: Geometry,
): void {
  forEachRun(
    m0,
    rows,
    g,
    (c, xo, len) => cols.set(x.subarray(xo, xo + len), c),
    (c, len) => cols.fill(0, c, c + len),
  );
}

/** col2im: dx[window of m0 + r] += cols[r, :] (padding taps are dropped). */
export function addCols(
  dx: Float32Array,
  cols: Float32Array,
  m0: number,
  rows: number,
  g: Geometry,
): void {
  forEachRun(m0, rows, g, (c, xo, len) => {
    for (let t = 0; t < len; t++) dx[xo + t] += cols[c + t]!;
  });
}

/** dst[c, r] = src[offset + r*cols + c] for r < rows, c < cols, in 16x16 blocks (cache-friendly both ways). */
export function transposeInto(
  dst: Float32Array,
  src: Float32Array,
  offset: number,
  rows: number,
  cols: number,
): void {
  const B = 16;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        let s = offset + r * cols + c0;
        let d = c0 * rows + r;
        for (let c = c0; c < c1; c++, s++, d += rows) dst[d] = src[s]!;
      }
    }
  }
}
