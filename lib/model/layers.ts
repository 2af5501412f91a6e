/**
 * The small building blocks: a named parameter store with seeded initialisation, and the layer
 * functions (dense, layer norm, GELU, dropout, multi-head attention).
 *
 * Dense layers always see 2-D activations [rows, features]: tfjs's matmul gradient does not handle
 * 3-D × 2-D products, and the wasm backend's fast path is the plain untransposed 2-D product.
 */
import { tf } from "../backend/index.ts";
import { Rng } from "../util/rng.ts";
import { dropoutKey, dropoutMask } from "../backend/dropout.ts";
import { fusedGelu, fusedLayerNorm } from "../backend/fused-ops.ts";

/** Creates tf.Variables under stable names (the safetensors tensor names) from one seeded Rng. */
export class ParamStore {
  readonly vars = new Map<string, tf.Variable>();
  constructor(private readonly rng: Rng) {}

  private add(name: string, shape: number[], values: Float32Array): tf.Variable {
    if (this.vars.has(name)) throw new Error(`ParamStore: duplicate parameter name ${name}`);
    // No tfjs variable name: tfjs names are process-global and two models would collide.
    // The variable shares the initial tensor's data (refcounted), so that tensor can go at once;
    // kept, it would outlive model.dispose() as one leaked tensor per weight.
    const init = tf.tensor(values, shape, "float32");
    const v = tf.variable(init, true);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }

  normal(name: string, shape: number[], std: number): tf.Variable {
    const n = tf.util.sizeFromShape(shape);
    const vals = new Float32Array(n);
    // Box–Muller using both outputs of each pair (twice as fast as Rng.normal(); matters for "base").
    for (let i = 0; i < n; i += 2) {
      let u = this.rng.next();
      while (u === 0) u = this.rng.next();
      const r = Math.sqrt(-2 * Math.log(u)) * std,
        a = 2 * Math.PI * this.rng.next();
      vals[i] = r * Math.cos(a);
      if (i + 1 < n) vals[i + 1] = r * Math.sin(a);
    }
    return this.add(name, shape, vals);
  }

  constant(name: string, shape: number[], value: number): tf.Variable {
    const n = tf.util.sizeFromShape(shape);
    return this.add(name, shape, new Float32Array(n).fill(value));
  }
}

export interface Dense {
  kernel: tf.Variable;
  bias: tf.Variable;
}
export interface LayerNormP {
  gamma: tf.Variable;
  beta: tf.Variable;
}

/**
 * A dense layer [din → dout]. Default init N(0, 1/din) (fan-in scaling): unit-variance inputs give
 * unit-variance outputs at any width. GPT-2's fixed 0.02 equals that only near din = 2500; at this
 * project's widths (32–128) it is 3–6× smaller, so attention logits start near 0 and the first
 * thousands of updates go into growing weights: with 0.02, a d = 64 model named the colours of the
 * world's shapes at chance after 2k updates (val colour recall 0.11) where fan-in init reached 0.46
 * (docs/model.md, "Init"). Residual output projections pass their own smaller `std`.
 */
export function makeDense(
  p: ParamStore,
  name: string,
  din: number,
  dout: number,
  std = Math.sqrt(1 / din),
): Dense {
  return {
    kernel: p.normal(`${name}.kernel`, [din, dout], std),
    bias: p.constant(`${name}.bias`, [dout], 0),
  };
}

export function makeLayerNorm(p: ParamStore, name: string, d: number): LayerNormP {
  return { gamma: p.constant(`${name}.gamma`, [d], 1), beta: p.constant(`${name}.beta`, [d], 0) };
}

/** x [N, din] → [N, dout]. */
export function dense(x: tf.Tensor2D, l: Dense): tf.Tensor2D {
  return tf.add(tf.matMul(x, l.kernel as tf.Tensor2D), l.bias);
}

/** Layer norm over the last axis of a 2-D tensor. */
export function layerNorm(x: tf.Tensor2D, l: LayerNormP, eps: number): tf.Tensor2D {
  // One native kernel (and one for its gradient) where the backend has it; else the composite.
  const fused = fusedLayerNorm(x, l.gamma, l.beta, eps);
  if (fused) return fused;
  const { mean, variance } = tf.moments(x, -1, true);
  const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(xhat, l.gamma), l.beta);
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU, tanh approximation (PyTorch's nn.GELU(approximate="tanh")). */
export function gelu<T extends tf.Tensor>(x: T): T {
  const fused = fusedGelu(x);
  if (fused) return fused;
  // x·x·x rather than pow(x, 3): Pow and its gradient (which also differentiates the exponent) are slow kernels.
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), 0.044715)), GELU_C);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
}

/** Deterministic dropout: each call site draws its own seed from the step's DropoutSeeds. */
export class DropoutSeeds {
  private counter = 0;
  constructor(
    readonly rate: number,
    readonly training: boolean,
    readonly seed: number,
  ) {}
  apply<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.rate === 0) return x;
    // Our own counter-based masks (lib/backend/dropout.ts): the same on every backend, and
    // generated natively on wasm instead of by tf.dropout's per-element JS generator.
    return tf.mul(x, dropoutMask(x.shape, this.rate, dropoutKey(this.seed, this.counter++))) as T;
  }
}

export interface AttentionP {
  q: Dense;
  kv: Dense;
  o: Dense;
}

/**
 * Self-attention uses one fused q|k|v projection ("qkv"); cross-attention projects the decoder
 * side with "q" and the encoder memory with a fused "kv".
 */
export function makeSelfAttention(
  p: ParamStore,
  name: string,
  d: number,
  outStd: number,
): { qkv: Dense; o: Dense } {
  return { qkv: makeDense(p, `${name}.qkv`, d, 3 * d), o: makeDense(p, `${name}.o`, d, d, outStd) };
}
export function makeCrossAttention(
  p: ParamStore,
  name: string,
  d: number,
  outStd: number,
): AttentionP {
  return {
    q: makeDense(p, `${name}.q`, d, d),
    kv: makeDense(p, `${name}.kv`, d, 2 * d),
    o: makeDense(p, `${name}.o`, d, d, outStd),
  };
}

/** [B*T, d] → [B*heads, T, dh]. */
function splitHeads(x: tf.Tensor2D, B: number, T: number, heads: number): tf.Tensor3D {
  const dh = x.shape[1] / heads;
  return tf.reshape(tf.transpose(tf.reshape(x, [B, T, heads, dh]), [0, 2, 1, 3]), [
    B * heads,
    T,
    dh,
  ]);
}

/** [B*heads, T, dh] → [B*T, d]. */
function mergeHeads(x: tf.Tensor3D, B: number, heads: number): tf.Tensor2D {
  const [, T, dh] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [B, heads, T, dh]), [0, 2, 1, 3]), [
    B * T,
    heads * dh,
  ]);
}

export interface AttendOptions {
  /** B: the rows of q are B × Tq, those of k and v B × Tk. */
  batch: number;
  heads: number;
  /** Added to the scores; broadcasts to [B, heads, Tq, Tk]: 0 where allowed, −1e9 where masked. */
  bias: tf.Tensor;
  /** Also return the attention weights (for capture). */
  keepProbs?: boolean;
}

/**
 * Multi-head scaled dot-product attention (Vaswani et al. 2017, §3.2.2). q [B*Tq, d], k and v
 * [B*Tk, d]. Returns the output [B*Tq, d] and, with `keepProbs`, the weights [B, heads, Tq, Tk].
 */
export function attend(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  opts: AttendOptions,
): { out: tf.Tensor2D; probs?: tf.Tensor4D } {
  const { batch: B, heads, bias } = opts;
  const Tq = q.shape[0] / B,
    Tk = k.shape[0] / B,
    dh = q.shape[1] / heads;
  const qh = splitHeads(q, B, Tq, heads),
    kh = splitHeads(k, B, Tk, heads),
    vh = splitHeads(v, B, Tk, heads);
  const scores = tf.reshape(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(dh)), [
    B,
    heads,
    Tq,
    Tk,
  ]);
  const probs = tf.softmax(tf.add(scores, bias)) as tf.Tensor4D;
  const ctx = tf.matMul(tf.reshape(probs, [B * heads, Tq, Tk]) as tf.Tensor3D, vh) as tf.Tensor3D;
  return { out: mergeHeads(ctx, B, heads), probs: opts.keepProbs ? probs : undefined };
}
