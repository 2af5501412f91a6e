/**
 * The Transformer blocks, each written once: training (`SimVLM.apply`), teacher-forced decoding and
 * cached incremental decoding all run these two functions (nanoGPT's `Block.forward`; nanoVLM's
 * block with a KV cache). Pre-LayerNorm: every sub-layer reads LN(x) and adds its dropped-out output
 * back to the residual stream x. Activations are 2-D, [B*T, dModel] (see layers.ts).
 */
import { tf } from "../backend/index.ts";
import type { ModelConfig } from "./configs.ts";
import {
  ParamStore,
  DropoutSeeds,
  makeDense,
  makeLayerNorm,
  makeSelfAttention,
  makeCrossAttention,
  dense,
  layerNorm,
  gelu,
  attend,
} from "./layers.ts";
import type { Dense, LayerNormP, AttentionP } from "./layers.ts";

interface MlpP {
  fc: Dense;
  proj: Dense;
}
export interface EncoderBlockP {
  ln1: LayerNormP;
  attn: { qkv: Dense; o: Dense };
  ln2: LayerNormP;
  mlp: MlpP;
}
export interface DecoderBlockP {
  ln1: LayerNormP;
  self: { qkv: Dense; o: Dense };
  ln2: LayerNormP;
  cross: AttentionP;
  ln3: LayerNormP;
  mlp: MlpP;
}

/** What every block call shares. `keepProbs` keeps the attention weights (for capture). */
export interface BlockContext {
  batch: number;
  heads: number;
  eps: number;
  drop: DropoutSeeds;
  keepProbs?: boolean;
}

/** One decoder layer's self-attention keys and values, [B, length, dModel] each (the decoding cache). */
export interface SelfKV {
  keys: tf.Tensor3D;
  values: tf.Tensor3D;
}

/** What a decoder block attends to across: the encoder output and its key mask. */
export interface CrossInput {
  /** [B*Tk, dModel] after the encoder's final layer norm. */
  memory: tf.Tensor2D;
  /** [B, 1, 1, Tk]: 0 for real keys, −1e9 for padding and absent patches. */
  bias: tf.Tensor4D;
  /** This layer's projected memory keys|values [B*Tk, 2*dModel], when computed once ahead (decoding). */
  kv?: tf.Tensor2D;
}

// Creation order fixes which random numbers each weight gets (SimVLM's seed): keep it stable.
export function makeEncoderBlock(
  p: ParamStore,
  name: string,
  c: ModelConfig,
  outStd: number,
): EncoderBlockP {
  const d = c.dModel;
  return {
    ln1: makeLayerNorm(p, `${name}.ln1`, d),
    attn: makeSelfAttention(p, `${name}.attn`, d, outStd),
    ln2: makeLayerNorm(p, `${name}.ln2`, d),
    mlp: makeMlp(p, `${name}.mlp`, c, outStd),
  };
}

export function makeDecoderBlock(
  p: ParamStore,
  name: string,
  c: ModelConfig,
  outStd: number,
): DecoderBlockP {
  const d = c.dModel;
  return {
    ln1: makeLayerNorm(p, `${name}.ln1`, d),
    self: makeSelfAttention(p, `${name}.self`, d, outStd),
    ln2: makeLayerNorm(p, `${name}.ln2`, d),
    cross: makeCrossAttention(p, `${name}.cross`, d, outStd),
    ln3: makeLayerNorm(p, `${name}.ln3`, d),
    mlp: makeMlp(p, `${name}.mlp`, c, outStd),
  };
}

function makeMlp(p: ParamStore, name: string, c: ModelConfig, outStd: number): MlpP {
  return {
    fc: makeDense(p, `${name}.fc`, c.dModel, c.ffn),
    proj: makeDense(p, `${name}.proj`, c.ffn, c.dModel, outStd),
  };
}

function mlp(h: tf.Tensor2D, m: MlpP): tf.Tensor2D {
  return dense(gelu(dense(h, m.fc)), m.proj);
}

/**
 * Encoder block: x [B*T, d] → [B*T, d]. Bidirectional self-attention under `bias` ([B, 1, 1, T]:
 * padding and absent patches masked as keys), then the MLP.
 */
export function encoderBlock(
  x: tf.Tensor2D,
  L: EncoderBlockP,
  bias: tf.Tensor,
  ctx: BlockContext,
): { x: tf.Tensor2D; probs?: tf.Tensor4D } {
  const { batch, heads, eps, drop, keepProbs } = ctx;
  const [q, k, v] = tf.split(dense(layerNorm(x, L.ln1, eps), L.attn.qkv), 3, 1) as [
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor2D,
  ];
  const a = attend(q, k, v, { batch, heads, bias, keepProbs });
  x = tf.add(x, drop.apply(dense(a.out, L.attn.o)));
  x = tf.add(x, drop.apply(mlp(layerNorm(x, L.ln2, eps), L.mlp)));
  return { x, probs: a.probs };
}

/**
 * Decoder block: x [B*T, d] → [B*T, d]. Causal self-attention under `selfBias`, cross-attention to
 * the encoder memory, then the MLP.
 *
 * `past` switches on incremental decoding: it holds this layer's keys and values of the positions
 * already decoded (null before the first), the T new positions attend to those and to themselves,
 * and `present` returns the extended cache. Without `past` (training, teacher forcing) the T
 * positions attend among themselves and no cache is built.
 */
export function decoderBlock(
  x: tf.Tensor2D,
  L: DecoderBlockP,
  o: { selfBias: tf.Tensor; cross: CrossInput; past?: SelfKV | null },
  ctx: BlockContext,
): { x: tf.Tensor2D; present?: SelfKV; selfProbs?: tf.Tensor4D; crossProbs?: tf.Tensor4D } {
  const { batch, heads, eps, drop, keepProbs } = ctx;
  const [q, k, v] = tf.split(dense(layerNorm(x, L.ln1, eps), L.self.qkv), 3, 1) as [
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor2D,
  ];
  let keys = k,
    values = v,
    present: SelfKV | undefined;
  if (o.past !== undefined) {
    const d = k.shape[1],
      T = k.shape[0] / batch;
    const extend = (past: tf.Tensor3D | undefined, now: tf.Tensor2D) => {
      const t = tf.reshape(now, [batch, T, d]) as tf.Tensor3D;
      return past ? (tf.concat([past, t], 1) as tf.Tensor3D) : t;
    };
    present = { keys: extend(o.past?.keys, k), values: extend(o.past?.values, v) };
    const length = present.keys.shape[1];
    keys = tf.reshape(present.keys, [batch * length, d]);
    values = tf.reshape(present.values, [batch * length, d]);
  }
  const a = attend(q, keys, values, { batch, heads, bias: o.selfBias, keepProbs });
  x = tf.add(x, drop.apply(dense(a.out, L.self.o)));
  const qc = dense(layerNorm(x, L.ln2, eps), L.cross.q);
  const [kc, vc] = tf.split(o.cross.kv ?? dense(o.cross.memory, L.cross.kv), 2, 1) as [
    tf.Tensor2D,
    tf.Tensor2D,
  ];
  const ac = attend(qc, kc, vc, { batch, heads, bias: o.cross.bias, keepProbs });
  x = tf.add(x, drop.apply(dense(ac.out, L.cross.o)));
  x = tf.add(x, drop.apply(mlp(layerNorm(x, L.ln3, eps), L.mlp)));
  return { x, present, selfProbs: a.probs, crossProbs: ac.probs };
}
