/**
 * AdamW (Loshchilov & Hutter: Adam with weight decay decoupled from the gradient), global-norm
 * gradient clipping and the learning-rate schedule (linear warmup, then linear or cosine decay), as
 * the SimVLM paper trains: AdamW β1 0.9, β2 0.999, weight decay 0.01, warmup over the first 2% of
 * updates to the peak, then linear decay.
 *
 * Written out by hand (not tf.train.adam) so the update is plain to read, the state (m, v, step)
 * can be saved and restored exactly, and weight decay can skip some parameters. On wasm with the
 * native addon the same arithmetic runs as one fused kernel per parameter (lib/backend/wasm/native-adamw.ts).
 */
import { tf } from "../backend/index.ts";
import { fusedAdamWAvailable, fusedAdamWUpdate, fusedSumSquares } from "../backend/fused-ops.ts";
import type { NamedArray } from "./safetensors.ts";
import { CheckpointError } from "./errors.ts";
import { OPTIMIZER_DEFAULTS as D } from "./defaults.ts";

// ---------------------------------------------------------------------------------- schedule

/** The lr schedules after warmup, the one list every caller validates against. */
export const DECAY_KINDS = ["linear", "cosine", "constant"] as const;
export type DecayKind = (typeof DECAY_KINDS)[number];

export interface LrSchedule {
  peakLr: number;
  /** The schedule's total length in updates (the CLI's --steps). */
  totalSteps: number;
  warmupSteps: number;
  decay: DecayKind;
  /** The lr after full decay, as a fraction of the peak (default 0). */
  minLrRatio?: number;
}

/**
 * The learning rate of update number `step` (1-based: the first update is step 1).
 * Warmup rises linearly to the peak at step `warmupSteps`; decay starts from the peak at the next
 * update and reaches minLr after totalSteps (never exactly 0 on a real update, so no step is wasted).
 */
export function learningRate(s: LrSchedule, step: number): number {
  const peak = s.peakLr,
    minRatio = s.minLrRatio ?? 0;
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (peak * step) / s.warmupSteps;
  if (s.decay === "constant") return peak;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const p = Math.min(1, Math.max(0, (step - s.warmupSteps - 1) / span));
  const f = s.decay === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * p)) : 1 - p;
  return peak * (minRatio + (1 - minRatio) * f);
}

// ---------------------------------------------------------------------------------- AdamW

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this value; 0 or Infinity turns clipping off. */
  clipNorm?: number;
  /** Which parameters get weight decay (default: `defaultDecayFilter`). */
  decay?: (name: string, shape: number[]) => boolean;
}

/**
 * Our choice (documented in docs/train.md): decay only the weight matrices and conv kernels
 * (rank ≥ 2). Biases and LayerNorm gains/offsets (rank 1) are left alone — decaying a LayerNorm gain
 * towards 0 fights the normalisation — and so are the token and position embeddings, whose rows are
 * updated rarely (a rare token's row would otherwise decay towards 0 between its appearances).
 */
export function defaultDecayFilter(name: string, shape: number[]): boolean {
  return shape.length >= 2 && !/emb|pos/i.test(name);
}

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
  decay: boolean;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  /** Updates applied so far (Adam's t). */
  step = 0;
  private slots = new Map<string, Slot>();

  constructor(
    readonly params: Map<string, tf.Variable>,
    opts: AdamWOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? D.beta1.value;
    this.beta2 = opts.beta2 ?? D.beta2.value;
    this.eps = opts.eps ?? D.eps.value;
    this.weightDecay = opts.weightDecay ?? D.weightDecay.value;
    this.clipNorm = opts.clipNorm ?? D.clipNorm.value;
    const decay = opts.decay ?? defaultDecayFilter;
    for (const [name, p] of params) {
      this.slots.set(
        name,
        tf.tidy(() => ({
          m: tf.variable(tf.zerosLike(p), false, `adamw/m/${name}/${uid}`),
          v: tf.variable(tf.zerosLike(p), false, `adamw/v/${name}/${uid}`),
          decay: decay(name, p.shape),
        })),
      );
      uid++;
    }
  }

  /** Names of the parameters that get weight decay (for docs and tests). */
  decayed(): string[] {
    return [...this.slots].filter(([, s]) => s.decay).map(([n]) => n);
  }

  /**
   * One update from `grads` (name → gradient, same shapes as the params) at learning rate `lr`.
   * `gradNorm` is the global norm of `grads` (from `globalGradNorm`, read back by the caller so a
   * non-finite loss can be caught before any weight changes); gradients are scaled by
   * min(1, clipNorm / gradNorm) first. A parameter without a gradient (not used by this batch, e.g.
   * the patch stage for a batch of text-only documents) is left alone, as PyTorch does for
   * grad = None: no moment update, no decay. Call inside tf.tidy.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, gradNorm: number): void {
    const names = [...this.params.keys()];
    for (const n of Object.keys(grads))
      if (!this.params.has(n)) throw new Error(`AdamW: gradient for unknown parameter "${n}"`);
    const clip = this.clipNorm;
    const scale = clip > 0 && Number.isFinite(clip) ? Math.min(1, clip / (gradNorm + 1e-6)) : 1;
    this.step += 1;
    const t = this.step;
    const b1 = this.beta1,
      b2 = this.beta2;
    const c1 = 1 - Math.pow(b1, t),
      c2 = 1 - Math.pow(b2, t);
    // On wasm with the native addon, one fused kernel per parameter (native/adamw.c) computes the
    // same float32 operations in the same order as the ops below, without ten kernel launches.
    const fused = fusedAdamWAvailable();
    for (const n of names) {
      if (!grads[n]) continue;
      const p = this.params.get(n)!,
        s = this.slots.get(n)!;
      const grad = grads[n]!;
      if (
        fused &&
        p.dtype === "float32" &&
        grad.dtype === "float32" &&
        tf.util.arraysEqual(grad.shape, p.shape)
      ) {
        const decayFactor = s.decay && this.weightDecay > 0 ? 1 - lr * this.weightDecay : 1;
        const [pNew, mNew, vNew] = fusedAdamWUpdate(p, s.m, s.v, grad, {
          beta1: b1,
          beta2: b2,
          eps: this.eps,
          c1,
          c2,
          decayFactor,
          lr,
          scale,
        });
        s.m.assign(mNew);
        s.v.assign(vNew);
        p.assign(pNew);
        continue;
      }
      const g = scale === 1 ? grads[n]! : tf.mul(grads[n]!, scale);
      const m = tf.add(tf.mul(s.m, b1), tf.mul(g, 1 - b1));
      const v = tf.add(tf.mul(s.v, b2), tf.mul(tf.square(g), 1 - b2));
      s.m.assign(m);
      s.v.assign(v);
      const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.eps));
      // Decoupled decay: shrink the weight itself by lr·wd, independent of the gradient's scale.
      const decayed = s.decay && this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
      p.assign(tf.sub(decayed, tf.mul(update, lr)));
    }
  }

  /** The state as named arrays for optimizer.safetensors: `exp_avg.<param>`, `exp_avg_sq.<param>` (PyTorch's names). */
  exportState(): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const [name, s] of this.slots) {
      out.set(`exp_avg.${name}`, {
        dtype: "F32",
        shape: s.m.shape,
        data: s.m.dataSync() as Float32Array,
      });
      out.set(`exp_avg_sq.${name}`, {
        dtype: "F32",
        shape: s.v.shape,
        data: s.v.dataSync() as Float32Array,
      });
    }
    return out;
  }

  /** Restore the state written by exportState (plus the step count). `file` names the source in errors. */
  importState(state: Map<string, NamedArray>, step: number, file: string): void {
    for (const [name, s] of this.slots) {
      for (const [key, slot] of [
        [`exp_avg.${name}`, s.m],
        [`exp_avg_sq.${name}`, s.v],
      ] as const) {
        const a = state.get(key);
        if (!a) throw new CheckpointError(`${file}: missing optimizer tensor "${key}"`, file);
        if (a.shape.join(",") !== slot.shape.join(",")) {
          throw new CheckpointError(
            `${file}: optimizer tensor "${key}" has shape [${a.shape}], the model needs [${slot.shape}]`,
            file,
          );
        }
        tf.tidy(() => slot.assign(tf.tensor(a.data, a.shape, "float32")));
      }
    }
    const extra = [...state.keys()].filter(
      (k) => !this.slots.has(k.replace(/^exp_avg(_sq)?\./, "")),
    );
    if (extra.length)
      throw new CheckpointError(
        `${file}: optimizer state for unknown parameters: ${extra.slice(0, 5).join(", ")}`,
        file,
      );
    this.step = step;
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}

let uid = 0;

/** √(Σ‖g‖²) over all gradients, summed in name order so the value is reproducible. */
export function globalGradNorm(
  grads: Record<string, tf.Tensor>,
  names: Iterable<string>,
): tf.Scalar {
  // Read `names` once: it may be a one-shot iterator (a Map's keys()).
  const present = [...names].filter((n) => grads[n]).map((n) => grads[n]!);
  if (fusedAdamWAvailable() && present.every((g) => g.dtype === "float32")) {
    // One native call over every gradient (name order, accumulated in double) instead of square + sum + add each.
    return tf.tidy(() => tf.sqrt(fusedSumSquares(present)));
  }
  return tf.tidy(() => {
    let sq: tf.Scalar = tf.scalar(0);
    for (const g of present) sq = tf.add(sq, tf.sum(tf.square(g)));
    return tf.sqrt(sq);
  });
}
