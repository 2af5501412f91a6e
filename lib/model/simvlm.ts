/**
 * SimVLM (Wang et al. 2021): a PrefixLM encoder-decoder.
 *
 *   image ──conv stage──► patch grid (+ learned row/column positions) ─┐
 *   prefix text ──token embedding (+ 1-D positions) ───────────────────┴─► encoder (bidirectional)
 *   decoder input (bos + suffix) ──token embedding (+ 1-D positions) ──► decoder (causal self-attn,
 *        cross-attn to the encoder) ──► final layer norm ──► logits (tied to the token embedding)
 *
 * Pre-LayerNorm blocks, GELU, dropout seeded per step, padding (id 0) masked as keys everywhere, and
 * a text-only example's patch positions (hasImage = 0) zeroed and masked. All tensor work runs in
 * tf.tidy; attention weights are kept only when `capture` is on.
 */
import { tf } from "../backend/index.ts";
import { Rng } from "../util/rng.ts";
import type { ModelConfig } from "./configs.ts";
import { gridSide, validateConfig } from "./configs.ts";
import { makePatchEmbed, embedPatches } from "./conv-stage.ts";
import type { PatchEmbedP } from "./conv-stage.ts";
import { ParamStore, DropoutSeeds, makeLayerNorm, dense, layerNorm } from "./layers.ts";
import type { LayerNormP } from "./layers.ts";
import { makeEncoderBlock, makeDecoderBlock, encoderBlock, decoderBlock } from "./blocks.ts";
import type { EncoderBlockP, DecoderBlockP, BlockContext, SelfKV } from "./blocks.ts";
import type { ModelInputs, AttentionCapture } from "./types.ts";
import { buildCaptures } from "./capture.ts";

export interface ApplyOptions {
  training: boolean;
  /** Seeds this call's dropout masks (use one per training step for determinism). Default 0. */
  dropoutSeed?: number;
  /** Return per-example attention weights (costs extra memory and a device→host copy). */
  capture?: boolean;
  /** Labels for captured tokens (default: the id as a string). */
  tokenString?: (id: number) => string;
}

export interface ModelOutput {
  logits: tf.Tensor3D;
  attention?: AttentionCapture[];
}

/** What the encoder produced: kept between decoding steps so the encoder runs once per batch. */
export interface EncoderState {
  /** [B * Tk, dModel] after the encoder's final layer norm. */
  memory: tf.Tensor2D;
  /** [B, 1, 1, Tk]: 0 for real keys, −1e9 for padding and absent patches. */
  keyBias: tf.Tensor4D;
  batch: number;
  keys: number;
  numPatches: number;
  /** Per decoder layer, the cross-attention keys|values of the memory [B * Tk, 2 * dModel], computed once for decoding. */
  crossKV?: tf.Tensor2D[];
  /**
   * [B] int32: the position of each row's first decoder token — T_p, the number of prefix text
   * tokens the encoder reads, with config.decoderPositions "continue"; 0 with "restart".
   */
  decStart?: tf.Tensor1D;
  /** The same on the host; the tensor exists only where ids cannot be read synchronously (WebGPU). */
  decStartHost?: Int32Array;
}

const NEG = -1e9;

export class SimVLM {
  readonly config: ModelConfig;
  private readonly store: ParamStore;
  private readonly tokEmb: tf.Variable;
  private readonly encTextPos: tf.Variable;
  private readonly decPos: tf.Variable;
  private readonly rowPos: tf.Variable;
  private readonly colPos: tf.Variable;
  private readonly patch: PatchEmbedP;
  private readonly enc: EncoderBlockP[] = [];
  private readonly encLn: LayerNormP;
  private readonly dec: DecoderBlockP[] = [];
  private readonly decLn: LayerNormP;
  private disposed = false;

  constructor(config: ModelConfig, seed = 0) {
    this.config = validateConfig(
      { ...config } as unknown as Record<string, unknown>,
      "model config",
    );
    const c = this.config,
      d = c.dModel,
      g = gridSide(c);
    const p = (this.store = new ParamStore(new Rng(seed)));
    // Creation order fixes which random numbers each tensor gets: keep it stable.
    this.tokEmb = p.normal("tok.embedding", [c.vocabSize, d], 0.02);
    this.encTextPos = p.normal("enc.text_pos", [c.maxTextLen, d], 0.02);
    this.decPos = p.normal("dec.pos", [c.maxTextLen, d], 0.02);
    this.rowPos = p.normal("patch.row_pos", [g, d], 0.02);
    this.colPos = p.normal("patch.col_pos", [g, d], 0.02);
    this.patch = makePatchEmbed(p, c);
    const encOut = 0.02 / Math.sqrt(2 * c.encLayers),
      decOut = 0.02 / Math.sqrt(3 * c.decLayers);
    for (let i = 0; i < c.encLayers; i++) this.enc.push(makeEncoderBlock(p, `enc.${i}`, c, encOut));
    this.encLn = makeLayerNorm(p, "enc.ln_f", d);
    for (let i = 0; i < c.decLayers; i++) this.dec.push(makeDecoderBlock(p, `dec.${i}`, c, decOut));
    this.decLn = makeLayerNorm(p, "dec.ln_f", d);
  }

  /** Stable name → variable (the safetensors tensor names; see docs/model.md). Insertion order is creation order. */
  weights(): Map<string, tf.Variable> {
    this.checkAlive();
    return this.store.vars;
  }

  countParams(): number {
    let n = 0;
    for (const v of this.store.vars.values()) n += v.size;
    return n;
  }

  /** Full forward pass: encoder + teacher-forced decoder. logits [B, Td, vocabSize]. */
  apply(inputs: ModelInputs, opts: ApplyOptions): ModelOutput {
    this.checkAlive();
    const drop = new DropoutSeeds(this.config.dropout, opts.training, opts.dropoutSeed ?? 0);
    const keep = opts.capture === true;
    const res = tf.tidy(() => {
      const encProbs: tf.Tensor4D[] = [],
        selfProbs: tf.Tensor4D[] = [],
        crossProbs: tf.Tensor4D[] = [];
      const state = this.encodeInner(inputs, drop, keep ? encProbs : undefined);
      const logits = this.decodeInner(
        state,
        inputs.decIn,
        drop,
        keep ? { self: selfProbs, cross: crossProbs } : undefined,
      );
      return { logits, encProbs, selfProbs, crossProbs };
    });
    if (!keep) return { logits: res.logits };
    try {
      const attention = buildCaptures(
        inputs,
        res,
        gridSide(this.config),
        opts.tokenString ?? ((id) => String(id)),
      );
      return { logits: res.logits, attention };
    } finally {
      tf.dispose([res.encProbs, res.selfProbs, res.crossProbs]);
    }
  }

  /** Run only the encoder (for decoding: once per batch). Dispose the result with disposeEncoderState. */
  encode(inputs: Pick<ModelInputs, "images" | "hasImage" | "encIds">): EncoderState {
    this.checkAlive();
    const drop = new DropoutSeeds(0, false, 0);
    return tf.tidy(() => {
      const s = this.encodeInner(inputs, drop, undefined);
      const crossKV = this.dec.map((L) => dense(s.memory, L.cross.kv));
      return {
        memory: s.memory,
        keyBias: s.keyBias,
        batch: s.batch,
        keys: s.keys,
        numPatches: s.numPatches,
        crossKV,
        decStart: s.decStart,
        decStartHost: s.decStartHost,
      } as unknown as tf.TensorContainer;
    }) as unknown as EncoderState;
  }

  /**
   * One incremental decoder step (inference, no dropout): `tokens` [N] sit at position
   * `cache.length` (0 without a cache); returns their next-token logits [N, vocabSize] and the cache
   * extended by this position's self-attention keys and values. Row n reads encoder row `rows[n]`
   * (default n). Equal to `apply`'s logits at that position (tested), at O(length) cost per step.
   * The caller disposes the old cache (disposeDecoderCache) once it has the new one.
   */
  decodeStep(
    state: EncoderState,
    tokens: tf.Tensor1D,
    cache: DecoderCache | null,
    rows?: tf.Tensor1D,
  ): { logits: tf.Tensor2D; cache: DecoderCache } {
    this.checkAlive();
    const c = this.config,
      d = c.dModel,
      N = tokens.shape[0],
      pos = cache?.length ?? 0;
    if (pos >= c.maxTextLen)
      throw new Error(`decodeStep: position ${pos} is past config.maxTextLen ${c.maxTextLen}`);
    const out = tf.tidy(() => {
      const s = rows ? selectRows(state, rows) : state;
      if (s.batch !== N)
        throw new Error(`decodeStep: ${N} tokens but the encoder state has ${s.batch} rows`);
      const ids = tf.cast(tokens, "int32") as tf.Tensor1D;
      const x = tf.add(
        tf.gather(this.tokEmb, ids),
        tf.gather(this.decPos, this.positions(s, pos, 1)),
      ) as tf.Tensor2D;
      // Every cached position is a real earlier token of the same row: no mask needed.
      const noMask = tf.zeros([1, 1, 1, 1]);
      const ctx: BlockContext = {
        batch: N,
        heads: c.heads,
        eps: c.layerNormEps,
        drop: new DropoutSeeds(0, false, 0),
      };
      const r = this.runDecoder(x, s, noMask, ctx, { cache: cache ?? null });
      return {
        logits: r.logits,
        keys: r.cache!.map((kv) => kv.keys),
        values: r.cache!.map((kv) => kv.values),
      };
    });
    return { logits: out.logits, cache: { length: pos + 1, keys: out.keys, values: out.values } };
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.store.vars.values()) v.dispose();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error("SimVLM: this model has been disposed");
  }

  private encodeInner(
    inputs: Pick<ModelInputs, "images" | "hasImage" | "encIds">,
    drop: DropoutSeeds,
    probs?: tf.Tensor4D[],
  ): EncoderState {
    const c = this.config,
      d = c.dModel,
      g = gridSide(c);
    const { images, encIds } = inputs;
    if (encIds.rank !== 2)
      throw new Error(`encIds must be [B, Te], got [${encIds.shape.join(", ")}]`);
    const [B, Te] = encIds.shape;
    if (Te > c.maxTextLen)
      throw new Error(`encIds has ${Te} positions; config.maxTextLen is ${c.maxTextLen}`);
    if (images && images.shape[0] !== B)
      throw new Error(`images has batch ${images.shape[0]} but encIds has batch ${B}`);
    if (!images && Te === 0)
      throw new Error("the encoder has no input: images is null and encIds is empty");
    const encHost = checkIds(encIds, c.vocabSize, "encIds");
    const parts: tf.Tensor3D[] = [],
      valid: tf.Tensor2D[] = [];
    const P = images ? g * g : 0;
    if (images) {
      let has = inputs.hasImage ?? tf.ones([B]);
      if (has.shape.length !== 1 || has.shape[0] !== B)
        throw new Error(`hasImage must be [${B}], got [${has.shape.join(", ")}]`);
      has = tf.cast(has, "float32") as tf.Tensor1D;
      const feats = tf.reshape(embedPatches(images, this.patch, c), [B, P, d]);
      // Zero a text-only example's patch features so nothing of its (placeholder) image leaks in.
      const pos = tf.reshape(
        tf.add(tf.reshape(this.rowPos, [g, 1, d]), tf.reshape(this.colPos, [1, g, d])),
        [1, P, d],
      );
      parts.push(tf.add(tf.mul(feats, tf.reshape(has, [B, 1, 1])), pos) as tf.Tensor3D);
      valid.push(tf.tile(tf.reshape(has, [B, 1]), [1, P]) as tf.Tensor2D);
    }
    if (Te > 0) {
      parts.push(this.embedText(encIds, this.encTextPos));
      valid.push(tf.cast(tf.notEqual(encIds, 0), "float32") as tf.Tensor2D);
    }
    const Tk = P + Te;
    const keyValid = parts.length === 1 ? valid[0]! : tf.concat(valid, 1);
    const keyBias = tf.reshape(tf.mul(tf.sub(1, keyValid), NEG), [B, 1, 1, Tk]) as tf.Tensor4D;
    let x = tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 1), [
      B * Tk,
      d,
    ]) as tf.Tensor2D;
    x = drop.apply(x);
    const ctx: BlockContext = {
      batch: B,
      heads: c.heads,
      eps: c.layerNormEps,
      drop,
      keepProbs: probs !== undefined,
    };
    for (const L of this.enc) {
      const r = encoderBlock(x, L, keyBias, ctx);
      x = r.x;
      if (probs) probs.push(r.probs!);
    }
    // PrefixLM splits one sequence at T_p: the decoder's first token sits at position T_p, not 0, so
    // it can tell "start of the text" from "continue after the prefix" (see ModelConfig.decoderPositions).
    // Counted from the ids already read (no extra kernels: the CUDA backend has no Range/Minimum);
    // on the device only where the ids cannot be read (WebGPU).
    let decStartHost: Int32Array | undefined = new Int32Array(B);
    if (c.decoderPositions === "continue" && Te > 0) {
      if (!encHost) decStartHost = undefined;
      else {
        const starts = decStartHost;
        for (let i = 0; i < B * Te; i++) if (encHost[i] !== 0) starts[Math.floor(i / Te)]!++;
      }
    }
    const decStart = decStartHost
      ? undefined
      : (tf.sum(tf.cast(tf.notEqual(encIds, 0), "int32"), 1) as tf.Tensor1D);
    return {
      memory: layerNorm(x, this.encLn, c.layerNormEps),
      keyBias,
      batch: B,
      keys: Tk,
      numPatches: P,
      decStart,
      decStartHost,
    };
  }

  /**
   * Decoder position ids [B * T] = start[b] + offset + t for t < T, capped at maxTextLen − 1 (only
   * padding can pass the cap: a batch keeps T_p + suffix ≤ maxTextLen, generate checks its length).
   */
  private positions(s: EncoderState, offset: number, T: number): tf.Tensor1D {
    const cap = this.config.maxTextLen - 1;
    const host = s.decStartHost;
    if (host) {
      const ids = new Int32Array(host.length * T);
      for (let b = 0; b < host.length; b++)
        for (let t = 0; t < T; t++) ids[b * T + t] = Math.min(host[b]! + offset + t, cap);
      return tf.tensor1d(ids, "int32");
    }
    const t = tf.reshape(tf.range(offset, offset + T, 1, "int32"), [1, T]);
    const ids = tf.minimum(tf.add(tf.reshape(s.decStart!, [-1, 1]), t), cap);
    return tf.reshape(tf.cast(ids, "int32"), [-1]) as tf.Tensor1D;
  }

  private decodeInner(
    s: EncoderState,
    decIn: tf.Tensor2D,
    drop: DropoutSeeds,
    probs: { self: tf.Tensor4D[]; cross: tf.Tensor4D[] } | undefined,
  ): tf.Tensor3D {
    const c = this.config,
      d = c.dModel;
    if (decIn.rank !== 2) throw new Error(`decIn must be [B, Td], got [${decIn.shape.join(", ")}]`);
    const [B, Td] = decIn.shape;
    if (B !== s.batch)
      throw new Error(`decIn has batch ${B} but the encoder input has batch ${s.batch}`);
    if (Td < 1 || Td > c.maxTextLen)
      throw new Error(
        `decIn has ${Td} positions; it must have 1..${c.maxTextLen} (config.maxTextLen)`,
      );
    checkIds(decIn, c.vocabSize, "decIn");
    const padBias = tf.reshape(tf.mul(tf.cast(tf.equal(decIn, 0), "float32"), NEG), [B, 1, 1, Td]);
    const causal = causalBias(Td);
    const selfBias = tf.add(padBias, causal);
    const tok = tf.gather(this.tokEmb, tf.reshape(tf.cast(decIn, "int32"), [B * Td]));
    const pos = tf.gather(this.decPos, this.positions(s, 0, Td));
    const x = drop.apply(tf.add(tok, pos) as tf.Tensor2D);
    const ctx: BlockContext = {
      batch: B,
      heads: c.heads,
      eps: c.layerNormEps,
      drop,
      keepProbs: probs !== undefined,
    };
    const { logits } = this.runDecoder(x, s, selfBias, ctx, { probs });
    return tf.reshape(logits, [B, Td, c.vocabSize]) as tf.Tensor3D;
  }

  /**
   * The decoder stack on embedded inputs x [B*T, d], then the final layer norm and the output
   * projection: logits [B*T, vocabSize]. With `cache` (incremental decoding; null at the first
   * position) it returns each layer's extended keys and values.
   */
  private runDecoder(
    x: tf.Tensor2D,
    s: EncoderState,
    selfBias: tf.Tensor,
    ctx: BlockContext,
    o: { cache?: DecoderCache | null; probs?: { self: tf.Tensor4D[]; cross: tf.Tensor4D[] } },
  ): { logits: tf.Tensor2D; cache?: SelfKV[] } {
    const present: SelfKV[] = [];
    for (const [i, L] of this.dec.entries()) {
      const past =
        o.cache === undefined
          ? undefined
          : o.cache && { keys: o.cache.keys[i]!, values: o.cache.values[i]! };
      const r = decoderBlock(
        x,
        L,
        { selfBias, cross: { memory: s.memory, bias: s.keyBias, kv: s.crossKV?.[i] }, past },
        ctx,
      );
      x = r.x;
      if (r.present) present.push(r.present);
      if (o.probs) {
        o.probs.self.push(r.selfProbs!);
        o.probs.cross.push(r.crossProbs!);
      }
    }
    const h = layerNorm(x, this.decLn, this.config.layerNormEps);
    // Output projection tied to the token embedding; an explicit transpose keeps the matmul on the fast 2-D path.
    const logits = tf.matMul(h, tf.transpose(this.tokEmb) as tf.Tensor2D) as tf.Tensor2D;
    return { logits, cache: o.cache === undefined ? undefined : present };
  }

  /** ids [B, T] → token embeddings + positions, [B, T, d]. */
  private embedText(ids: tf.Tensor2D, posTable: tf.Variable): tf.Tensor3D {
    const [B, T] = ids.shape,
      d = this.config.dModel;
    const emb = tf.reshape(tf.gather(this.tokEmb, tf.reshape(tf.cast(ids, "int32"), [B * T])), [
      B,
      T,
      d,
    ]);
    return tf.add(emb, tf.slice(posTable, [0, 0], [T, d])) as tf.Tensor3D;
  }
}

/** [1, 1, T, T]: 0 on and below the diagonal, −1e9 above (a query never sees later positions). */
function causalBias(T: number): tf.Tensor4D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = NEG;
  return tf.tensor4d(m, [1, 1, T, T]);
}

/** Self-attention keys and values of the positions decoded so far: per decoder layer [N, length, dModel]. */
export interface DecoderCache {
  length: number;
  keys: tf.Tensor3D[];
  values: tf.Tensor3D[];
}

export function disposeDecoderCache(c: DecoderCache | null): void {
  if (c) tf.dispose([...c.keys, ...c.values]);
}

/** A cache whose row n is the old cache's row parents[n] (beam search: each survivor continues its parent). */
export function reorderDecoderCache(c: DecoderCache, parents: tf.Tensor1D): DecoderCache {
  return tf.tidy(
    () =>
      ({
        length: c.length,
        keys: c.keys.map((k) => takeRows(k, parents)),
        values: c.values.map((v) => takeRows(v, parents)),
      }) as unknown as tf.TensorContainer,
  ) as unknown as DecoderCache;
}

/** Dispose what `encode` returned. */
export function disposeEncoderState(s: EncoderState): void {
  tf.dispose([s.memory, s.keyBias, ...(s.decStart ? [s.decStart] : []), ...(s.crossKV ?? [])]);
}

/**
 * out[n] = t[rows[n]] along axis 0, as a one-hot × t matmul: exact (each output is 1·x plus zeros)
 * and on the wasm fast path, where GatherV2 on a [16, 64, 512] tensor takes ~40 ms.
 */
function takeRows<T extends tf.Tensor>(t: T, rows: tf.Tensor1D): T {
  const n = t.shape[0],
    m = rows.shape[0];
  const flat = tf.reshape(t, [n, t.size / n]) as tf.Tensor2D;
  // The one-hot is built in JS (tf.oneHot needs depth ≥ 2, and wasm's float32 oneHot writes integer bits).
  const idx = rows.dataSync(),
    hot = new Float32Array(m * n);
  idx.forEach((r, i) => {
    if (!(r >= 0 && r < n)) throw new Error(`row index ${r} is outside [0, ${n})`);
    hot[i * n + r] = 1;
  });
  const sel = tf.matMul(tf.tensor2d(hot, [m, n]), flat);
  return tf.reshape(sel, [m, ...t.shape.slice(1)]) as T;
}

/** Repeat/select rows of an encoder state (beam search: row n reads example rows[n]). Inside a tidy. */
function selectRows(s: EncoderState, rows: tf.Tensor1D): EncoderState {
  const n = rows.shape[0];
  const pick = (t: tf.Tensor2D) => {
    const w = t.shape[1];
    return tf.reshape(takeRows(tf.reshape(t, [s.batch, s.keys, w]), rows), [
      n * s.keys,
      w,
    ]) as tf.Tensor2D;
  };
  return {
    memory: pick(s.memory),
    keyBias: takeRows(s.keyBias, rows),
    batch: n,
    keys: s.keys,
    numPatches: s.numPatches,
    crossKV: s.crossKV?.map(pick),
    decStart: s.decStart && (tf.gather(s.decStart, rows) as tf.Tensor1D),
    decStartHost: pickHost(s.decStartHost, rows),
  };
}

/** The host copy of decStart for the selected rows (rows are few: one per beam). */
function pickHost(host: Int32Array | undefined, rows: tf.Tensor1D): Int32Array | undefined {
  if (!host || tf.getBackend() === "webgpu") return undefined;
  return Int32Array.from(rows.dataSync(), (r) => host[r]!);
}

/** A new encoder state whose row n is row rows[n] of `s` (dispose it with disposeEncoderState). */
export function selectEncoderRows(s: EncoderState, rows: number[]): EncoderState {
  return tf.tidy(
    () => selectRows(s, tf.tensor1d(rows, "int32")) as unknown as tf.TensorContainer,
  ) as unknown as EncoderState;
}

/** Ids outside [0, vocabSize) would silently read garbage rows; reject them with the input's name. */
/** Returns the ids it read (undefined where it cannot read them: WebGPU). */
function checkIds(ids: tf.Tensor2D, vocab: number, name: string): ArrayLike<number> | undefined {
  // WebGPU in Node cannot read synchronously (tfjs needs OffscreenCanvas for that); there the ids
  // are trusted as built by lib/train's batches from JS arrays, and the check is skipped.
  if (ids.size === 0) return new Int32Array(0);
  if (tf.getBackend() === "webgpu") return undefined;
  const v = ids.dataSync();
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!(x >= 0 && x < vocab && Number.isInteger(x))) {
      throw new Error(
        `${name} holds token id ${x} at flat index ${i}; ids must be integers in [0, ${vocab}) (config.vocabSize)`,
      );
    }
  }
  return v;
}
