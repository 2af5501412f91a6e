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
import {
  ParamStore, DropoutSeeds, makeDense, makeLayerNorm, makeSelfAttention, makeCrossAttention,
  dense, layerNorm, gelu, attend,
} from "./layers.ts";
import type { Dense, LayerNormP, AttentionP } from "./layers.ts";
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

export interface ModelOutput { logits: tf.Tensor3D; attention?: AttentionCapture[] }

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
}

interface MlpP { fc: Dense; proj: Dense }
interface EncLayer { ln1: LayerNormP; attn: { qkv: Dense; o: Dense }; ln2: LayerNormP; mlp: MlpP }
interface DecLayer { ln1: LayerNormP; self: { qkv: Dense; o: Dense }; ln2: LayerNormP; cross: AttentionP; ln3: LayerNormP; mlp: MlpP }

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
  private readonly enc: EncLayer[] = [];
  private readonly encLn: LayerNormP;
  private readonly dec: DecLayer[] = [];
  private readonly decLn: LayerNormP;
  private disposed = false;

  constructor(config: ModelConfig, seed = 0) {
    this.config = validateConfig({ ...config } as unknown as Record<string, unknown>, "model config");
    const c = this.config, d = c.dModel, g = gridSide(c);
    const p = (this.store = new ParamStore(new Rng(seed)));
    // Creation order fixes which random numbers each tensor gets: keep it stable.
    this.tokEmb = p.normal("tok.embedding", [c.vocabSize, d], 0.02);
    this.encTextPos = p.normal("enc.text_pos", [c.maxTextLen, d], 0.02);
    this.decPos = p.normal("dec.pos", [c.maxTextLen, d], 0.02);
    this.rowPos = p.normal("patch.row_pos", [g, d], 0.02);
    this.colPos = p.normal("patch.col_pos", [g, d], 0.02);
    this.patch = makePatchEmbed(p, c);
    const encOut = 0.02 / Math.sqrt(2 * c.encLayers), decOut = 0.02 / Math.sqrt(3 * c.decLayers);
    for (let i = 0; i < c.encLayers; i++) {
      const n = `enc.${i}`;
      this.enc.push({
        ln1: makeLayerNorm(p, `${n}.ln1`, d), attn: makeSelfAttention(p, `${n}.attn`, d, encOut),
        ln2: makeLayerNorm(p, `${n}.ln2`, d),
        mlp: { fc: makeDense(p, `${n}.mlp.fc`, d, c.ffn), proj: makeDense(p, `${n}.mlp.proj`, c.ffn, d, encOut) },
      });
    }
    this.encLn = makeLayerNorm(p, "enc.ln_f", d);
    for (let i = 0; i < c.decLayers; i++) {
      const n = `dec.${i}`;
      this.dec.push({
        ln1: makeLayerNorm(p, `${n}.ln1`, d), self: makeSelfAttention(p, `${n}.self`, d, decOut),
        ln2: makeLayerNorm(p, `${n}.ln2`, d), cross: makeCrossAttention(p, `${n}.cross`, d, decOut),
        ln3: makeLayerNorm(p, `${n}.ln3`, d),
        mlp: { fc: makeDense(p, `${n}.mlp.fc`, d, c.ffn), proj: makeDense(p, `${n}.mlp.proj`, c.ffn, d, decOut) },
      });
    }
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
      const encProbs: tf.Tensor4D[] = [], selfProbs: tf.Tensor4D[] = [], crossProbs: tf.Tensor4D[] = [];
      const state = this.encodeInner(inputs, drop, keep ? encProbs : undefined);
      const logits = this.decodeInner(state, inputs.decIn, drop, keep ? { self: selfProbs, cross: crossProbs } : undefined, false);
      return { logits, encProbs, selfProbs, crossProbs };
    });
    if (!keep) return { logits: res.logits };
    try {
      const attention = buildCaptures(inputs, res, gridSide(this.config), opts.tokenString ?? ((id) => String(id)));
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
      return { memory: s.memory, keyBias: s.keyBias, batch: s.batch, keys: s.keys, numPatches: s.numPatches, crossKV } as unknown as tf.TensorContainer;
    }) as unknown as EncoderState;
  }

  /**
   * Decoder logits for the last position of each row of decIn [B, Td] → [B, vocabSize]
   * (inference; no dropout). `state` may hold more rows than decIn when `rows` picks them (beams).
   */
  decodeLast(state: EncoderState, decIn: tf.Tensor2D, rows?: tf.Tensor1D): tf.Tensor2D {
    this.checkAlive();
    const drop = new DropoutSeeds(0, false, 0);
    return tf.tidy(() => {
      const s = rows ? selectRows(state, rows) : state;
      return tf.reshape(this.decodeInner(s, decIn, drop, undefined, true), [decIn.shape[0], this.config.vocabSize]) as tf.Tensor2D;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.store.vars.values()) v.dispose();
    this.disposed = true;
  }

  private checkAlive(): void { if (this.disposed) throw new Error("SimVLM: this model has been disposed"); }

  private encodeInner(inputs: Pick<ModelInputs, "images" | "hasImage" | "encIds">, drop: DropoutSeeds, probs?: tf.Tensor4D[]): EncoderState {
    const c = this.config, d = c.dModel, g = gridSide(c);
    const { images, encIds } = inputs;
    if (encIds.rank !== 2) throw new Error(`encIds must be [B, Te], got [${encIds.shape.join(", ")}]`);
    const [B, Te] = encIds.shape;
    if (Te > c.maxTextLen) throw new Error(`encIds has ${Te} positions; config.maxTextLen is ${c.maxTextLen}`);
    if (images && images.shape[0] !== B) throw new Error(`images has batch ${images.shape[0]} but encIds has batch ${B}`);
    if (!images && Te === 0) throw new Error("the encoder has no input: images is null and encIds is empty");
    checkIds(encIds, c.vocabSize, "encIds");
    const parts: tf.Tensor3D[] = [], valid: tf.Tensor2D[] = [];
    const P = images ? g * g : 0;
    if (images) {
      let has = inputs.hasImage ?? tf.ones([B]);
      if (has.shape.length !== 1 || has.shape[0] !== B) throw new Error(`hasImage must be [${B}], got [${has.shape.join(", ")}]`);
      has = tf.cast(has, "float32") as tf.Tensor1D;
      const feats = tf.reshape(embedPatches(images, this.patch, c), [B, P, d]);
      // Zero a text-only example's patch features so nothing of its (placeholder) image leaks in.
      const pos = tf.reshape(tf.add(tf.reshape(this.rowPos, [g, 1, d]), tf.reshape(this.colPos, [1, g, d])), [1, P, d]);
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
    let x = tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 1), [B * Tk, d]) as tf.Tensor2D;
    x = drop.apply(x);
    for (const L of this.enc) {
      const h = layerNorm(x, L.ln1, c.layerNormEps);
      const [q, k, v] = tf.split(dense(h, L.attn.qkv), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const a = attend(q, k, v, B, Tk, Tk, c.heads, keyBias, probs !== undefined);
      if (probs) probs.push(a.probs!);
      x = tf.add(x, drop.apply(dense(a.out, L.attn.o)));
      x = tf.add(x, drop.apply(this.mlp(layerNorm(x, L.ln2, c.layerNormEps), L.mlp)));
    }
    return { memory: layerNorm(x, this.encLn, c.layerNormEps), keyBias, batch: B, keys: Tk, numPatches: P };
  }

  private decodeInner(s: EncoderState, decIn: tf.Tensor2D, drop: DropoutSeeds,
    probs: { self: tf.Tensor4D[]; cross: tf.Tensor4D[] } | undefined, lastOnly: boolean): tf.Tensor3D {
    const c = this.config, d = c.dModel;
    if (decIn.rank !== 2) throw new Error(`decIn must be [B, Td], got [${decIn.shape.join(", ")}]`);
    const [B, Td] = decIn.shape;
    if (B !== s.batch) throw new Error(`decIn has batch ${B} but the encoder input has batch ${s.batch}`);
    if (Td < 1 || Td > c.maxTextLen) throw new Error(`decIn has ${Td} positions; it must have 1..${c.maxTextLen} (config.maxTextLen)`);
    checkIds(decIn, c.vocabSize, "decIn");
    const padBias = tf.reshape(tf.mul(tf.cast(tf.equal(decIn, 0), "float32"), NEG), [B, 1, 1, Td]);
    const causal = causalBias(Td);
    const selfBias = tf.add(padBias, causal);
    let x = drop.apply(tf.reshape(this.embedText(decIn, this.decPos), [B * Td, d]) as tf.Tensor2D);
    for (const [i, L] of this.dec.entries()) {
      const h = layerNorm(x, L.ln1, c.layerNormEps);
      const [q, k, v] = tf.split(dense(h, L.self.qkv), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const a = attend(q, k, v, B, Td, Td, c.heads, selfBias, probs !== undefined);
      x = tf.add(x, drop.apply(dense(a.out, L.self.o)));
      const qc = dense(layerNorm(x, L.ln2, c.layerNormEps), L.cross.q);
      const [kc, vc] = tf.split(s.crossKV?.[i] ?? dense(s.memory, L.cross.kv), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const ac = attend(qc, kc, vc, B, Td, s.keys, c.heads, s.keyBias, probs !== undefined);
      if (probs) { probs.self.push(a.probs!); probs.cross.push(ac.probs!); }
      x = tf.add(x, drop.apply(dense(ac.out, L.cross.o)));
      x = tf.add(x, drop.apply(this.mlp(layerNorm(x, L.ln3, c.layerNormEps), L.mlp)));
    }
    let h = layerNorm(x, this.decLn, c.layerNormEps);
    let T = Td;
    if (lastOnly) {
      h = tf.reshape(tf.slice(tf.reshape(h, [B, Td, d]), [0, Td - 1, 0], [B, 1, d]), [B, d]);
      T = 1;
    }
    // Output projection tied to the token embedding; an explicit transpose keeps the matmul on the fast 2-D path.
    const logits = tf.matMul(h, tf.transpose(this.tokEmb) as tf.Tensor2D);
    return tf.reshape(logits, [B, T, c.vocabSize]) as tf.Tensor3D;
  }

  /** ids [B, T] → token embeddings + positions, [B, T, d]. */
  private embedText(ids: tf.Tensor2D, posTable: tf.Variable): tf.Tensor3D {
    const [B, T] = ids.shape, d = this.config.dModel;
    const emb = tf.reshape(tf.gather(this.tokEmb, tf.reshape(tf.cast(ids, "int32"), [B * T])), [B, T, d]);
    return tf.add(emb, tf.slice(posTable, [0, 0], [T, d])) as tf.Tensor3D;
  }

  private mlp(h: tf.Tensor2D, m: MlpP): tf.Tensor2D {
    return dense(gelu(dense(h, m.fc)), m.proj);
  }
}

/** [1, 1, T, T]: 0 on and below the diagonal, −1e9 above (a query never sees later positions). */
function causalBias(T: number): tf.Tensor4D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = NEG;
  return tf.tensor4d(m, [1, 1, T, T]);
}

/** Dispose what `encode` returned. */
export function disposeEncoderState(s: EncoderState): void { tf.dispose([s.memory, s.keyBias, ...(s.crossKV ?? [])]); }

/** Repeat/select rows of an encoder state (beam search: row b*K+j reads example b). */
function selectRows(s: EncoderState, rows: tf.Tensor1D): EncoderState {
  const n = rows.shape[0];
  const pick = (t: tf.Tensor2D) => {
    const w = t.shape[1];
    return tf.reshape(tf.gather(tf.reshape(t, [s.batch, s.keys, w]), rows), [n * s.keys, w]) as tf.Tensor2D;
  };
  const bias = tf.gather(s.keyBias, rows) as tf.Tensor4D;
  return { memory: pick(s.memory), keyBias: bias, batch: n, keys: s.keys, numPatches: s.numPatches, crossKV: s.crossKV?.map(pick) };
}

/** Ids outside [0, vocabSize) would silently read garbage rows; reject them with the input's name. */
function checkIds(ids: tf.Tensor2D, vocab: number, name: string): void {
  if (ids.size === 0) return;
  const v = ids.dataSync();
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!(x >= 0 && x < vocab && Number.isInteger(x))) {
      throw new Error(`${name} holds token id ${x} at flat index ${i}; ids must be integers in [0, ${vocab}) (config.vocabSize)`);
    }
  }
}
