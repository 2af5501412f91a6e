/**
 * A self-contained reference PrefixLM encoder-decoder step for benchmarking the tensor backend:
 * the issue-9 shapes (d_model 256, 4 heads, 4+4 layers, FFN 1024, 64 patches of a 128x128 image,
 * 32 text tokens, vocab 4000, batch 16, AdamW + global-norm clipping). bench/torch-ref.py is the
 * same model in PyTorch with the same FLOP count, so the two timings compare like for like.
 * The product's model (lib/model) replaces this once it lands; this stays as a fixed yardstick.
 */
import { tf } from "../lib/backend/index.ts";
import { Rng } from "../lib/util/rng.ts";

export interface RefConfig {
  dModel: number; heads: number; encLayers: number; decLayers: number; ffn: number;
  imageSize: number; patch: number; textLen: number; vocab: number; batch: number;
}

export const REFERENCE_STEP: RefConfig = {
  dModel: 256, heads: 4, encLayers: 4, decLayers: 4, ffn: 1024,
  imageSize: 128, patch: 16, textLen: 32, vocab: 4000, batch: 16,
};

/** Analytic FLOPs of one training step (forward matmuls x3 for forward+backward; elementwise ignored). */
export function refStepFlops(c: RefConfig): number {
  const P = (c.imageSize / c.patch) ** 2, T = c.textLen, B = c.batch, d = c.dModel;
  const patchDim = c.patch * c.patch * 3;
  const mm = (m: number, k: number, n: number) => 2 * m * k * n;
  let f = mm(B * P, patchDim, d);
  const enc = 4 * mm(B * P, d, d) + mm(B * P, d, c.ffn) + mm(B * P, c.ffn, d) + 2 * B * mm(P, d, P);
  const dec = 4 * mm(B * T, d, d) + 2 * B * mm(T, d, T) // causal self-attention
    + 2 * mm(B * T, d, d) + 2 * mm(B * P, d, d) + 2 * B * mm(T, d, P) // cross-attention (q,o on text; k,v on image)
    + mm(B * T, d, c.ffn) + mm(B * T, c.ffn, d);
  f += c.encLayers * enc + c.decLayers * dec + mm(B * T, d, c.vocab);
  return 3 * f;
}

type Vars = Map<string, tf.Variable>;

export class RefModel {
  readonly vars: Vars = new Map();
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();
  private t = 0;
  /** tfjs-backend-wasm lacks UnsortedSegmentSum (gather's gradient) until lib/backend/wasm-kernels lands. */
  private readonly gatherGrad: boolean;

  constructor(readonly c: RefConfig, seed = 0) {
    const rng = new Rng(seed);
    const add = (name: string, shape: number[], std: number | "ones" | "zeros") => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (std === "ones") data.fill(1); else if (std !== "zeros") for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      this.vars.set(name, tf.tidy(() => tf.variable(tf.tensor(data, shape), true, name)));
    };
    const d = c.dModel, P = (c.imageSize / c.patch) ** 2;
    const s = 0.02;
    add("patch.w", [c.patch * c.patch * 3, d], s); add("patch.b", [d], "zeros");
    add("pos.img", [P, d], s); add("pos.txt", [c.textLen, d], s); add("tok", [c.vocab, d], s);
    const block = (p: string, cross: boolean) => {
      for (const ln of cross ? ["ln1", "ln2", "ln3"] : ["ln1", "ln2"]) { add(`${p}.${ln}.g`, [d], "ones"); add(`${p}.${ln}.b`, [d], "zeros"); }
      for (const a of cross ? ["self", "cross"] : ["self"]) for (const w of ["q", "k", "v", "o"]) {
        add(`${p}.${a}.${w}.w`, [d, d], s); add(`${p}.${a}.${w}.b`, [d], "zeros");
      }
      add(`${p}.ff1.w`, [d, c.ffn], s); add(`${p}.ff1.b`, [c.ffn], "zeros");
      add(`${p}.ff2.w`, [c.ffn, d], s); add(`${p}.ff2.b`, [d], "zeros");
    };
    for (let i = 0; i < c.encLayers; i++) block(`enc${i}`, false);
    for (let i = 0; i < c.decLayers; i++) block(`dec${i}`, true);
    add("lnf.g", [d], "ones"); add("lnf.b", [d], "zeros");
    add("out.w", [d, c.vocab], s); add("out.b", [c.vocab], "zeros");
    for (const [k, x] of this.vars) {
      this.m.set(k, tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
      this.v.set(k, tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    }
    this.gatherGrad = tf.getKernel("UnsortedSegmentSum", tf.getBackend()) !== undefined;
  }

  private p(name: string): tf.Variable { return this.vars.get(name)!; }

  /** x [N, din] (2-D so matmul gradients work on every backend) times w plus b. */
  private dense(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.p(`${name}.w`)), this.p(`${name}.b`));
  }

  private layerNorm(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), this.p(`${name}.g`)), this.p(`${name}.b`));
  }

  /** Multi-head attention; q rows are B*Tq, kv rows are B*Tk; mask [Tq, Tk] of 0 / -1e9 or null. */
  private attention(q2: tf.Tensor2D, kv2: tf.Tensor2D, Tq: number, Tk: number, name: string, mask: tf.Tensor | null): tf.Tensor2D {
    const { batch: B, heads: H, dModel: d } = this.c, dh = d / H;
    const split = (x: tf.Tensor2D, T: number) => tf.transpose(tf.reshape(x, [B, T, H, dh]), [0, 2, 1, 3]);
    const q = split(this.dense(q2, `${name}.q`), Tq);
    const k = split(this.dense(kv2, `${name}.k`), Tk);
    const v = split(this.dense(kv2, `${name}.v`), Tk);
    let s = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
    if (mask) s = tf.add(s, mask);
    const a = tf.matMul(tf.softmax(s), v);
    const merged = tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [B * Tq, d]) as tf.Tensor2D;
    return this.dense(merged, `${name}.o`);
  }

  private ffn(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const h = this.dense(x, `${name}.ff1`);
    // tanh-approximate GELU, written out so every backend runs the same ops.
    const h3 = tf.mul(tf.mul(h, h), h);
    const g = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(h, tf.mul(h3, 0.044715)), Math.sqrt(2 / Math.PI))))) as tf.Tensor2D;
    return this.dense(g, `${name}.ff2`);
  }

  /** Mean token cross-entropy of the decoder given image patches and target ids. */
  loss(images: tf.Tensor4D, inIds: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    const c = this.c, B = c.batch, d = c.dModel, g = c.imageSize / c.patch, P = g * g, T = c.textLen;
    const patches = tf.reshape(tf.transpose(tf.reshape(images, [B, g, c.patch, g, c.patch, 3]), [0, 1, 3, 2, 4, 5]), [B * P, c.patch * c.patch * 3]) as tf.Tensor2D;
    let x = tf.reshape(tf.add(tf.reshape(this.dense(patches, "patch"), [B, P, d]), this.p("pos.img")), [B * P, d]) as tf.Tensor2D;
    for (let i = 0; i < c.encLayers; i++) {
      const p = `enc${i}`;
      const h = this.layerNorm(x, `${p}.ln1`);
      x = tf.add(x, this.attention(h, h, P, P, `${p}.self`, null));
      x = tf.add(x, this.ffn(this.layerNorm(x, `${p}.ln2`), p));
    }
    const ids = tf.reshape(inIds, [B * T]);
    const emb = this.gatherGrad ? tf.gather(this.p("tok"), ids) : tf.matMul(tf.cast(tf.oneHot(ids, c.vocab), "float32"), this.p("tok"));
    let y = tf.reshape(tf.add(tf.reshape(emb, [B, T, d]), this.p("pos.txt")), [B * T, d]) as tf.Tensor2D;
    const causal = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9);
    for (let i = 0; i < c.decLayers; i++) {
      const p = `dec${i}`;
      const h = this.layerNorm(y, `${p}.ln1`);
      y = tf.add(y, this.attention(h, h, T, T, `${p}.self`, causal));
      y = tf.add(y, this.attention(this.layerNorm(y, `${p}.ln2`), x, T, P, `${p}.cross`, null));
      y = tf.add(y, this.ffn(this.layerNorm(y, `${p}.ln3`), p));
    }
    const logits = this.dense(this.layerNorm(y, "lnf"), "out");
    const labels = tf.oneHot(tf.reshape(targets, [B * T]), c.vocab);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }

  /** One AdamW step with global-norm clipping; returns the loss value. */
  async step(images: tf.Tensor4D, inIds: tf.Tensor2D, targets: tf.Tensor2D, lr = 1e-3, clip = 1.0, wd = 0.01): Promise<number> {
    const b1 = 0.9, b2 = 0.999, eps = 1e-8;
    this.t++;
    const t = this.t;
    const lossT = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => this.loss(images, inIds, targets));
      const names = Object.keys(grads);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!)))));
      const scale = tf.div(clip, tf.maximum(norm, clip));
      for (const n of names) {
        const gr = tf.mul(grads[n]!, scale), p = this.p(n), m = this.m.get(n)!, v = this.v.get(n)!;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(gr, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(gr), 1 - b2));
        const upd = tf.div(tf.div(m1, 1 - b1 ** t), tf.add(tf.sqrt(tf.div(v1, 1 - b2 ** t)), eps));
        p.assign(tf.sub(p, tf.mul(tf.add(upd, tf.mul(p, wd)), lr)));
        m.assign(m1); v.assign(v1);
      }
      return value;
    });
    const out = (await lossT.data())[0]!;
    lossT.dispose();
    return out;
  }

  dispose(): void {
    for (const m of [this.vars, this.m, this.v]) for (const x of m.values()) x.dispose();
  }
}

/** A deterministic synthetic batch: random image, random token ids, targets = inputs shifted by one. */
export function refBatch(c: RefConfig, seed = 1): { images: tf.Tensor4D; inIds: tf.Tensor2D; targets: tf.Tensor2D } {
  const rng = new Rng(seed);
  const img = new Float32Array(c.batch * c.imageSize * c.imageSize * 3);
  for (let i = 0; i < img.length; i++) img[i] = rng.next();
  const ids = new Int32Array(c.batch * (c.textLen + 1));
  for (let i = 0; i < ids.length; i++) ids[i] = rng.int(4, c.vocab - 1);
  const inIds = new Int32Array(c.batch * c.textLen), targets = new Int32Array(c.batch * c.textLen);
  for (let b = 0; b < c.batch; b++) for (let t = 0; t < c.textLen; t++) {
    inIds[b * c.textLen + t] = ids[b * (c.textLen + 1) + t]!;
    targets[b * c.textLen + t] = ids[b * (c.textLen + 1) + t + 1]!;
  }
  return {
    images: tf.tensor4d(img, [c.batch, c.imageSize, c.imageSize, 3]),
    inIds: tf.tensor2d(inIds, [c.batch, c.textLen], "int32"),
    targets: tf.tensor2d(targets, [c.batch, c.textLen], "int32"),
  };
}
