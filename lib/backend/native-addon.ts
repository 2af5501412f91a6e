/**
 * The native addon (native/*.c, one N-API module built by native/build.mjs): its loader and the
 * functions it exports. Every function works on the wasm heap in place: it receives the heap as a
 * Uint8Array and byte offsets into it (sizes in elements), so no tensor is copied. The wasm kernels
 * in ./wasm/ call it; a CUDA backend will bring its own.
 *
 * A leaf module: it imports nothing from lib/, so any backend file can use it.
 */
import { createRequire } from "node:module";

export interface NativeAddon {
  // native/blas.c — OpenBLAS products and bias/activation epilogues.
  sgemm(
    heap: Uint8Array,
    batch: number,
    M: number,
    N: number,
    K: number,
    tA: number,
    tB: number,
    aOff: number,
    bOff: number,
    cOff: number,
    strideA: number,
    strideB: number,
  ): void;
  biasAct(
    heap: Uint8Array,
    cOff: number,
    rows: number,
    N: number,
    biasOff: number,
    act: number,
  ): void;
  reduceSum?(
    heap: Uint8Array,
    inOff: number,
    outOff: number,
    outer: number,
    mid: number,
    inner: number,
  ): void;
  threads(): number;
  // native/fused.c — GELU and layer norm, forward and backward.
  geluFwd?(heap: Uint8Array, xOff: number, yOff: number, n: number): void;
  geluBwd?(heap: Uint8Array, xOff: number, dyOff: number, dxOff: number, n: number): void;
  layerNormFwd?(
    heap: Uint8Array,
    xOff: number,
    gammaOff: number,
    betaOff: number,
    yOff: number,
    meanOff: number,
    rstdOff: number,
    rows: number,
    d: number,
    eps: number,
  ): void;
  layerNormBwd?(
    heap: Uint8Array,
    xOff: number,
    dyOff: number,
    gammaOff: number,
    meanOff: number,
    rstdOff: number,
    dxOff: number,
    dgammaOff: number,
    dbetaOff: number,
    rows: number,
    d: number,
  ): void;
  tanhApprox?(heap: Uint8Array, xOff: number, yOff: number, n: number): void;
  // native/adamw.c — one parameter's AdamW update; Σ x² in double.
  adamw?(
    heap: Uint8Array,
    pOff: number,
    mOff: number,
    vOff: number,
    gOff: number,
    pOutOff: number,
    mOutOff: number,
    vOutOff: number,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    c1: number,
    c2: number,
    eps: number,
    decayFactor: number,
    lr: number,
    scale: number,
  ): void;
  sumSquares?(heap: Uint8Array, xOff: number, n: number): number;
  // native/rows.c — strided row copies, softmax cross-entropy, dropout masks.
  copyRows?(
    heap: Uint8Array,
    src: number,
    srcStride: number,
    dst: number,
    dstStride: number,
    rows: number,
    width: number,
  ): void;
  softmaxXentFwd?(
    heap: Uint8Array,
    x: number,
    t: number,
    loss: number,
    lse: number,
    rows: number,
    V: number,
  ): void;
  softmaxXentBwd?(
    heap: Uint8Array,
    x: number,
    t: number,
    lse: number,
    dy: number,
    dx: number,
    rows: number,
    V: number,
  ): void;
  dropoutMask?(
    heap: Uint8Array,
    out: number,
    n: number,
    key: number,
    threshold: number,
    scale: number,
  ): void;
}

/** The addon with the named functions present (an older build may lack some: check with `hasFunctions`). */
export type WithFunctions<K extends keyof NativeAddon> = NativeAddon &
  Required<Pick<NativeAddon, K>>;

export function hasFunctions<K extends keyof NativeAddon>(
  addon: NativeAddon,
  names: readonly K[],
): addon is WithFunctions<K> {
  return names.every((n) => typeof addon[n] === "function");
}

const require = createRequire(import.meta.url);

/**
 * Load the addon, building it first when it is missing or older than its sources (native/build.mjs
 * decides); returns it, or one line saying why it is unavailable. SIMVLM_NATIVE=0 turns it off.
 */
export async function loadNativeAddon(): Promise<NativeAddon | string> {
  if (process.env.SIMVLM_NATIVE === "0") return "off (SIMVLM_NATIVE=0)";
  // native/build.mjs owns the addon's path and its sources; it is plain JS, outside lib/.
  type Build = {
    ADDON: string;
    addonIsCurrent(): boolean;
    buildNativeAddon(quiet: boolean): { ok: boolean; reason?: string };
  };
  let build: Build;
  try {
    build = (await import("../../native/build.mjs" as string)) as Build;
  } catch (e) {
    return `not built: native/build.mjs missing (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`;
  }
  if (!build.addonIsCurrent()) {
    const r = build.buildNativeAddon(true);
    if (!r.ok) return `not built: ${r.reason}`;
  }
  try {
    return require(build.ADDON) as NativeAddon;
  } catch (e) {
    return `did not load: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`;
  }
}
