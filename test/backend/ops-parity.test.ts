// Forward AND gradient parity, wasm vs cpu, for every op the SimVLM model uses (tiny shapes).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { assertParity, randInts, runOn, seeded, setupBackends, tf } from "./helpers.ts";

before(setupBackends);

/** Outputs of f and the gradients of sum(f · fixed weights) with respect to every input. */
function withGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: () => tf.Tensor[],
  seed = 999,
): () => { [k: string]: tf.Tensor } {
  return () => {
    const xs = inputs();
    const y = f(...xs);
    // A fixed random cotangent, so the gradient is not just a sum of ones.
    const w = seeded(y.shape, seed);
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
    const out: { [k: string]: tf.Tensor } = { y };
    grads.forEach((g, i) => {
      out[`d${i}`] = g;
    });
    return out;
  };
}

test("embedding lookup (gather) and its gradient (UnsortedSegmentSum)", async () => {
  const ids = randInts(2 * 6, 1, 0, 9);
  await assertParity(
    "gather",
    withGrads(
      (table) => tf.gather(table!, tf.tensor2d(ids, [2, 6], "int32")),
      () => [seeded([10, 8], 2)],
    ),
  );
  // Gather along axis 1 (e.g. picking positions) too.
  await assertParity(
    "gather axis 1",
    withGrads(
      (x) => tf.gather(x!, tf.tensor1d([3, 0, 3], "int32"), 1),
      () => [seeded([2, 5, 4], 3)],
    ),
  );
});

test("matmul: 2-D and batched 3-D/4-D, all transposeA/transposeB combinations", async () => {
  for (const tA of [false, true])
    for (const tB of [false, true]) {
      const t = (shape: number[], tr: boolean) =>
        tr ? [...shape.slice(0, -2), shape[shape.length - 1]!, shape[shape.length - 2]!] : shape;
      for (const [batch, label] of [
        [[], "2-D"],
        [[3], "3-D"],
        [[2, 3], "4-D"],
      ] as [number[], string][]) {
        const a = t([...batch, 4, 5], tA),
          b = t([...batch, 5, 6], tB);
        await assertParity(
          `matmul ${label} tA=${tA} tB=${tB}`,
          withGrads(
            (x, y) => tf.matMul(x!, y!, tA, tB),
            () => [seeded(a, 10), seeded(b, 11)],
          ),
        );
      }
    }
});

test("matmul of a 3-D activation with a 2-D weight: forward and gradient (broadcast batch)", async () => {
  // tfjs's own BatchMatMul gradient fails here; lib/backend/gradients.ts replaces it.
  await assertParity(
    "3-D x 2-D",
    withGrads(
      (x, w) => tf.matMul(x!, w!),
      () => [seeded([2, 3, 4], 12), seeded([4, 5], 13)],
    ),
  );
  await assertParity(
    "3-D x 1-batch 3-D",
    withGrads(
      (x, w) => tf.matMul(x!, w!, false, true),
      () => [seeded([2, 3, 4], 14), seeded([1, 5, 4], 15)],
    ),
  );
  // And the fast form the model should prefer on wasm: fold to 2-D.
  await assertParity(
    "folded to 2-D",
    withGrads(
      (x, w) => tf.reshape(tf.matMul(tf.reshape(x!, [6, 4]), w!), [2, 3, 5]),
      () => [seeded([2, 3, 4], 12), seeded([4, 5], 13)],
    ),
  );
});

test("softmax (with an additive attention mask) and log-softmax", async () => {
  const mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([4, 4]), -1, 0)), -1e9));
  const maskData = mask.dataSync().slice();
  mask.dispose();
  await assertParity(
    "softmax",
    withGrads(
      (x) => tf.softmax(tf.add(x!, tf.tensor2d(maskData, [4, 4]))),
      () => [seeded([2, 3, 4, 4], 20, 3)],
    ),
  );
  await assertParity(
    "logSoftmax",
    withGrads(
      (x) => tf.logSoftmax(x!),
      () => [seeded([3, 7], 21, 3)],
    ),
  );
});

function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

test("layer norm composed from moments/rsqrt, gradients for x, gamma and beta", async () => {
  await assertParity(
    "layerNorm",
    withGrads(
      (x, g, b) => layerNorm(x!, g!, b!),
      () => [seeded([2, 3, 8], 30, 2), tf.add(1, seeded([8], 31, 0.2)), seeded([8], 32, 0.2)],
    ),
  );
});

test("GELU: tanh approximation and exact (erf) form", async () => {
  const geluTanh = (x: tf.Tensor) =>
    tf.mul(
      tf.mul(0.5, x),
      tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
    );
  const geluErf = (x: tf.Tensor) =>
    tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
  await assertParity(
    "gelu tanh",
    withGrads(
      (x) => geluTanh(x!),
      () => [seeded([4, 16], 40, 4)],
    ),
  );
  await assertParity(
    "gelu erf",
    withGrads(
      (x) => geluErf(x!),
      () => [seeded([4, 16], 41, 4)],
    ),
  );
});

test("conv2d forward and gradients (input, filter, bias): strides 1/2, same/valid, patchify", async () => {
  const cases: [string, number[], number[], number, "same" | "valid"][] = [
    ["3x3 s1 same", [2, 6, 6, 3], [3, 3, 3, 4], 1, "same"],
    ["3x3 s2 same", [2, 7, 7, 3], [3, 3, 3, 4], 2, "same"],
    ["3x3 s2 valid", [1, 7, 8, 2], [3, 3, 2, 4], 2, "valid"],
    ["1x1", [2, 4, 4, 5], [1, 1, 5, 3], 1, "valid"],
    ["patchify 4x4/4", [2, 8, 8, 3], [4, 4, 3, 6], 4, "valid"],
  ];
  for (const [name, xs, ws, s, pad] of cases) {
    await assertParity(
      `conv2d ${name}`,
      withGrads(
        (x, w, b) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad), b!),
        () => [seeded(xs, 50), seeded(ws, 51, 0.5), seeded([ws[3]!], 52)],
      ),
    );
  }
});

test("dropout with a fixed seed: the same mask and gradient on both backends", async () => {
  const r = await assertParity(
    "dropout",
    withGrads(
      (x) => tf.dropout(x!, 0.3, undefined, 1234),
      () => [tf.add(2, seeded([4, 32], 60))],
    ),
    0,
  );
  // The mask is a real dropout mask: some zeros, the rest scaled by 1/(1-rate).
  const y = r.values[0]!;
  const zeros = Array.from(y).filter((v) => v === 0).length;
  assert.ok(zeros > 10 && zeros < 70, `${zeros} of 128 dropped at rate 0.3`);
});

test("softmax cross-entropy with integer labels and a padding mask", async () => {
  const V = 7,
    B = 2,
    T = 5;
  const labels = randInts(B * T, 70, 0, V - 1);
  const mask = new Float32Array([1, 1, 1, 0, 0, 1, 1, 1, 1, 0]);
  const maskedXent = (logits: tf.Tensor) => {
    const lp = tf.logSoftmax(logits);
    const nll = tf.neg(tf.sum(tf.mul(lp, tf.oneHot(tf.tensor2d(labels, [B, T], "int32"), V)), -1));
    const m = tf.tensor2d(mask, [B, T]);
    return tf.div(tf.sum(tf.mul(nll, m)), tf.sum(m));
  };
  await assertParity(
    "masked xent",
    withGrads(
      (l) => maskedXent(l!),
      () => [seeded([B, T, V], 71, 3)],
    ),
  );
  await assertParity(
    "tf.losses.softmaxCrossEntropy",
    withGrads(
      (l) =>
        tf.losses.softmaxCrossEntropy(
          tf.oneHot(tf.tensor1d(labels, "int32"), V),
          l!,
          tf.tensor1d(mask),
        ),
      () => [seeded([B * T, V], 72, 3)],
    ),
  );
});

/** A plain JS AdamW (decoupled weight decay, bias-corrected), the reference for the tensor version. */
function adamwReference(p: Float64Array, grads: Float64Array[], o: AdamW): Float64Array {
  const m = new Float64Array(p.length),
    v = new Float64Array(p.length);
  p = p.slice();
  grads.forEach((g, step) => {
    const t = step + 1;
    for (let i = 0; i < p.length; i++) {
      m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g[i]!;
      v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g[i]! * g[i]!;
      const mh = m[i]! / (1 - o.beta1 ** t),
        vh = v[i]! / (1 - o.beta2 ** t);
      p[i] = p[i]! - o.lr * (mh / (Math.sqrt(vh) + o.eps) + o.weightDecay * p[i]!);
    }
  });
  return p;
}

interface AdamW {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

test("AdamW update steps (tensor ops) match between backends and a float64 JS reference", async () => {
  const o: AdamW = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const steps = 3,
    n = 24;
  const p0 = seeded([n], 80).dataSync().slice();
  const gs = [0, 1, 2].map((k) =>
    seeded([n], 81 + k)
      .dataSync()
      .slice(),
  );
  const stepFn = () => {
    const p = tf.variable(tf.tensor1d(p0)),
      m = tf.variable(tf.zeros([n])),
      v = tf.variable(tf.zeros([n]));
    for (let s = 0; s < steps; s++) {
      const t = s + 1;
      tf.tidy(() => {
        const g = tf.tensor1d(gs[s]!);
        m.assign(tf.add(tf.mul(o.beta1, m), tf.mul(1 - o.beta1, g)));
        v.assign(tf.add(tf.mul(o.beta2, v), tf.mul(1 - o.beta2, tf.square(g))));
        const upd = tf.div(
          tf.div(m, 1 - o.beta1 ** t),
          tf.add(tf.sqrt(tf.div(v, 1 - o.beta2 ** t)), o.eps),
        );
        p.assign(tf.sub(p, tf.mul(o.lr, tf.add(upd, tf.mul(o.weightDecay, p)))));
      });
    }
    const out = tf.clone(p);
    p.dispose();
    m.dispose();
    v.dispose();
    return out;
  };
  const r = await assertParity("adamw", stepFn);
  const ref = adamwReference(
    Float64Array.from(p0),
    gs.map((g) => Float64Array.from(g)),
    o,
  );
  const got = r.values[0]!;
  for (let i = 0; i < n; i++)
    assert.ok(
      Math.abs(got[i]! - ref[i]!) <= 1e-5 * Math.max(1, Math.abs(ref[i]!)),
      `param ${i}: ${got[i]} vs ${ref[i]}`,
    );
});

test("einsum forward (attention-style contractions)", async () => {
  await assertParity("einsum qk", () =>
    tf.einsum("bhqd,bhkd->bhqk", seeded([2, 2, 3, 4], 90), seeded([2, 2, 5, 4], 91)),
  );
  await assertParity("einsum av", () =>
    tf.einsum("bhqk,bhkd->bqhd", seeded([2, 2, 3, 5], 92), seeded([2, 2, 5, 4], 93)),
  );
});

test("a whole tiny training step (embed, attention, layer norm, GELU, xent) gives the same loss and grads", async () => {
  const ids = randInts(2 * 4, 100, 0, 9),
    labels = randInts(2 * 4, 101, 0, 9);
  const step = () => {
    const emb = seeded([10, 8], 102, 0.5),
      wq = seeded([8, 8], 103, 0.3),
      wk = seeded([8, 8], 104, 0.3),
      wo = seeded([8, 10], 105, 0.3);
    const loss = (e: tf.Tensor, q: tf.Tensor, k: tf.Tensor, o: tf.Tensor) => {
      const x = tf.reshape(tf.gather(e, tf.tensor1d(ids, "int32")), [8, 8]);
      const qs = tf.reshape(tf.matMul(x, q), [2, 4, 8]),
        ks = tf.reshape(tf.matMul(x, k), [2, 4, 8]);
      const att = tf.softmax(tf.div(tf.matMul(qs, ks, false, true), Math.sqrt(8)));
      const h = tf.reshape(tf.matMul(att, tf.reshape(x, [2, 4, 8])), [8, 8]);
      const n = layerNorm(tf.add(h, x), tf.ones([8]), tf.zeros([8]));
      const g = tf.mul(tf.mul(0.5, n), tf.add(1, tf.erf(tf.div(n, Math.SQRT2))));
      return tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(labels, "int32"), 10),
        tf.matMul(g, o),
      );
    };
    const { value, grads } = tf.valueAndGrads(loss)([emb, wq, wk, wo]);
    return [value, ...grads];
  };
  await assertParity("train step", step);
  // Same on a second run on wasm: the computation is deterministic.
  const a = await runOn("wasm", step),
    b = await runOn("wasm", step);
  assert.deepEqual(
    a.values.map((v) => Array.from(v)),
    b.values.map((v) => Array.from(v)),
  );
});
