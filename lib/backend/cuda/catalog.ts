/**
 * The device kernels of the CUDA addon (native/cuda/*.cu) as the TypeScript side calls them: each
 * kernel's name and its argument list (all numbers: device addresses, sizes, op codes, scalars), and
 * the op codes of native/cuda/ops.h. The kernel files here pass arguments in exactly this order; the
 * fake device of the tests implements each kernel from this list; and tests check the list against
 * the addon's own table (names and argument counts) and against ops.h's enums.
 */

/** The most axes a strided kernel takes (ops.h SV_MAXRANK); tensors with more are collapsed first. */
export const MAXRANK = 8;

const ranked = (name: string) => Array.from({ length: MAXRANK }, (_, i) => `${name}${i}`);

/** Kernel name → argument names (the addon checks the count; the order is the contract). */
export const KERNELS = {
  // elementwise.cu
  fill: ["y", "n", "value", "dtype"],
  unary: ["op", "dtype", "x", "y", "n", "alpha"],
  binary: [
    "op",
    "dtype",
    "a",
    "b",
    "y",
    "n",
    "rank",
    ...ranked("shape"),
    ...ranked("aStride"),
    ...ranked("bStride"),
  ],
  binaryScalar: ["op", "dtype", "a", "scalar", "y", "n", "scalarLeft"],
  select: [
    "cond",
    "a",
    "b",
    "y",
    "n",
    "rank",
    ...ranked("shape"),
    ...ranked("condStride"),
    ...ranked("aStride"),
    ...ranked("bStride"),
  ],
  cast: ["x", "y", "n", "from", "to"],
  stridedCopy: [
    "x",
    "y",
    "n",
    "rank",
    "xOffset",
    "yOffset",
    ...ranked("shape"),
    ...ranked("xStride"),
    ...ranked("yStride"),
  ],
  copyRows: ["x", "xStride", "y", "yStride", "rows", "width"],
  gather: ["x", "idx", "y", "outer", "nIdx", "inner", "axisDim"],
  scatterAdd: ["x", "idx", "y", "outer", "nIdx", "inner", "numSegments"],
  oneHot: ["idx", "y", "n", "depth", "on", "off", "dtype"],
  addN: ["y", "n", "dtype", "count", "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"],
  // reduce.cu
  reduce: ["op", "dtype", "x", "y", "outer", "mid", "inner", "chunk", "scale"],
  softmax: ["x", "y", "rows", "cols"],
  sumSquares: ["x", "n", "acc"],
  f64ToF32: ["x", "y", "n"],
  // fused.cu
  gelu: ["x", "y", "n"],
  geluGrad: ["x", "dy", "dx", "n"],
  layerNorm: ["x", "gamma", "beta", "y", "mean", "rstd", "rows", "d", "eps"],
  layerNormGradX: ["x", "dy", "gamma", "mean", "rstd", "dx", "rows", "d"],
  layerNormGradParams: [
    "x",
    "dy",
    "mean",
    "rstd",
    "partialGamma",
    "partialBeta",
    "rows",
    "d",
    "chunk",
  ],
  xent: ["x", "targets", "loss", "lse", "rows", "V"],
  xentGrad: ["x", "targets", "lse", "dy", "dx", "rows", "V"],
  adamw: [
    "p",
    "m",
    "v",
    "g",
    "pOut",
    "mOut",
    "vOut",
    "n",
    "beta1",
    "oneMinusBeta1",
    "beta2",
    "oneMinusBeta2",
    "c1",
    "c2",
    "eps",
    "decayFactor",
    "lr",
    "scale",
  ],
  dropoutMask: ["y", "n", "key", "threshold", "scale"],
  biasAct: ["y", "bias", "rows", "n", "act", "alpha"],
  // conv.cu
  im2col: [
    "x",
    "cols",
    "B",
    "H",
    "W",
    "C",
    "kh",
    "kw",
    "sh",
    "sw",
    "dh",
    "dw",
    "padT",
    "padL",
    "oh",
    "ow",
  ],
  col2im: [
    "cols",
    "dx",
    "B",
    "H",
    "W",
    "C",
    "kh",
    "kw",
    "sh",
    "sw",
    "dh",
    "dw",
    "padT",
    "padL",
    "oh",
    "ow",
  ],
} as const satisfies Record<string, readonly string[]>;

export type KernelName = keyof typeof KERNELS;

/** Element types on the device: float32, and int32 (bool is stored as int32 0/1). */
export const DTYPE = { F32: 0, I32: 1 } as const;
/** `cast`'s codes: bool is its own target (any non-zero becomes 1). */
export const CAST = { F32: 0, I32: 1, BOOL: 2 } as const;

export const UNARY = {
  NEG: 0,
  ABS: 1,
  EXP: 2,
  LOG: 3,
  SQRT: 4,
  RSQRT: 5,
  SQUARE: 6,
  TANH: 7,
  SIGMOID: 8,
  RELU: 9,
  ERF: 10,
  SIN: 11,
  COS: 12,
  FLOOR: 13,
  CEIL: 14,
  ROUND: 15,
  SIGN: 16,
  RECIPROCAL: 17,
  LOG1P: 18,
  EXPM1: 19,
  STEP: 20,
  ISNAN: 21,
  ELU: 22,
  LEAKYRELU: 23,
  RELU6: 24,
  LOGICAL_NOT: 25,
  COPY: 26,
  ISINF: 27,
  ISFINITE: 28,
} as const;

export const BINARY = {
  ADD: 0,
  SUB: 1,
  MUL: 2,
  DIV: 3,
  MAX: 4,
  MIN: 5,
  POW: 6,
  SQDIFF: 7,
  FLOORDIV: 8,
  MOD: 9,
  EQ: 10,
  NE: 11,
  LT: 12,
  LE: 13,
  GT: 14,
  GE: 15,
  AND: 16,
  OR: 17,
  ATAN2: 18,
} as const;

export const REDUCE = {
  SUM: 0,
  MAX: 1,
  MIN: 2,
  PROD: 3,
  ANY: 4,
  ALL: 5,
  ARGMAX: 6,
  ARGMIN: 7,
} as const;

export const ACT = { LINEAR: 0, RELU: 1, RELU6: 2, LEAKYRELU: 3, ELU: 4, SIGMOID: 5 } as const;

/** Matrix-product precision (native/cuda/cublas.h SvPrecision). */
export const PRECISION = { fp32: 0, tf32: 1, bf16: 2 } as const;
export type Precision = keyof typeof PRECISION;

/** Unary ops with an int32 form; others run on float32 (an int32 input is cast first). */
export const INT_UNARY = new Set<number>([
  UNARY.NEG,
  UNARY.ABS,
  UNARY.SQUARE,
  UNARY.SIGN,
  UNARY.RELU,
  UNARY.LOGICAL_NOT,
  UNARY.COPY,
  UNARY.FLOOR,
  UNARY.CEIL,
  UNARY.ROUND,
]);
/** Unary ops whose result is a bool. */
export const BOOL_UNARY = new Set<number>([
  UNARY.ISNAN,
  UNARY.ISINF,
  UNARY.ISFINITE,
  UNARY.LOGICAL_NOT,
]);
/** Binary ops whose result is a bool. */
export const BOOL_BINARY = new Set<number>([
  BINARY.EQ,
  BINARY.NE,
  BINARY.LT,
  BINARY.LE,
  BINARY.GT,
  BINARY.GE,
  BINARY.AND,
  BINARY.OR,
]);
