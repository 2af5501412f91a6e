import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import { SimVLM, MODEL_CONFIGS, imagesToTensor, type ModelConfig } from "../../lib/model/index.ts";
import { trainTokenizer, SPECIAL_IDS, type SimTokenizer } from "../../lib/tokenizer/index.ts";
import { generate } from "../../lib/decode/index.ts";
import type { RgbImage } from "../../lib/data/types.ts";

const CAPTIONS = [
  "a picture of a red square",
  "a picture of two blue circles",
  "a picture of a green star",
];

function solid(r: number, g: number, b: number, size = 32): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    data[i * 3] = r;
    data[i * 3 + 1] = g;
    data[i * 3 + 2] = b;
  }
  return { width: size, height: size, data };
}
const IMAGES = [solid(220, 30, 30), solid(30, 30, 220), solid(30, 200, 40)];

let tok: SimTokenizer;
let cfg: ModelConfig;

before(async () => {
  await initBackend();
  tok = await trainTokenizer(
    [...CAPTIONS, "what color is the square? red", "how many circles? two"],
    { vocabSize: 120 },
  );
  cfg = {
    ...MODEL_CONFIGS.tiny,
    convChannels: [...MODEL_CONFIGS.tiny.convChannels],
    vocabSize: 120,
    dropout: 0,
  };
});

/** Memorise image → caption with a few Adam steps (the real training loop lives in lib/train). */
function memorise(model: SimVLM, steps: number): number {
  const seqs = CAPTIONS.map((c) => [...tok.encode(c), SPECIAL_IDS.EOS]);
  const L = Math.max(...seqs.map((s) => s.length));
  const pad = (s: number[]) => [...s, ...new Array(L - s.length).fill(0)];
  const decIn = tf.tensor2d(
    seqs.map((s) => pad([SPECIAL_IDS.BOS, ...s.slice(0, -1)])),
    [3, L],
    "int32",
  );
  const labels = tf.tensor1d(
    seqs.flatMap((s) => pad(s)),
    "int32",
  );
  const weights = tf.tensor1d(seqs.flatMap((s) => pad(s).map((x) => (x ? 1 : 0))));
  const images = imagesToTensor(IMAGES, cfg);
  const encIds = tf.zeros([3, 0], "int32") as tf.Tensor2D;
  const opt = tf.train.adam(3e-3);
  const vars = [...model.weights().values()];
  let last = Infinity;
  for (let i = 0; i < steps; i++) {
    const loss = opt.minimize(
      () => {
        const { logits } = model.apply({ images, encIds, decIn }, { training: false });
        const lp = tf.logSoftmax(tf.reshape(logits, [-1, cfg.vocabSize]));
        const picked = tf.sum(tf.mul(lp, tf.oneHot(labels, cfg.vocabSize)), 1);
        return tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), tf.sum(weights)) as tf.Scalar;
      },
      true,
      vars,
    )!;
    last = loss.dataSync()[0]!;
    loss.dispose();
  }
  opt.dispose();
  tf.dispose([decIn, labels, weights, images, encIds]);
  return last;
}

test("greedy equals beam(1), batched equals one at a time, no tensor leaks", async () => {
  const model = new SimVLM(cfg, 3);
  const before = tf.memory().numTensors;
  const g = await generate(model, tok, { images: IMAGES, maxLen: 8 });
  const b1 = await generate(model, tok, { images: IMAGES, maxLen: 8, beam: 1 });
  assert.deepEqual(g.ids, b1.ids);
  for (let i = 0; i < 3; i++) {
    const one = await generate(model, tok, { images: [IMAGES[i]!], maxLen: 8 });
    assert.deepEqual(one.ids[0], g.ids[0 + i]);
  }
  const b3 = await generate(model, tok, {
    images: IMAGES,
    maxLen: 8,
    beam: 3,
    prefixTexts: ["a", "b", "c"],
    captureAttention: true,
  });
  assert.equal(b3.ids.length, 3);
  assert.equal(b3.attention!.length, 3);
  assert.equal(tf.memory().numTensors, before);
  for (const ids of [...g.ids, ...b3.ids]) {
    assert.ok(
      ids.every((x) => x > SPECIAL_IDS.UNK && x < tok.vocabSize),
      "no specials generated",
    );
    assert.ok(ids.length >= 1, "never an empty text (minLen 1 by default)");
  }
  const long = await generate(model, tok, { images: IMAGES, maxLen: 8, minLen: 5, beam: 2 });
  assert.ok(long.ids.every((x) => x.length >= 5));
  model.dispose();
});

test("a model that memorised three captions decodes them back (greedy, beam, prompt, attention)", async () => {
  const model = new SimVLM(cfg, 4);
  const loss = memorise(model, 120);
  assert.ok(loss < 0.05, `memorisation loss ${loss}`);
  const g = await generate(model, tok, { images: IMAGES });
  assert.deepEqual(g.texts, CAPTIONS);
  const b = await generate(model, tok, { images: IMAGES, beam: 3 });
  assert.deepEqual(b.texts, CAPTIONS);
  for (let i = 0; i < 3; i++) assert.ok(b.logProbs[i]! >= g.logProbs[i]! - 1e-6);
  // The prompt is fed to the decoder and stripped from the result.
  const p = await generate(model, tok, {
    images: IMAGES,
    prompt: "A picture of",
    captureAttention: true,
  });
  assert.deepEqual(
    p.texts,
    CAPTIONS.map((c) => c.replace("a picture of ", "")),
  );
  const att = p.attention![0]!;
  assert.deepEqual(att.decoderTokens.slice(0, 1 + tok.encode("a picture of").length), [
    "<bos>",
    ...tok.encode("a picture of").map((id) => tok.tokenString(id)),
  ]);
  assert.equal(att.decoderTokens.length, 1 + tok.encode("a picture of").length + p.ids[0]!.length);
  assert.equal(att.numPatches, 16);
  assert.equal(att.decoderCross[0]!.keys, 16);
  model.dispose();
});

test("bad requests name the problem", async () => {
  const model = new SimVLM(cfg, 5);
  await assert.rejects(generate(model, tok, {}), /images or prefixTexts/);
  await assert.rejects(
    generate(model, tok, { images: IMAGES, prefixTexts: ["x"] }),
    /3 images but 1 prefixTexts/,
  );
  await assert.rejects(generate(model, tok, { images: IMAGES, beam: 0 }), /beam/);
  const small = new SimVLM({ ...cfg, vocabSize: 50 }, 5);
  await assert.rejects(generate(small, tok, { images: IMAGES }), /vocabSize is 50/);
  // With decoder positions that continue after the prefix, prefix and output share the positions:
  // a prefix as long as all of them is cut so that the requested output still fits.
  const long = Array.from({ length: cfg.maxTextLen }, () => "a").join(" ");
  const cut = await generate(model, tok, {
    images: IMAGES,
    prefixTexts: IMAGES.map(() => long),
    maxLen: 3,
    minLen: 3,
  });
  assert.ok(
    cut.ids.every((x) => x.length === 3),
    JSON.stringify(cut.ids),
  );
  const ctrl = new AbortController();
  ctrl.abort();
  await assert.rejects(
    generate(model, tok, { images: IMAGES, signal: ctrl.signal }),
    /interrupted/,
  );
  model.dispose();
  small.dispose();
});
